import { createServer, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { freePort } from '../dev/azurite';
import { UpstreamError } from '../shared/platform/errors';
import { currentDeadline, HttpClient, HttpRequest, withDeadline } from '../shared/platform/http';
import { silentLogger } from '../shared/platform/log';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

// On the old idle-only timeout the dripping specs would hang; fail them well before jest's default.
jest.setTimeout(20_000);

/** Headers at once, then one byte every 100 ms for as long as the client listens. */
function dripForever(response: ServerResponse): void {
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    response.flushHeaders();
    const timer = setInterval(() => response.write('x'), 100);
    response.once('close', () => clearInterval(timer));
}

const unavailable = (retryAfter?: string) => (response: ServerResponse) => {
    response.writeHead(503, { 'Content-Type': 'text/plain', ...(retryAfter ? { 'Retry-After': retryAfter } : {}) });
    response.end('Service Unavailable');
};

const servers: Server[] = [];

/** A server on 127.0.0.1 that answers every request with `answer` and counts them. */
async function serve(answer: (response: ServerResponse) => void): Promise<{ url: string; hits: () => number }> {
    let hits = 0;
    const server = createServer((_request, response) => {
        hits++;
        answer(response);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/resource`, hits: () => hits };
}

afterEach(async () => {
    for (const server of servers.splice(0)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
    }
});

const client = (settings: { timeoutMs: number; maxRetries: number; maxResponseBytes?: number }) =>
    new HttpClient({ maxResponseBytes: 1024 * 1024, ...settings }, silentLogger);

const get = (url: string, extra: Partial<HttpRequest> = {}): HttpRequest => ({ system: 'IdentityIQ', method: 'GET', url, retry: 'idempotent', ...extra });

const post = (url: string): HttpRequest => ({ system: 'IdentityIQ', method: 'POST', url, body: '{}', retry: 'not-idempotent' });

/** The error `call` rejects with, or undefined when it answers. */
const failureOf = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error as Error);

/** How long `task` took to settle, in ms, and how. */
async function timed<T>(task: () => Promise<T>): Promise<{ elapsedMs: number; outcome: PromiseSettledResult<T> }> {
    const started = Date.now();
    const [outcome] = await Promise.allSettled([task()]);
    return { elapsedMs: Date.now() - started, outcome };
}

describe('every outbound call has a total deadline', () => {
    describe('an approve while IdentityIQ drips the live work item read', () => {
        let h: Harness;
        let fn: FunctionHost;
        afterEach(async () => {
            await fn.stop();
            await h.stop();
        });

        it('answers 5xx within a few seconds, and nothing is decided', async () => {
            h = await startHarness({ settings: { HTTP_TIMEOUT_MS: '1000', HTTP_MAX_RETRIES: '2' } });
            fn = await startFunctionHost(h.settings);
            await fn.pollNow();
            const { roleRequest } = h.sample.workItems;
            h.simulator.failNext('iiq.get', ...Array.from({ length: 3 }, () => ({ dripMs: 250 })));

            const started = Date.now();
            const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });

            expect(Date.now() - started).toBeLessThan(8_000);
            expect(answer.status).toBeGreaterThanOrEqual(500);
            expect(h.simulator.decisions).toEqual([]);
            expect(await h.app.store.get('iiq', roleRequest.id)).toMatchObject({ status: 'open' });
        });
    });

    describe('a decision whose write IdentityIQ keeps putting off', () => {
        let h: Harness;
        let fn: FunctionHost;
        afterEach(async () => {
            await fn.stop();
            await h.stop();
        });

        it('stops retrying within the claim, so its claim cannot lapse while a write is in flight, and the row is free again', async () => {
            h = await startHarness({ settings: { HTTP_TIMEOUT_MS: '1000', HTTP_MAX_RETRIES: '10' } });
            fn = await startFunctionHost(h.settings);
            await fn.pollNow();
            const { roleRequest } = h.sample.workItems;
            h.simulator.failNext('iiq.put', ...Array.from({ length: 10 }, () => ({ status: 429, retryAfter: '0', delayMs: 800 })));

            const started = Date.now();
            const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });

            expect(Date.now() - started).toBeLessThan(4_000);
            expect(answer.status).toBeGreaterThanOrEqual(500);
            expect(h.simulator.calls['iiq.put']).toBeLessThanOrEqual(3);
            expect(await h.app.store.get('iiq', roleRequest.id)).toMatchObject({ status: 'open' });
        });
    });

    it('answers 503 within a few seconds when the state table trickles its answer, and nothing is decided', async () => {
        const proxy = new TableProxy();
        const h = await startHarness({ settings: { HTTP_TIMEOUT_MS: '1000' } });
        const fn = await startFunctionHost({ ...h.settings, AzureWebJobsStorage: await proxy.start() });
        try {
            await fn.pollNow();
            const { roleRequest } = h.sample.workItems;
            proxy.fail({ matches: ({ method, path }) => method === 'GET' && path.includes(`RowKey='${roleRequest.id}'`), dripMs: 250 });
            const started = Date.now();
            const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
            expect(Date.now() - started).toBeLessThan(8_000);
            expect(answer).toEqual({ status: 503, body: { error: { code: 'storage_unavailable', message: expect.any(String) } } });
            expect(h.simulator.decisions).toEqual([]);
        } finally {
            await fn.stop();
            await proxy.stop();
            await h.stop();
        }
    });

    it('gives up on a server that never stops sending, though it is never idle', async () => {
        const server = await serve(dripForever);
        const { elapsedMs, outcome } = await timed(() => client({ timeoutMs: 300, maxRetries: 1 }).send(get(server.url)));
        expect(outcome).toMatchObject({ status: 'rejected', reason: expect.any(UpstreamError) });
        expect(elapsedMs).toBeLessThan(3_000);
    });

    it('bounds every call inside withDeadline, even when HTTP_TIMEOUT_MS is long', async () => {
        const server = await serve(dripForever);
        const http = client({ timeoutMs: 60_000, maxRetries: 3 });
        const { elapsedMs, outcome } = await timed(() => withDeadline(Date.now() + 500, () => http.send(get(server.url))));
        expect(outcome).toMatchObject({ status: 'rejected', reason: { message: 'IdentityIQ could not be reached (timed out)' } });
        expect(elapsedMs).toBeLessThan(2_000);
    });

    it('keeps the earlier deadline when withDeadline calls nest', async () => {
        const outer = Date.now() + 500;
        const inner = await withDeadline(outer, () => withDeadline(outer + 60_000, async () => currentDeadline()));
        expect(inner).toBe(outer);
    });

    it('starts no attempt once the deadline has passed', async () => {
        const server = await serve(unavailable());
        const request = client({ timeoutMs: 1_000, maxRetries: 2 }).send(get(server.url, { deadline: Date.now() - 1 }));
        await expect(request).rejects.toThrow('IdentityIQ could not be reached (timed out)');
        expect(server.hits()).toBe(0);
    });

    it('answers a 503 whose Retry-After would end past the deadline instead of sleeping through it', async () => {
        const server = await serve(unavailable('3'));
        const { elapsedMs, outcome } = await timed(() => client({ timeoutMs: 1_000, maxRetries: 2 }).send(get(server.url, { deadline: Date.now() + 1_000 })));
        expect(outcome).toMatchObject({ status: 'fulfilled', value: { status: 503 } });
        expect(server.hits()).toBe(1);
        expect(elapsedMs).toBeLessThan(1_500);
    });
});

describe('retrying a 503', () => {
    it('sends a not-idempotent POST once', async () => {
        const server = await serve(unavailable());
        const answer = await client({ timeoutMs: 1_000, maxRetries: 2 }).send(post(server.url));
        expect(answer.status).toBe(503);
        expect(server.hits()).toBe(1);
    });

    it('repeats an idempotent GET', async () => {
        const server = await serve(unavailable());
        const answer = await client({ timeoutMs: 1_000, maxRetries: 2 }).send(get(server.url));
        expect(answer.status).toBe(503);
        expect(server.hits()).toBe(3);
    });
});

describe('errors for calls that got no answer', () => {
    it('name the cause in fixed words, without the address or port', async () => {
        const port = await freePort();
        const error = await failureOf(client({ timeoutMs: 1_000, maxRetries: 0 }).send(post(`http://127.0.0.1:${port}/resource`)));
        expect(error).toBeInstanceOf(UpstreamError);
        expect(error?.message).toBe('IdentityIQ could not be reached (connection refused)');
        expect(error?.message).not.toContain('127.0.0.1');
        expect(error?.message).not.toContain(String(port));
    });

    it('say when the answer was over maxResponseBytes, so the caller can ask for less', async () => {
        const server = await serve((response) => response.end('x'.repeat(4096)));
        const error = await failureOf(client({ timeoutMs: 1_000, maxRetries: 2, maxResponseBytes: 1024 }).send(get(server.url)));
        expect(error).toBeInstanceOf(UpstreamError);
        expect(error).toMatchObject({ tooLarge: true });
        expect(server.hits()).toBe(1);
    });
});
