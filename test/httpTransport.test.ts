import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, globalAgent } from 'node:https';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { UpstreamError } from '../shared/platform/errors';
import { HttpClient, HttpRequest } from '../shared/platform/http';
import { LogProperties, silentLogger } from '../shared/platform/log';

/** What the HTTP client itself does on the wire, against servers on 127.0.0.1. */

const tls = {
    key: readFileSync(join(__dirname, 'fixtures', 'tls', 'localhost.key')),
    cert: readFileSync(join(__dirname, 'fixtures', 'tls', 'localhost.crt')),
};

const servers: Server[] = [];

async function listen(server: Server, scheme: 'http' | 'https'): Promise<string> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}/resource`;
}

const serve = (handler: (request: IncomingMessage, response: ServerResponse) => void) => listen(createHttpServer(handler), 'http');

afterEach(async () => {
    for (const server of servers.splice(0)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
    }
});

const client = (maxResponseBytes = 1024 * 1024) => new HttpClient({ timeoutMs: 2_000, maxRetries: 0, maxResponseBytes }, silentLogger);

const get = (url: string): HttpRequest => ({ system: 'IdentityIQ', method: 'GET', url, retry: 'idempotent' });

const failureOf = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error as Error);

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
}

describe('the HTTP client', () => {
    it('sends the body with its length in bytes, the method and the caller headers', async () => {
        let seen: { method?: string; length?: string; type?: string; body?: string } = {};
        const url = await serve(async (request, response) => {
            seen = { method: request.method, length: request.headers['content-length'], type: request.headers['content-type'], body: (await bodyOf(request)).toString('utf8') };
            response.end('ok');
        });
        const body = JSON.stringify({ comment: 'Approuvé — ✅ 😀' });
        const answer = await client().send({ system: 'Moveworks', method: 'PUT', url, body, headers: { 'Content-Type': 'application/json' }, retry: 'not-idempotent' });
        expect(answer).toMatchObject({ status: 200, body: 'ok' });
        expect(seen).toEqual({ method: 'PUT', length: String(Buffer.byteLength(body)), type: 'application/json', body });
    });

    it.each([
        ['gzip', gzipSync],
        ['br', brotliCompressSync],
    ])('asks for %s and reads an answer compressed with it', async (coding, compress) => {
        const text = '<List>' + '<WorkItem id="a"/>'.repeat(500) + '</List>';
        let asked: string | undefined;
        const url = await serve((request, response) => {
            asked = request.headers['accept-encoding'];
            response.writeHead(200, { 'Content-Encoding': coding, 'Content-Type': 'application/xml' });
            response.end(compress(Buffer.from(text)));
        });
        const answer = await client().send(get(url));
        expect(answer.body).toBe(text);
        expect(asked?.split(/,\s*/)).toContain(coding);
    });

    it('does not ask for deflate, whose raw and zlib forms servers confuse, and reads the zlib form sent unasked', async () => {
        let asked: string | undefined;
        const url = await serve((request, response) => {
            asked = request.headers['accept-encoding'];
            response.writeHead(200, { 'Content-Encoding': 'deflate' });
            response.end(deflateSync(Buffer.from('<List/>')));
        });
        expect((await client().send(get(url))).body).toBe('<List/>');
        expect(asked).not.toContain('deflate');
    });

    it('reads deflate in its raw form too, as some servers send it', async () => {
        const url = await serve((_request, response) => {
            response.writeHead(200, { 'Content-Encoding': 'deflate' });
            response.end(deflateRawSync(Buffer.from('<List/>')));
        });
        expect((await client().send(get(url))).body).toBe('<List/>');
    });

    it.each([
        [204, 'no content', {}],
        [304, 'not modified', {}],
        [200, 'Content-Length 0', { 'Content-Length': '0' }],
        [200, 'chunked', { 'Transfer-Encoding': 'chunked' }],
    ])('answers %i (%s) with an empty body even when the server labels it gzip', async (status, _label, headers) => {
        const url = await serve((_request, response) => {
            response.writeHead(status, { 'Content-Encoding': 'gzip', ...headers });
            response.end();
        });
        const answer = await client().send(get(url));
        expect(answer).toMatchObject({ status, body: '' });
    });

    it('reads a body that starts with a byte order mark without it, so its JSON parses', async () => {
        const url = await serve((_request, response) => {
            response.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
            response.end('\uFEFF{"access_token":"t"}');
        });
        expect(JSON.parse((await client().send(get(url))).body)).toEqual({ access_token: 't' });
    });

    it('counts a compressed answer by its size once decoded, so a small archive of a large body is refused as too large', async () => {
        const url = await serve((_request, response) => {
            response.writeHead(200, { 'Content-Encoding': 'gzip' });
            response.end(gzipSync(Buffer.alloc(8 * 1024 * 1024, 'x')));
        });
        const error = await failureOf(client(64 * 1024).send(get(url)));
        expect(error).toBeInstanceOf(UpstreamError);
        expect(error).toMatchObject({ tooLarge: true });
    });

    it('refuses an answer that declares a length over maxResponseBytes without waiting for its body', async () => {
        // The body never comes: only the declared length can say the answer is too large.
        const url = await serve((_request, response) => {
            response.writeHead(200, { 'Content-Length': String(64 * 1024 * 1024) });
            response.flushHeaders();
        });
        const error = await failureOf(client(1024).send(get(url)));
        expect(error).toMatchObject({ tooLarge: true });
    });

    it.each([
        ['plain', (text: Buffer) => text, {}],
        ['gzip', gzipSync, { 'Content-Encoding': 'gzip' }],
    ])('fails as a connection reset, not a timeout, when the server closes in the middle of a %s answer', async (_coding, encode, headers) => {
        const url = await serve((_request, response) => {
            const whole = encode(randomBytes(100_000));
            response.writeHead(200, { ...headers, 'Content-Length': String(whole.length) });
            response.write(whole.subarray(0, 1000), () => response.socket?.destroy());
        });
        const error = await failureOf(client().send(get(url)));
        expect(error?.message).toBe('IdentityIQ could not be reached (connection reset)');
    });

    it('answers a redirect as it came instead of following it', async () => {
        let hits = 0;
        const url = await serve((_request, response) => {
            hits++;
            response.writeHead(302, { Location: '/elsewhere' });
            response.end();
        });
        const answer = await client().send(get(url));
        expect(answer.status).toBe(302);
        expect(answer.headers.location).toBe('/elsewhere');
        expect(hits).toBe(1);
    });

    it('keeps the connection open for the next call', async () => {
        let connections = 0;
        const server = createHttpServer((_request, response) => response.end('ok'));
        server.on('connection', () => connections++);
        const url = await listen(server, 'http');
        for (let call = 0; call < 5; call++) await client().send(get(url));
        expect(connections).toBe(1);
    });

    it('logs a failed call by its system, method, path and status, without the host, query string or credentials', async () => {
        const logged: string[] = [];
        const record = (event: string, properties?: LogProperties) => void logged.push(JSON.stringify({ event, ...properties }));
        const url = await serve((_request, response) => {
            response.writeHead(401);
            response.end('{"error":"invalid_token"}');
        });
        const http = new HttpClient({ timeoutMs: 2_000, maxRetries: 0, maxResponseBytes: 1024 }, { info: record, warn: record, error: record });
        await http.send({ ...get(`${url}?filter=email%20eq%20%22carol%40example.com%22`), headers: { Authorization: 'Bearer s3cret-token' } });
        expect(logged).toEqual([expect.stringContaining('"path":"/resource"')]);
        expect(logged[0]).toContain('"status":401');
        expect(logged[0]).not.toMatch(/127\.0\.0\.1|filter|carol|s3cret-token|invalid_token/);
    });

    describe('over TLS', () => {
        const trusted = globalAgent.options.ca;
        afterEach(() => {
            globalAgent.options.ca = trusted;
        });

        it('talks to a server whose certificate the machine trusts', async () => {
            // As NODE_EXTRA_CA_CERTS would make the machine trust it, for this process only.
            globalAgent.options.ca = tls.cert;
            const url = await listen(createHttpsServer(tls, (_request, response) => response.end('over tls')), 'https');
            const answer = await client().send(get(url));
            expect(answer).toMatchObject({ status: 200, body: 'over tls' });
        });

        it('says the certificate was not accepted when an internal CA the machine does not know signed it', async () => {
            const internal = { key: readFileSync(join(__dirname, 'fixtures', 'tls', 'internal-leaf.key')), cert: readFileSync(join(__dirname, 'fixtures', 'tls', 'internal-leaf.crt')) };
            const url = await listen(createHttpsServer(internal, (_request, response) => response.end('never read')), 'https');
            const error = await failureOf(client().send(get(url)));
            expect(error?.message).toBe('IdentityIQ could not be reached (its TLS certificate was not accepted)');
        });

        it('talks to a server signed by an internal CA once the machine trusts that CA', async () => {
            globalAgent.options.ca = readFileSync(join(__dirname, 'fixtures', 'tls', 'internal-ca.crt'));
            const internal = { key: readFileSync(join(__dirname, 'fixtures', 'tls', 'internal-leaf.key')), cert: readFileSync(join(__dirname, 'fixtures', 'tls', 'internal-leaf.crt')) };
            const url = await listen(createHttpsServer(internal, (_request, response) => response.end('over tls')), 'https');
            expect((await client().send(get(url))).body).toBe('over tls');
        });

        it('says the TLS handshake failed when the server does not speak TLS', async () => {
            const plain = await serve((_request, response) => response.end('plain'));
            const error = await failureOf(client().send(get(plain.replace('http://', 'https://'))));
            expect(error?.message).toBe('IdentityIQ could not be reached (TLS handshake failed)');
        });

        it('says the certificate was not accepted when the machine does not trust it', async () => {
            const url = await listen(createHttpsServer(tls, (_request, response) => response.end('never read')), 'https');
            const error = await failureOf(client().send(get(url)));
            expect(error).toBeInstanceOf(UpstreamError);
            expect(error?.message).toBe('IdentityIQ could not be reached (its TLS certificate was not accepted)');
        });
    });
});
