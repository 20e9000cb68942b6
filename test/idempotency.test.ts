import { randomBytes, randomUUID } from 'node:crypto';
import { fingerprintOf, keyDigest } from '../shared/api/idempotency';
import { callerApp, JAMIE } from './support/callerApp';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';

/**
 * Idempotency-Key on the action routes, over real HTTP: Moveworks Agent Studio sends its
 * `action_instance_id` with every click, so a retried click must get the first click's answer, never a 409
 * naming the clicker themselves, and must never act twice.
 */

const MINUTE = 60_000;
const jamie = 'jamie.rivera@example.com';
const carol = 'carol.jones@example.com';
const bob = 'bob.smith@example.com';

interface Answer {
    status: number;
    body: any;
    replayed: string | null;
}

async function send(fn: FunctionHost, path: string, body: unknown, key?: string): Promise<Answer> {
    const response = await fetch(`${fn.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
        body: JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, replayed: response.headers.get('idempotent-replayed') };
}

describe('a retried click with the same Idempotency-Key', () => {
    let h: Harness;
    let fn: FunctionHost;
    let other: FunctionHost | undefined;
    beforeEach(async () => {
        h = await startHarness();
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
    });
    afterEach(async () => {
        await other?.stop();
        other = undefined;
        await fn.stop();
        await h.stop();
    });
    const act = (action: string, id: string, body: unknown, key?: string, host = fn) => send(host, `/api/approvals/${id}/${action}`, body, key);

    it('answers the first approval again, and IdentityIQ gets one decision', async () => {
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        const first = await act('approve', roleRequest.id, { approverEmail: jamie, comment: 'Fine' }, key);
        const retry = await act('approve', roleRequest.id, { approverEmail: jamie, comment: 'Fine' }, key);
        expect(first).toEqual({ status: 200, body: expect.objectContaining({ status: 'approved', approvalId: roleRequest.id }), replayed: null });
        expect(retry).toEqual({ ...first, replayed: 'true' });
        expect(h.simulator.decisions).toHaveLength(1);
    });

    it('answers the first refusal again, without acting, even once the approval became theirs', async () => {
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        const first = await act('approve', roleRequest.id, { approverEmail: bob }, key);
        expect([first.status, first.body.error.code]).toEqual([403, 'not_approver']);
        h.simulator.reassign(roleRequest.id, h.sample.people.bob.id);
        expect(await act('approve', roleRequest.id, { approverEmail: bob }, key)).toEqual({ ...first, replayed: 'true' });
        expect(h.simulator.decisions).toEqual([]);
        expect((await act('approve', roleRequest.id, { approverEmail: bob }, randomUUID())).status).toBe(200);
    });

    it.each([
        ['another approval', 'approve', 'entitlementRequest', jamie],
        ['another route', 'reject', 'roleRequest', jamie],
        ['another approver', 'approve', 'roleRequest', carol],
    ] as const)('answers 422 idempotency_key_reused to the same key on %s, and acts on nothing', async (_, action, item, email) => {
        const key = randomUUID();
        expect((await act('approve', h.sample.workItems.roleRequest.id, { approverEmail: jamie }, key)).status).toBe(200);
        const reused = await act(action, h.sample.workItems[item].id, { approverEmail: email }, key);
        expect(reused).toEqual({ status: 422, body: { error: { code: 'idempotency_key_reused', message: expect.stringContaining('Idempotency-Key') } }, replayed: null });
        expect(h.simulator.decisions).toHaveLength(1);
    });

    it('acts once when two instances get the same key at once (a double click), and both answer the same', async () => {
        other = await startFunctionHost(h.settings);
        h.simulator.latencyMs = 100;
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        const answers = await Promise.all([act('approve', roleRequest.id, { approverEmail: jamie }, key, fn), act('approve', roleRequest.id, { approverEmail: jamie }, key, other)]);
        expect(h.simulator.decisions).toHaveLength(1);
        expect(answers.map(({ status, body }) => ({ status, body }))).toEqual([
            { status: 200, body: expect.objectContaining({ status: 'approved' }) },
            { status: 200, body: answers[0].body },
        ]);
        expect(answers.map((answer) => answer.replayed).sort()).toEqual(['true', null].sort());
    });

    it('takes over a claim whose request died more than two minutes ago, and acts', async () => {
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        const fingerprint = fingerprintOf({ route: 'approve', approvalId: roleRequest.id, approverEmail: jamie });
        await h.app.idempotency.claim(keyDigest(key), fingerprint, Date.now() - 3 * MINUTE);
        const answer = await act('approve', roleRequest.id, { approverEmail: jamie }, key);
        expect(answer).toMatchObject({ status: 200, body: { status: 'approved' }, replayed: null });
        expect(h.simulator.decisions).toHaveLength(1);
    });

    it('answers 409 idempotency_key_in_progress, after waiting a few seconds, while the first request is still acting', async () => {
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        await h.app.idempotency.claim(keyDigest(key), fingerprintOf({ route: 'approve', approvalId: roleRequest.id, approverEmail: jamie }), Date.now());
        const started = Date.now();
        const answer = await act('approve', roleRequest.id, { approverEmail: jamie }, key);
        expect([answer.status, answer.body.error.code]).toEqual([409, 'idempotency_key_in_progress']);
        expect(Date.now() - started).toBeGreaterThanOrEqual(4_500);
        expect(h.simulator.decisions).toEqual([]);
    });

    it('lets a retry with the same key act after IdentityIQ failed the first (502)', async () => {
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        h.simulator.failNext('iiq.put', { status: 500 });
        expect((await act('approve', roleRequest.id, { approverEmail: jamie }, key)).status).toBe(502);
        expect(await act('approve', roleRequest.id, { approverEmail: jamie }, key)).toMatchObject({ status: 200, replayed: null });
        expect(h.simulator.decisions).toHaveLength(1);
    });

    it('lets a retry with the same key act after another action on the approval held it (409 decision_in_progress)', async () => {
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        const record = (await h.app.store.get('iiq', roleRequest.id))!;
        await h.app.store.update({ ...record, status: 'deciding', decidingSince: Date.now(), updatedAt: Date.now() });
        expect((await act('approve', roleRequest.id, { approverEmail: jamie }, key)).body.error.code).toBe('decision_in_progress');
        const held = (await h.app.store.get('iiq', roleRequest.id))!;
        await h.app.store.update({ ...held, status: 'open', decidingSince: undefined });
        expect(await act('approve', roleRequest.id, { approverEmail: jamie }, key)).toMatchObject({ status: 200, replayed: null });
    });

    it('answers as today without the header: a second click gets 409 already_decided', async () => {
        const { roleRequest } = h.sample.workItems;
        expect((await act('approve', roleRequest.id, { approverEmail: jamie })).status).toBe(200);
        const again = await act('approve', roleRequest.id, { approverEmail: jamie });
        expect([again.status, again.body.error.code, again.replayed]).toEqual([409, 'already_decided', null]);
    });

    it.each([
        ['empty', ''],
        ['longer than 255 characters', 'k'.repeat(256)],
        ['with a space', 'two words'],
    ])('answers 400 invalid_request naming Idempotency-Key to a key that is %s, and acts on nothing', async (_, key) => {
        const answer = await act('approve', h.sample.workItems.roleRequest.id, { approverEmail: jamie }, key);
        expect(answer).toEqual({ status: 400, body: { error: { code: 'invalid_request', message: expect.stringContaining('Idempotency-Key') } }, replayed: null });
        expect(h.simulator.decisions).toEqual([]);
    });

    it('accepts a key of 255 visible characters that a table key could not hold', async () => {
        const key = `#/?\\${'~'.repeat(251)}`;
        expect((await act('approve', h.sample.workItems.roleRequest.id, { approverEmail: jamie }, key)).status).toBe(200);
        expect((await act('approve', h.sample.workItems.roleRequest.id, { approverEmail: jamie }, key)).replayed).toBe('true');
    });

    it('records the retry in the audit trail as replayed, beside the one decision', async () => {
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        await act('approve', roleRequest.id, { approverEmail: jamie }, key);
        await act('approve', roleRequest.id, { approverEmail: jamie }, key);
        const { entries } = await h.app.audit.page({ approvalId: roleRequest.id, limit: 10 });
        expect(entries.map((entry) => [entry.status, entry.result]).sort()).toEqual([
            [200, 'approved'],
            [200, 'replayed'],
        ]);
    });

    it('never writes the key to the log, nor to the table', async () => {
        const key = `secret-${randomBytes(16).toString('hex')}`;
        await act('approve', h.sample.workItems.roleRequest.id, { approverEmail: jamie }, key);
        await act('approve', h.sample.workItems.roleRequest.id, { approverEmail: jamie }, key);
        expect(fn.logged.some((line) => line.includes('idempotency.replayed'))).toBe(true);
        expect(fn.logged.filter((line) => line.includes(key))).toEqual([]);
        expect(await h.app.idempotency.read(keyDigest(key))).toMatchObject({ digest: keyDigest(key), answer: { status: 200 } });
        expect(JSON.stringify(await h.app.idempotency.read(keyDigest(key)))).not.toContain(key);
    });

    it('is forgotten by the daily clean-up once a day old, and kept until then', async () => {
        const key = randomUUID();
        await act('approve', h.sample.workItems.roleRequest.id, { approverEmail: jamie }, key);
        const clock = manualClock();
        const later = h.newApp({}, clock.now);
        clock.advance(23 * 60 * MINUTE);
        await later.cleanup();
        expect(await h.app.idempotency.read(keyDigest(key))).toBeDefined();
        clock.advance(2 * 60 * MINUTE);
        await later.cleanup();
        expect(await h.app.idempotency.read(keyDigest(key))).toBeUndefined();
    });
});

describe('Idempotency-Key with caller tokens', () => {
    const app = callerApp();

    it('answers 401 to a retry without a valid caller token, never the stored answer', async () => {
        const id = await app.begin({ CALLER_USER_EMAIL_CLAIM: 'user_email' });
        const key = randomUUID();
        expect((await app.approve(id, await app.bearer({ user_email: JAMIE }), {}, { 'Idempotency-Key': key })).status).toBe(200);
        const anonymous = await app.approve(id, undefined, {}, { 'Idempotency-Key': key });
        expect([anonymous.status, anonymous.code]).toEqual([401, 'invalid_token']);
    });

    it('binds the key to the approver the token names: the same key under another person’s token answers 422', async () => {
        const id = await app.begin({ CALLER_USER_EMAIL_CLAIM: 'user_email' });
        const key = randomUUID();
        expect((await app.approve(id, await app.bearer({ user_email: JAMIE }), {}, { 'Idempotency-Key': key })).status).toBe(200);
        const other = await app.approve(id, await app.bearer({ user_email: carol }), {}, { 'Idempotency-Key': key });
        expect([other.status, other.code]).toEqual([422, 'idempotency_key_reused']);
    });
});

describe('Idempotency-Key on the connection routes', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });

    async function serve() {
        h = await startHarness({ simulator: { sources: ['isc'], iscServiceReadOnly: true } });
        fn = await startFunctionHost({
            ...h.settings,
            ...h.simulator.userOAuthSettings(),
            ISC_DECIDE_AS: 'user',
            PUBLIC_BASE_URL: 'https://approvals.example.com',
            USER_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        });
    }

    /** Connects `email` as `identityId` through the link, SailPoint's sign-in and the callback. */
    async function connect(email: string, identityId: string) {
        const onHost = (link: string) => `${fn.url}${new URL(link).pathname}${new URL(link).search}`;
        const { body } = await fn.post('/api/connections/isc/link', { approverEmail: email });
        const opened = await fetch(onHost(body.connectUrl), { redirect: 'manual' });
        const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0];
        const callback = h.simulator.isc.signIn(opened.headers.get('location') ?? '', identityId);
        expect((await fetch(onHost(callback), { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
    }

    it('answers a retried disconnect as the first (disconnected: true), not as a second disconnect', async () => {
        await serve();
        await connect(jamie, h.iscSample.people.jamie.id);
        const key = randomUUID();
        const first = await send(fn, '/api/connections/isc/disconnect', { approverEmail: jamie }, key);
        expect(first).toEqual({ status: 200, body: { disconnected: true }, replayed: null });
        expect(await send(fn, '/api/connections/isc/disconnect', { approverEmail: jamie }, key)).toEqual({ ...first, replayed: 'true' });
    });

    it('answers 422 to a link key used again to disconnect', async () => {
        await serve();
        const key = randomUUID();
        expect((await send(fn, '/api/connections/isc/link', { approverEmail: jamie }, key)).status).toBe(200);
        const reused = await send(fn, '/api/connections/isc/disconnect', { approverEmail: jamie }, key);
        expect([reused.status, reused.body.error.code]).toEqual([422, 'idempotency_key_reused']);
    });
});
