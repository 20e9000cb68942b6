import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { HttpClient, HttpRequest } from '../shared/platform/http';
import { silentLogger } from '../shared/platform/log';
import { startFunctionHost } from './support/functionHost';
import { startHarness } from './support/harness';

/**
 * A server may close an idle keep-alive connection just as the client sends on it: the request then meets a
 * reset before any byte of an answer, and the server never saw it. Such a write is sent again; any other
 * reset of a write that must not happen twice is not.
 */

const servers: Server[] = [];

afterEach(async () => {
    for (const server of servers.splice(0)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
    }
});

/** A server on 127.0.0.1 that hands each POST to `onPost` (numbered from 1) and answers anything else at once. */
async function serve(onPost: (request: IncomingMessage, response: ServerResponse, post: number) => void) {
    const seen = { posts: 0, acted: 0, connections: 0 };
    const server = createServer((request, response) => {
        if (request.method !== 'POST') return void response.end('ok');
        request.resume();
        onPost(request, response, ++seen.posts);
    });
    server.on('connection', () => seen.connections++);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/resource`;
    const act = (response: ServerResponse) => {
        seen.acted++;
        response.end('done');
    };
    return { url, seen, act };
}

const client = () => new HttpClient({ timeoutMs: 2_000, maxRetries: 2, maxResponseBytes: 1024 * 1024 }, silentLogger);

const get = (url: string): HttpRequest => ({ system: 'Moveworks', method: 'GET', url, retry: 'idempotent' });
const post = (url: string): HttpRequest => ({ system: 'Moveworks', method: 'POST', url, body: '{"message":"hello"}', retry: 'not-idempotent' });

const failureOf = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error as Error);

describe('a not-idempotent write that meets a connection reset', () => {
    it('is sent again, once, when a kept-alive connection is reset before any byte of the answer', async () => {
        const server = await serve((request, response, post) => (post === 1 ? request.socket.destroy() : server.act(response)));
        const http = client();
        await http.send(get(server.url));

        const answer = await http.send(post(server.url));

        expect(answer).toMatchObject({ status: 200, body: 'done' });
        expect(server.seen).toMatchObject({ posts: 2, acted: 1 });
    });

    it('is not sent again when the reset comes on a fresh connection', async () => {
        const server = await serve((request) => request.socket.destroy());

        const error = await failureOf(client().send(post(server.url)));

        expect(error?.message).toBe('Moveworks could not be reached (connection reset)');
        expect(server.seen).toMatchObject({ posts: 1, connections: 1 });
    });

    it('is not sent again when the reset comes after part of the answer', async () => {
        const server = await serve((_request, response) => {
            server.seen.acted++;
            response.writeHead(200, { 'Content-Length': '100' });
            response.write('partial', () => response.socket?.destroy());
        });
        const http = client();
        await http.send(get(server.url));

        const error = await failureOf(http.send(post(server.url)));

        expect(error?.message).toBe('Moveworks could not be reached (connection reset)');
        expect(server.seen).toMatchObject({ posts: 1, acted: 1 });
    });
});

describe('through the app, a kept-alive connection reset before the answer', () => {
    it("delivers a new approval's message in the same poll, once", async () => {
        const h = await startHarness({ settings: { MOVEWORKS_CONCURRENCY: '1' } });
        try {
            await h.app.poll();
            const sentBefore = h.simulator.calls['moveworks.send'];
            const added = h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id, requesterId: h.sample.people.allen.id });
            h.simulator.failNext('moveworks.send', { reset: true });

            const [report] = await h.app.poll();

            expect(report).toMatchObject({ messagesSent: 1, owedForNextPoll: 0 });
            expect(h.simulator.messagesFor(added.id)).toHaveLength(1);
            expect(h.simulator.calls['moveworks.send'] - sentBefore).toBe(2);
        } finally {
            await h.stop();
        }
    });

    it('decides an ISC approval on the approve click, and ISC records the decision once', async () => {
        const h = await startHarness({ simulator: { sources: ['isc'] } });
        const fn = await startFunctionHost(h.settings);
        try {
            await fn.pollNow();
            const { roleRequest } = h.iscSample.approvals;
            h.simulator.failNext('isc.approve', { reset: true });

            const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });

            expect(answer.status).toBe(200);
            expect(h.simulator.isc.actions.filter((action) => action.approvalId === roleRequest.id)).toHaveLength(1);
            expect(h.simulator.calls['isc.approve']).toBe(2);
        } finally {
            await fn.stop();
            await h.stop();
        }
    });
});
