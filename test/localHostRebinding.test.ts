import { request } from 'node:http';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/**
 * Without FUNCTION_KEY, the 415 rule stops a cross-site text/plain POST; a page that rebinds its own host name
 * to 127.0.0.1 (DNS rebinding) is same-origin with the host and may POST JSON, so the Host header must be a
 * loopback name.
 */
describe('the local host and DNS rebinding', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });

    const send = (url: string, method: string, path: string, host: string, body?: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
            const target = new URL(url);
            const req = request(
                { host: '127.0.0.1', port: target.port, method, path, headers: { host, origin: `http://${host}`, ...(body ? { 'content-type': 'application/json' } : {}) } },
                (res) => {
                    let text = '';
                    res.on('data', (chunk) => (text += chunk));
                    res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
                },
            );
            req.on('error', reject);
            req.end(body);
        });

    it('refuses a request whose Host is not the loopback (a rebound attacker name)', async () => {
        h = await startHarness();
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        const id = h.sample.workItems.roleRequest.id;
        const port = new URL(fn.url).port;
        const answer = await send(fn.url, 'POST', `/api/approvals/${id}/reject`, `attacker.example:${port}`, JSON.stringify({ approverEmail: 'jamie.rivera@example.com', comment: 'csrf' }));
        expect(h.simulator.decisions).toEqual([]);
        expect(answer.status).not.toBe(200);
    });
});
