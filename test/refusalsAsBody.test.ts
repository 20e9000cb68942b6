import { randomBytes, randomUUID } from 'node:crypto';
import Ajv2020 from 'ajv/dist/2020';
import { REFUSAL_OUTCOMES } from '../shared/contract';
import { callerApp, JAMIE } from './support/callerApp';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/**
 * ACTION_REFUSALS_AS=body, over real HTTP: a Moveworks compound action's try_catch reads only an error's
 * status, never its body, so the refusals that are the approver's business answer 200 `{ outcome, message }`
 * and the bot can show the sentence. Caller authentication, bad requests and failures keep their statuses.
 */

const jamie = 'jamie.rivera@example.com';
const bob = 'bob.smith@example.com';
const BODY = { ACTION_REFUSALS_AS: 'body' };

/** How each refusal comes about: the click that gets it, after `arrange`. */
interface Refusal {
    code: (typeof REFUSAL_OUTCOMES)[number];
    arrange: (h: Harness, fn: FunctionHost) => Promise<{ action: string; id: string; body: object }>;
}

const REFUSALS: Refusal[] = [
    {
        code: 'already_decided',
        arrange: async (h, fn) => {
            const { roleRequest } = h.sample.workItems;
            expect((await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: jamie })).status).toBe(200);
            return { action: 'reject', id: roleRequest.id, body: { approverEmail: jamie } };
        },
    },
    {
        code: 'no_longer_pending',
        arrange: async (h) => {
            h.simulator.complete(h.sample.workItems.roleRequest.id);
            return { action: 'approve', id: h.sample.workItems.roleRequest.id, body: { approverEmail: jamie } };
        },
    },
    {
        code: 'decision_in_progress',
        arrange: async (h) => {
            const record = (await h.app.store.get('iiq', h.sample.workItems.roleRequest.id))!;
            await h.app.store.update({ ...record, status: 'deciding', decidingSince: Date.now(), updatedAt: Date.now() });
            return { action: 'approve', id: record.id, body: { approverEmail: jamie } };
        },
    },
    {
        code: 'reassigned',
        arrange: async (h) => {
            h.simulator.reassign(h.sample.workItems.roleRequest.id, h.sample.people.bob.id);
            return { action: 'approve', id: h.sample.workItems.roleRequest.id, body: { approverEmail: jamie } };
        },
    },
    { code: 'not_approver', arrange: async (h) => ({ action: 'approve', id: h.sample.workItems.roleRequest.id, body: { approverEmail: bob } }) },
    {
        code: 'self_approval',
        arrange: async (h, fn) => {
            const { amy } = h.sample.people;
            const own = h.simulator.addWorkItem({ ownerId: amy.id, targetId: amy.id });
            await fn.pollNow();
            return { action: 'approve', id: own.id, body: { approverEmail: 'amy.cox@example.com' } };
        },
    },
    { code: 'unknown_approver', arrange: async (h) => ({ action: 'approve', id: h.sample.workItems.roleRequest.id, body: { approverEmail: 'nobody@example.com' } }) },
    { code: 'comment_required', arrange: async (h) => ({ action: 'comment', id: h.iscSample.approvals.roleRequest.id, body: { approverEmail: jamie } }) },
];

describe('refusals answered in the body (ACTION_REFUSALS_AS=body)', () => {
    let h: Harness;
    let fn: FunctionHost;
    const start = async (settings: Record<string, string> = BODY) => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, ...settings });
        await fn.pollNow();
    };
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });
    const approve = (id: string, body: unknown) => fn.post(`/api/approvals/${id}/approve`, body);

    it.each(REFUSALS.map((refusal) => [refusal.code, refusal] as const))('answers %s as 200 { outcome, message }', async (code, { arrange }) => {
        await start();
        const { action, id, body } = await arrange(h, fn);
        const answer = await fn.post(`/api/approvals/${id}/${action}`, body);
        expect(answer).toEqual({ status: 200, body: { outcome: code, message: expect.any(String) } });
        expect(answer.body.message.length).toBeGreaterThan(10);
    });

    it('answers a reject without the reason REQUIRE_REJECT_REASON asks for, and a comment over MAX_COMMENT_LENGTH, as outcomes too', async () => {
        await start({ ...BODY, REQUIRE_REJECT_REASON: 'true', MAX_COMMENT_LENGTH: '20' });
        const { roleRequest } = h.sample.workItems;
        expect(await fn.post(`/api/approvals/${roleRequest.id}/reject`, { approverEmail: jamie })).toEqual({ status: 200, body: { outcome: 'reason_required', message: expect.any(String) } });
        expect(await fn.post(`/api/approvals/${roleRequest.id}/reject`, { approverEmail: jamie, comment: 'x'.repeat(21) })).toEqual({
            status: 200,
            body: { outcome: 'comment_too_long', message: expect.any(String) },
        });
    });

    it('answers a refusal with its status by default (ACTION_REFUSALS_AS=status)', async () => {
        await start({});
        const answer = await approve(h.sample.workItems.roleRequest.id, { approverEmail: bob });
        expect(answer).toEqual({ status: 403, body: { error: { code: 'not_approver', message: expect.any(String) } } });
    });

    it('answers a decision as before', async () => {
        await start();
        const answer = await approve(h.sample.workItems.roleRequest.id, { approverEmail: jamie });
        expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'approved', approvalId: h.sample.workItems.roleRequest.id }) });
    });

    it('keeps 502 when IdentityIQ fails the write', async () => {
        await start();
        h.simulator.failNext('iiq.put', { status: 500 });
        const answer = await approve(h.sample.workItems.roleRequest.id, { approverEmail: jamie });
        expect([answer.status, answer.body.error.code]).toEqual([502, 'identityiq_failed']);
    });

    it('keeps 400 for a bad request', async () => {
        await start();
        const answer = await approve(h.sample.workItems.roleRequest.id, { approverEmail: 'not an email' });
        expect([answer.status, answer.body.error.code]).toEqual([400, 'invalid_email']);
    });

    it('records the refusal code in the audit trail', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        await approve(roleRequest.id, { approverEmail: bob });
        const { entries } = await h.app.audit.page({ approvalId: roleRequest.id, limit: 1 });
        expect(entries[0]).toMatchObject({ approverEmail: bob, status: 200, result: 'not_approver' });
    });

    it('replays a refusal answered in the body as it was answered', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        const click = () =>
            fetch(`${fn.url}/api/approvals/${roleRequest.id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify({ approverEmail: bob }) });
        const first = await click();
        h.simulator.reassign(roleRequest.id, h.sample.people.bob.id);
        const retry = await click();
        expect([retry.status, retry.headers.get('idempotent-replayed'), await retry.json()]).toEqual([200, 'true', await first.json()]);
        expect(h.simulator.decisions).toEqual([]);
    });

    it('lets a retry with the same key act after decision_in_progress was answered in the body', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        const key = randomUUID();
        const click = async () => {
            const response = await fetch(`${fn.url}/api/approvals/${roleRequest.id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify({ approverEmail: jamie }) });
            return (await response.json()) as { outcome?: string; status?: string };
        };
        const record = (await h.app.store.get('iiq', roleRequest.id))!;
        await h.app.store.update({ ...record, status: 'deciding', decidingSince: Date.now(), updatedAt: Date.now() });
        expect((await click()).outcome).toBe('decision_in_progress');
        const held = (await h.app.store.get('iiq', roleRequest.id))!;
        await h.app.store.update({ ...held, status: 'open', decidingSince: undefined });
        expect((await click()).status).toBe('approved');
        expect(h.simulator.decisions).toHaveLength(1);
    });

    it('describes both 200 answers in the OpenAPI document, and answers as it says', async () => {
        await start();
        const document = (await fn.get('/api/openapi.json')).body;
        expect(document.components.schemas.ActionOutcome).toMatchObject({ required: ['outcome', 'message'], properties: { outcome: { enum: [...REFUSAL_OUTCOMES] } } });
        for (const action of ['approve', 'reject', 'comment', 'reassign']) {
            expect(document.paths[`/approvals/{approvalId}/${action}`].post.responses['200'].content['application/json'].schema.oneOf).toEqual([
                { $ref: '#/components/schemas/ActionResult' },
                { $ref: '#/components/schemas/ActionOutcome' },
            ]);
        }
        const ajv = new Ajv2020({ strict: false });
        for (const [name, schema] of Object.entries(document.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
        const answer = document.paths['/approvals/{approvalId}/approve'].post.responses['200'].content['application/json'].schema;
        for (const body of [(await approve(h.sample.workItems.roleRequest.id, { approverEmail: bob })).body, (await approve(h.sample.workItems.roleRequest.id, { approverEmail: jamie })).body]) {
            expect([ajv.validate(answer, body), ajv.errorsText()]).toEqual([true, 'No errors']);
        }
    });
});

describe('refusals in the body with ISC_DECIDE_AS=user', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });

    it('answers connect_required as 200 { outcome, message, connectUrl }, and writes nothing', async () => {
        h = await startHarness({ simulator: { sources: ['isc'], iscServiceReadOnly: true } });
        fn = await startFunctionHost({
            ...h.settings,
            ...h.simulator.userOAuthSettings(),
            ...BODY,
            ISC_DECIDE_AS: 'user',
            PUBLIC_BASE_URL: 'https://approvals.example.com',
            USER_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        });
        await fn.pollNow();
        const answer = await fn.post(`/api/approvals/${h.iscSample.approvals.carolsRequest.id}/approve`, { approverEmail: 'carol.jones@example.com' });
        expect(answer).toEqual({
            status: 200,
            body: { outcome: 'connect_required', message: expect.stringMatching(/^Connect your SailPoint account once/), connectUrl: expect.stringMatching(/^https:\/\/approvals\.example\.com\/api\/connections\/isc\/connect\?ticket=/) },
        });
        expect(h.simulator.isc.writes).toEqual([]);
    });
});

describe('refusals in the body with caller tokens', () => {
    const app = callerApp();

    it('keeps 401 invalid_token for a request without a valid caller token', async () => {
        const id = await app.begin(BODY);
        const answer = await app.approve(id, undefined);
        expect([answer.status, answer.code, answer.challenge]).toEqual([401, 'invalid_token', 'Bearer error="invalid_token"']);
    });

    it('keeps 403 approver_mismatch when the body names someone other than the token', async () => {
        const id = await app.begin({ ...BODY, CALLER_USER_EMAIL_CLAIM: 'user_email' });
        const answer = await app.approve(id, await app.bearer({ user_email: 'carol.jones@example.com' }), { approverEmail: JAMIE });
        expect([answer.status, answer.code]).toEqual([403, 'approver_mismatch']);
    });
});
