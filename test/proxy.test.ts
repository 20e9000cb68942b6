import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, IncomingMessage, request as forward, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer, globalAgent } from 'node:https';
import { AddressInfo, connect, Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../dev/azurite';
import { UpstreamError } from '../shared/platform/errors';
import { HttpClient, HttpRequest } from '../shared/platform/http';
import { silentLogger } from '../shared/platform/log';

/**
 * On-premises IdentityIQ often sits behind a corporate proxy: the client takes it from HTTP_PROXY,
 * HTTPS_PROXY and NO_PROXY, forwards a plain-http call through it and tunnels an https one with CONNECT.
 */

const tls = {
    key: readFileSync(join(__dirname, 'fixtures', 'tls', 'localhost.key')),
    cert: readFileSync(join(__dirname, 'fixtures', 'tls', 'localhost.crt')),
};

const PROXY_SETTINGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];
const before = Object.fromEntries(PROXY_SETTINGS.map((name) => [name, process.env[name]]));
const servers: Server[] = [];
const tunnels: Socket[] = [];
const trusted = globalAgent.options.ca;

beforeEach(() => PROXY_SETTINGS.forEach((name) => delete process.env[name]));

afterEach(async () => {
    for (const [name, value] of Object.entries(before)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
    }
    globalAgent.options.ca = trusted;
    // A tunnel is no longer the proxy server's connection, so closing the server leaves it open.
    for (const socket of tunnels.splice(0)) socket.destroy();
    for (const server of servers.splice(0)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
    }
});

async function listen(server: Server): Promise<number> {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
}

/** An upstream on 127.0.0.1 that answers with what it was asked and the Authorization it got, and keeps the headers. */
async function upstream(scheme: 'http' | 'https'): Promise<{ url: string; hits: () => number; headers: IncomingMessage['headers'][] }> {
    const headers: IncomingMessage['headers'][] = [];
    const answer = (request: IncomingMessage, response: ServerResponse) => {
        headers.push(request.headers);
        response.end(`${request.method} ${request.url} ${request.headers.authorization ?? ''}`);
    };
    // The certificate names 127.0.0.1, so the tunnel's TLS names an IP address, which Node warns of once.
    const port = await listen(scheme === 'https' ? createHttpsServer(tls, answer) : createHttpServer(answer));
    return { url: `${scheme}://127.0.0.1:${port}/resource?page=2`, hits: () => headers.length, headers };
}

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;

/**
 * A forward proxy on 127.0.0.1 that records the request line and headers of what it passed on; with
 * `credentials` ("user:password") it answers 407 to anyone without them, as a corporate proxy does.
 */
async function proxy(credentials?: string) {
    const seen: { line: string; headers: IncomingMessage['headers'] }[] = [];
    let connections = 0;
    const allowed = (request: IncomingMessage) => {
        seen.push({ line: `${request.method} ${request.url}`, headers: request.headers });
        return credentials === undefined || request.headers['proxy-authorization'] === basic(credentials);
    };
    const server = createHttpServer((request, response) => {
        if (!allowed(request)) return void response.writeHead(407, { 'Proxy-Authenticate': 'Basic' }).end();
        const onward = forward(request.url!, { method: request.method, headers: request.headers }, (answer) => {
            response.writeHead(answer.statusCode!, answer.headers);
            answer.pipe(response);
        });
        request.pipe(onward);
    });
    server.on('connection', () => connections++);
    server.on('connect', (request: IncomingMessage, client: Socket, head: Buffer) => {
        tunnels.push(client);
        if (!allowed(request)) return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n');
        const [host, port] = request.url!.split(':');
        const origin = connect(Number(port), host, () => {
            client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
            origin.write(head);
            origin.pipe(client).pipe(origin);
        });
        tunnels.push(origin);
        origin.on('error', () => client.destroy());
        client.on('error', () => origin.destroy());
    });
    const port = await listen(server);
    return { url: `http://127.0.0.1:${port}`, seen, connections: () => connections };
}

const client = () => new HttpClient({ timeoutMs: 2_000, maxRetries: 0, maxResponseBytes: 1024 * 1024 }, silentLogger);

const get = (url: string): HttpRequest => ({ system: 'IdentityIQ', method: 'GET', url, retry: 'idempotent', headers: { Authorization: 'Bearer s3cret' } });

const failureOf = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error as Error);

describe('behind a proxy', () => {
    it('sends a call to a plain-http upstream through HTTP_PROXY, which passes it on', async () => {
        const target = await upstream('http');
        const through = await proxy();
        process.env.HTTP_PROXY = through.url;

        const answer = await client().send(get(target.url));

        expect(answer).toMatchObject({ status: 200, body: 'GET /resource?page=2 Bearer s3cret' });
        expect(through.seen.map(({ line }) => line)).toEqual([`GET ${target.url}`]);
        expect(target.hits()).toBe(1);
    });

    it('keeps its connection to the proxy open for the next call', async () => {
        const target = await upstream('http');
        const through = await proxy();
        process.env.HTTP_PROXY = through.url;

        for (let call = 0; call < 3; call++) await client().send(get(target.url));

        expect(through.seen).toHaveLength(3);
        expect(through.connections()).toBe(1);
    });

    it('tunnels an https upstream through HTTPS_PROXY with CONNECT, so the proxy sees its host and port and nothing else', async () => {
        globalAgent.options.ca = tls.cert;
        const target = await upstream('https');
        const through = await proxy();
        process.env.HTTPS_PROXY = through.url;

        const answer = await client().send(get(target.url));

        expect(answer).toMatchObject({ status: 200, body: 'GET /resource?page=2 Bearer s3cret' });
        expect(through.seen).toEqual([{ line: `CONNECT ${new URL(target.url).host}`, headers: expect.not.objectContaining({ authorization: expect.anything() }) }]);
    });

    it('still checks the certificate of an https upstream it reaches through the tunnel', async () => {
        const target = await upstream('https');
        const through = await proxy();
        process.env.HTTPS_PROXY = through.url;

        const error = await failureOf(client().send(get(target.url)));

        expect(error?.message).toBe('IdentityIQ could not be reached (its TLS certificate was not accepted)');
        expect(through.seen.map(({ line }) => line)).toEqual([`CONNECT ${new URL(target.url).host}`]);
        expect(target.hits()).toBe(0);
    });

    it("sends the proxy's credentials from HTTPS_PROXY on the CONNECT only, and the proxy's refusal is its status", async () => {
        globalAgent.options.ca = tls.cert;
        const target = await upstream('https');
        const through = await proxy('proxyuser:pr0xy-secret');

        process.env.HTTPS_PROXY = through.url.replace('//', '//proxyuser:wrong@');
        expect((await client().send(get(target.url))).status).toBe(407);
        expect(target.hits()).toBe(0);

        process.env.HTTPS_PROXY = through.url.replace('//', '//proxyuser:pr0xy-secret@');
        const answer = await client().send(get(target.url));
        expect(answer).toMatchObject({ status: 200, body: 'GET /resource?page=2 Bearer s3cret' });
        expect(through.seen.map(({ headers }) => headers['proxy-authorization'])).toEqual([basic('proxyuser:wrong'), basic('proxyuser:pr0xy-secret')]);
        expect(target.headers).toEqual([expect.not.objectContaining({ 'proxy-authorization': expect.anything() })]);
    });

    it('goes straight to a host NO_PROXY names', async () => {
        const target = await upstream('http');
        const through = await proxy();
        process.env.HTTP_PROXY = through.url;
        process.env.NO_PROXY = 'localhost,127.0.0.1';

        expect((await client().send(get(target.url))).status).toBe(200);
        expect(through.seen).toEqual([]);
        expect(target.hits()).toBe(1);
    });

    it('names neither the proxy, its credentials nor the upstream when the proxy cannot be reached', async () => {
        const target = await upstream('http');
        const port = await freePort();
        process.env.HTTP_PROXY = `http://proxyuser:pr0xy-secret@127.0.0.1:${port}`;

        const error = await failureOf(client().send(get(target.url)));

        expect(error).toBeInstanceOf(UpstreamError);
        expect(error?.message).toBe('IdentityIQ could not be reached (connection refused)');
        expect(error?.message).not.toMatch(/127\.0\.0\.1|pr0xy-secret|proxyuser/);
        expect(error?.message).not.toContain(String(port));
        expect(target.hits()).toBe(0);
    });
});
