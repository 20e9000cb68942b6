import { createHmac } from 'node:crypto';
import { DEFAULT_LISTENER_MAX_BYTES, ListenerNotice } from '../dev/simulator/listener';
import { Simulator, SimulatorOptions } from '../dev/simulator/simulator';

/**
 * The simulated Moveworks Agent Studio webhook listener and Events API key check, over real HTTP on
 * 127.0.0.1: accepted notices, credential and signature verification, the 1 MB payload limit, the
 * per-second rate limit, the app's preflight kept apart, malformed bodies, faults, and `GET /rest/v1/auth/test`.
 */

/** Every request of this spec gives up after this long, so no test outlives a hung answer. */
const REQUEST_TIMEOUT_MS = 5_000;
jest.setTimeout(20_000);

let simulator: Simulator;

afterEach(async () => {
    await simulator?.stop();
});

async function start(options: SimulatorOptions = {}): Promise<void> {
    simulator = new Simulator(options);
    await simulator.start();
}

const sign = (body: string, secret: string) => createHmac('sha256', secret).update(body, 'utf8').digest('hex');

const notice = (approvalId: string, extra: Record<string, unknown> = {}) => JSON.stringify({ type: 'approval.pending', approvalId, recipients: ['jamie.rivera@example.com'], message: 'Approve?', ...extra });

async function post(body: string, headers: Record<string, string> = { Authorization: `Bearer ${simulator.listenerKey}` }, url = simulator.listenerUrl) {
    const answer = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await answer.text();
    const json = text && answer.headers.get('content-type')?.startsWith('application/json') ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    return { status: answer.status, retryAfter: answer.headers.get('retry-after'), text, json };
}

async function authTest(authorization?: string) {
    const answer = await fetch(`${simulator.baseUrl}/rest/v1/auth/test`, {
        headers: authorization === undefined ? {} : { Authorization: authorization },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return { status: answer.status, json: (await answer.json()) as Record<string, unknown> };
}

/** A JSON notice of exactly `size` bytes. */
function noticeOfSize(approvalId: string, size: number): string {
    const empty = notice(approvalId, { pad: '' });
    return notice(approvalId, { pad: 'x'.repeat(size - Buffer.byteLength(empty)) });
}

describe('the Moveworks webhook listener', () => {
    it('records an accepted notice with its body, raw text and headers, apart from Events API messages', async () => {
        await start();
        const body = notice('wi-1');
        const answer = await post(body, { Authorization: `Bearer ${simulator.listenerKey}`, 'X-Trace': 'abc' });
        expect(answer.status).toBe(200);
        expect(answer.json).toMatchObject({ status: 'accepted' });
        expect(simulator.listenerNotices).toHaveLength(1);
        const [recorded] = simulator.listenerNotices as [ListenerNotice];
        expect(recorded.body).toEqual(JSON.parse(body));
        expect(recorded.raw).toBe(body);
        expect(recorded.headers['x-trace']).toBe('abc');
        expect(recorded.headers['content-type']).toBe('application/json');
        expect(Math.abs(recorded.at - Date.now())).toBeLessThan(5_000);
        expect(simulator.noticesFor('wi-1')).toEqual([recorded]);
        expect(simulator.noticesFor('wi-2')).toEqual([]);
        expect(simulator.messagesFor('wi-1')).toEqual([]);
        expect(simulator.messages).toEqual([]);
        expect(simulator.calls['moveworks.listener']).toBe(1);
        expect(simulator.calls['moveworks.send']).toBe(0);
        expect(simulator.requests.map((request) => request.route)).toEqual(['moveworks.listener']);
    });

    it('keeps an Events API message and a listener notice for the same approval apart', async () => {
        await start();
        const { moveworksApiKey, moveworksEventId } = simulator.credentials;
        const sent = await fetch(`${simulator.baseUrl}/rest/v1/events/${moveworksEventId}/messages/send`, {
            method: 'POST',
            headers: { Authorization: `Bearer ${moveworksApiKey}`, 'Content-Type': 'application/json' },
            body: JSON.stringify({ message: 'Approve?', recipients: ['jamie.rivera@example.com'], context: { slots: { approval_id: 'wi-1' } } }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        expect(sent.status).toBe(200);
        expect((await post(notice('wi-1'))).status).toBe(200);
        expect(simulator.messagesFor('wi-1')).toHaveLength(1);
        expect(simulator.noticesFor('wi-1')).toHaveLength(1);
    });

    it('refuses a wrong, missing or prefix-less key with 401 UNAUTHORIZED and records nothing', async () => {
        await start();
        const refused: Record<string, string>[] = [{ Authorization: 'Bearer not-the-key' }, {}, { Authorization: simulator.listenerKey }, { Authorization: `Basic ${simulator.listenerKey}` }];
        for (const headers of refused) {
            const answer = await post(notice('wi-1'), headers);
            expect(answer.status).toBe(401);
            expect(answer.json).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
        }
        expect(simulator.listenerNotices).toEqual([]);
    });

    it('takes the key, id and limits from its options', async () => {
        await start({ listenerId: 'a1b2c3d4-0000-4000-8000-000000000009', listenerKey: 'other-key', listenerPerSecond: 7, listenerMaxBytes: 500 });
        expect(simulator.listenerUrl).toBe(`${simulator.baseUrl}/webhooks/v1/listeners/a1b2c3d4-0000-4000-8000-000000000009/notify`);
        expect(simulator.listenerMaxBytes).toBe(500);
        expect((await post(notice('wi-1'), { Authorization: 'Bearer other-key' })).status).toBe(200);
        expect(simulator.listenerSettings()).toEqual({
            MOVEWORKS_DELIVERY: 'listener',
            MOVEWORKS_LISTENER_URL: simulator.listenerUrl,
            MOVEWORKS_LISTENER_KEY: 'other-key',
            MOVEWORKS_LISTENER_MAX_PER_SECOND: '7',
        });
    });

    it('answers 404 with an empty body for a listener id it does not have', async () => {
        await start();
        const answer = await post(notice('wi-1'), undefined, `${simulator.baseUrl}/webhooks/v1/listeners/00000000-0000-4000-8000-0000000000ff/notify`);
        expect(answer.status).toBe(404);
        expect(answer.text).toBe('');
        expect(simulator.listenerNotices).toEqual([]);
    });

    describe('with a signing secret', () => {
        const secret = 'whsec-5f0c1e';

        it('takes the lowercase hex HMAC-SHA256 of the raw body and refuses a wrong or missing one with ErrorSignatureVerificationFailed', async () => {
            await start({ listenerSigningSecret: secret });
            // Spacing and non-ASCII that a re-serialisation would change: the signature covers the bytes as sent.
            const body = `{ "type": "approval.pending",  "approvalId": "wi-1", "message": "Zoë’s request" }`;
            const key = { Authorization: `Bearer ${simulator.listenerKey}` };

            for (const signature of [undefined, sign(body, 'another-secret'), sign(body, secret).toUpperCase(), sign(`${body} `, secret)]) {
                const answer = await post(body, signature === undefined ? key : { ...key, 'X-Signature': signature });
                expect(answer.status).toBe(401);
                expect(answer.json).toEqual({ error: { code: 'ErrorSignatureVerificationFailed', message: expect.any(String) } });
            }
            expect(simulator.listenerNotices).toEqual([]);

            expect((await post(body, { ...key, 'X-Signature': sign(body, secret) })).status).toBe(200);
            expect(simulator.noticesFor('wi-1').map((recorded) => recorded.raw)).toEqual([body]);
        });

        it('reads the signature from the header it is told, whatever its case', async () => {
            await start({ listenerSigningSecret: secret });
            simulator.listenerSignatureHeader = 'X-Moveworks-Signature';
            const body = notice('wi-1');
            const key = { Authorization: `Bearer ${simulator.listenerKey}` };
            expect((await post(body, { ...key, 'X-Signature': sign(body, secret) })).status).toBe(401);
            expect((await post(body, { ...key, 'x-moveworks-signature': sign(body, secret) })).status).toBe(200);
            expect(simulator.listenerNotices).toHaveLength(1);
        });

        it('names the secret and its header in the listener settings', async () => {
            await start({ listenerSigningSecret: secret, listenerSignatureHeader: 'X-Hub-Signature' });
            expect(simulator.listenerSettings()).toEqual({
                MOVEWORKS_DELIVERY: 'listener',
                MOVEWORKS_LISTENER_URL: simulator.listenerUrl,
                MOVEWORKS_LISTENER_KEY: simulator.listenerKey,
                MOVEWORKS_LISTENER_SIGNING_SECRET: secret,
                MOVEWORKS_LISTENER_SIGNATURE_HEADER: 'X-Hub-Signature',
                MOVEWORKS_LISTENER_MAX_PER_SECOND: '5',
            });
        });
    });

    it('takes a body of exactly 1 MiB and refuses one byte more with 413 PAYLOAD_TOO_LARGE', async () => {
        await start();
        expect(simulator.listenerMaxBytes).toBe(1_048_576);
        expect((await post(noticeOfSize('wi-1', DEFAULT_LISTENER_MAX_BYTES))).status).toBe(200);
        const answer = await post(noticeOfSize('wi-2', DEFAULT_LISTENER_MAX_BYTES + 1));
        expect(answer.status).toBe(413);
        expect(answer.json).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } });
        expect(simulator.listenerNotices.map((recorded) => recorded.body.approvalId)).toEqual(['wi-1']);
    });

    it('applies a lowered size limit, counting bytes rather than characters', async () => {
        await start();
        simulator.listenerMaxBytes = 200;
        expect((await post(noticeOfSize('wi-1', 200))).status).toBe(200);
        // 120 characters, 210 bytes: 'é' is two bytes in UTF-8.
        const wide = JSON.stringify({ approvalId: 'wi-2', pad: 'é'.repeat(90) });
        expect(wide.length).toBeLessThanOrEqual(200);
        expect(Buffer.byteLength(wide)).toBeGreaterThan(200);
        expect((await post(wide)).status).toBe(413);
    });

    it('answers 429 with Retry-After: 1 past the per-second limit, and takes requests again a second later', async () => {
        await start();
        const answers = await Promise.all(Array.from({ length: 7 }, (_, i) => post(notice(`wi-${i}`))));
        expect(answers.filter((answer) => answer.status === 200)).toHaveLength(5);
        const limited = answers.filter((answer) => answer.status === 429);
        expect(limited).toHaveLength(2);
        for (const answer of limited) {
            expect(answer.retryAfter).toBe('1');
            expect(answer.json).toEqual({ error: { code: 'RATE_LIMIT_EXCEEDED', message: expect.any(String) } });
        }
        expect(simulator.listenerRateLimited).toHaveLength(2);
        expect(simulator.rateLimited).toEqual([]);
        expect(simulator.listenerNotices).toHaveLength(5);

        await new Promise((resolve) => setTimeout(resolve, 1_100));
        expect((await post(notice('wi-later'))).status).toBe(200);
    });

    it('follows a changed per-second limit', async () => {
        await start();
        simulator.listenerPerSecond = 1;
        expect((await post(notice('wi-1'))).status).toBe(200);
        expect((await post(notice('wi-2'))).status).toBe(429);
    });

    it('accepts a preflight, verified like a notice, without recording it as a notice', async () => {
        await start();
        const preflight = JSON.stringify({ type: 'preflight', sentAt: new Date().toISOString() });
        expect((await post(preflight, { Authorization: 'Bearer wrong' })).status).toBe(401);
        const answer = await post(preflight);
        expect(answer.status).toBe(200);
        expect(simulator.listenerNotices).toEqual([]);
        expect(simulator.listenerPreflights.map((recorded) => recorded.raw)).toEqual([preflight]);
    });

    it('refuses a body that is not a JSON object with 400', async () => {
        await start();
        for (const body of ['not json', '{"approvalId": ', '[{"approvalId": "wi-1"}]', 'null', '"wi-1"']) {
            const answer = await post(body);
            expect(answer.status).toBe(400);
            expect(answer.json).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
        }
        expect(simulator.listenerNotices).toEqual([]);
    });

    it('answers queued faults instead of acting, then acts again', async () => {
        await start();
        simulator.failNext('moveworks.listener', { status: 503 }, { status: 429, retryAfter: '7', body: '{"error":{"code":"RATE_LIMIT_EXCEEDED"}}', contentType: 'application/json' });
        const failed = await post(notice('wi-1'));
        expect(failed.status).toBe(503);
        const limited = await post(notice('wi-1'));
        expect([limited.status, limited.retryAfter]).toEqual([429, '7']);
        expect(simulator.listenerNotices).toEqual([]);

        simulator.failNext('moveworks.listener', { delayMs: 300 });
        const started = Date.now();
        expect((await post(notice('wi-1'))).status).toBe(200);
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
        expect(simulator.noticesFor('wi-1')).toHaveLength(1);
        expect(simulator.calls['moveworks.listener']).toBe(3);
    });

    it('hands each accepted notice to onListenerNotice', async () => {
        const seen: string[] = [];
        await start({ onListenerNotice: (recorded) => seen.push(String(recorded.body.approvalId)) });
        await post(notice('wi-1'));
        await post(JSON.stringify({ type: 'preflight' }));
        expect(seen).toEqual(['wi-1']);
    });
});

describe('the Moveworks API key check (GET /rest/v1/auth/test)', () => {
    it('answers 200 to the Events API key', async () => {
        await start();
        const answer = await authTest(`Bearer ${simulator.credentials.moveworksApiKey}`);
        expect(answer.status).toBe(200);
        expect(simulator.calls['moveworks.authTest']).toBe(1);
    });

    it('answers 401 "Token validation failed" to a wrong or missing key, or one without Bearer', async () => {
        await start();
        for (const authorization of ['Bearer wrong', undefined, simulator.credentials.moveworksApiKey, `Bearer ${simulator.listenerKey}`]) {
            const answer = await authTest(authorization);
            expect(answer.status).toBe(401);
            expect(answer.json).toEqual({ error: { code: 'UNAUTHORIZED', message: 'Token validation failed' } });
        }
        expect(simulator.calls['moveworks.authTest']).toBe(4);
    });

    it('answers queued faults', async () => {
        await start();
        simulator.failNext('moveworks.authTest', { status: 500, body: '{}', contentType: 'application/json' });
        expect((await authTest(`Bearer ${simulator.credentials.moveworksApiKey}`)).status).toBe(500);
        expect((await authTest(`Bearer ${simulator.credentials.moveworksApiKey}`)).status).toBe(200);
    });
});
