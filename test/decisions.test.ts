import { connectionStringFor, freePort } from '../dev/azurite';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

describe('approving and rejecting from chat', () => {
    let h: Harness;
    let fn: FunctionHost;
    const start = async (settings: Record<string, string> = {}) => {
        h = await startHarness({ settings });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
    };
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });
    const approve = (id: string, body: unknown) => fn.post(`/api/approvals/${id}/approve`, body);
    const reject = (id: string, body: unknown) => fn.post(`/api/approvals/${id}/reject`, body);

    it('approves in IdentityIQ as the owner, with the comment', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        const answer = await approve(roleRequest.id, { approverEmail: 'Jamie.Rivera@example.com', comment: 'Looks good' });
        expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'approved', approvalId: roleRequest.id }) });
        expect(h.simulator.decisions).toEqual([expect.objectContaining({ workItemId: roleRequest.id, approverId: h.sample.people.jamie.id, state: 'Finished', comment: 'Looks good' })]);
    });

    it('rejects in IdentityIQ with the reason', async () => {
        await start();
        const { removal } = h.sample.workItems;
        const answer = await reject(removal.id, { approverEmail: 'carol.jones@example.com', comment: 'Not needed' });
        expect(answer.body).toMatchObject({ status: 'rejected', approvalId: removal.id });
        expect(h.simulator.decisions).toEqual([expect.objectContaining({ approverId: h.sample.people.carol.id, state: 'Rejected', comment: 'Not needed' })]);
    });

    it("accepts the guide's query form (user_email, reason)", async () => {
        await start();
        const { removal } = h.sample.workItems;
        const answer = await fn.post(`/api/approvals/${removal.id}/reject?user_email=carol.jones%40example.com&reason=Not%20needed`);
        expect(answer.status).toBe(200);
        expect(h.simulator.decisions[0]).toMatchObject({ state: 'Rejected', comment: 'Not needed' });
    });

    it('lets a member of the owner workgroup decide', async () => {
        await start();
        const answer = await approve(h.sample.workItems.entitlementRequest.id, { approverEmail: 'carol.jones@example.com' });
        expect(answer.status).toBe(200);
        expect(h.simulator.decisions[0].approverId).toBe(h.sample.people.carol.id);
    });

    it('refuses someone who is not the approver, and nothing reaches IdentityIQ', async () => {
        await start();
        const answer = await approve(h.sample.workItems.roleRequest.id, { approverEmail: 'bob.smith@example.com' });
        expect(answer).toEqual({ status: 403, body: { error: { code: 'not_approver', message: expect.any(String) } } });
        expect(h.simulator.calls['iiq.put']).toBe(0);
    });

    it('refuses an email that belongs to no IdentityIQ identity', async () => {
        await start();
        const answer = await approve(h.sample.workItems.roleRequest.id, { approverEmail: 'nobody@example.com' });
        expect(answer.status).toBe(403);
        expect(answer.body.error.code).toBe('unknown_approver');
    });

    it('refuses an email shared by two identities', async () => {
        await start();
        h.simulator.addIdentity({ name: 'Jamie.Rivera2', email: 'jamie.rivera@example.com' });
        const answer = await approve(h.sample.workItems.roleRequest.id, { approverEmail: 'jamie.rivera@example.com' });
        expect(answer.status).toBe(403);
        expect(answer.body.error.code).toBe('ambiguous_approver');
        expect(h.simulator.calls['iiq.put']).toBe(0);
    });

    it('refuses to let someone decide a request for their own access', async () => {
        await start();
        const amy = h.sample.people.amy;
        const own = h.simulator.addWorkItem({ ownerId: amy.id, targetId: amy.id });
        await fn.pollNow();
        const answer = await approve(own.id, { approverEmail: 'amy.cox@example.com' });
        expect(answer.status).toBe(403);
        expect(answer.body.error.code).toBe('self_approval');
    });

    it('refuses to let someone decide a request they made themselves', async () => {
        await start();
        const { bob, amy } = h.sample.people;
        const theirs = h.simulator.addWorkItem({ ownerId: bob.id, requesterId: bob.id, targetId: amy.id });
        await fn.pollNow();
        const answer = await approve(theirs.id, { approverEmail: 'bob.smith@example.com' });
        expect(answer.status).toBe(403);
        expect(answer.body.error.code).toBe('self_approval');
        expect(h.simulator.calls['iiq.put']).toBe(0);
    });

    it('answers 404 for an approval this app never notified', async () => {
        await start();
        const unknown = h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id });
        expect((await approve(unknown.id, { approverEmail: 'jamie.rivera@example.com' })).status).toBe(404);
        expect((await approve('not-an-id', { approverEmail: 'jamie.rivera@example.com' })).body.error.code).toBe('not_found');
        expect(h.simulator.calls['iiq.put']).toBe(0);
    });

    it('answers 409 when the approval was already decided through this app', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        await approve(roleRequest.id, { approverEmail: 'jamie.rivera@example.com' });
        const again = await reject(roleRequest.id, { approverEmail: 'jamie.rivera@example.com' });
        expect(again).toEqual({ status: 409, body: { error: { code: 'already_decided', message: expect.stringContaining('approved') } } });
        expect(h.simulator.decisions).toHaveLength(1);
    });

    it('answers 409 when the approval was completed inside IdentityIQ', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        h.simulator.complete(roleRequest.id);
        const answer = await approve(roleRequest.id, { approverEmail: 'jamie.rivera@example.com' });
        expect(answer.status).toBe(409);
        expect(answer.body.error.code).toBe('no_longer_pending');
        expect(h.simulator.calls['iiq.put']).toBe(0);
    });

    it('answers 409 to the former owner of a reassigned approval, and lets the new owner decide', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        h.simulator.reassign(roleRequest.id, h.sample.people.bob.id);
        const former = await approve(roleRequest.id, { approverEmail: 'jamie.rivera@example.com' });
        expect(former.status).toBe(409);
        expect(former.body.error.code).toBe('reassigned');
        expect((await approve(roleRequest.id, { approverEmail: 'bob.smith@example.com' })).status).toBe(200);
    });

    it('answers 502 when IdentityIQ fails the write, leaves the approval open, and the retry succeeds', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        h.simulator.failNext('iiq.put', { status: 500 });
        const failed = await approve(roleRequest.id, { approverEmail: 'jamie.rivera@example.com' });
        expect(failed.status).toBe(502);
        expect(failed.body.error.message).toMatch(/IdentityIQ/);
        expect(h.simulator.workItems.has(roleRequest.id)).toBe(true);
        expect((await approve(roleRequest.id, { approverEmail: 'jamie.rivera@example.com' })).status).toBe(200);
        expect(h.simulator.decisions).toHaveLength(1);
    });

    it('answers 502 with the cause when the plugin refuses writes', async () => {
        await start();
        h.simulator.allowWrites = false;
        const answer = await approve(h.sample.workItems.roleRequest.id, { approverEmail: 'jamie.rivera@example.com' });
        expect(answer.status).toBe(502);
        expect(answer.body.error.message).toMatch(/allowWrites/);
    });

    it('sends exactly one decision to IdentityIQ when twenty clicks arrive at once', async () => {
        await start();
        h.simulator.latencyMs = 20;
        const { entitlementRequest } = h.sample.workItems;
        const clicks = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
                (i % 2 ? approve : reject)(entitlementRequest.id, { approverEmail: i % 3 ? 'carol.jones@example.com' : 'jamie.rivera@example.com' }),
            ),
        );
        expect(clicks.filter((click) => click.status === 200)).toHaveLength(1);
        expect(clicks.filter((click) => click.status === 409)).toHaveLength(19);
        expect(h.simulator.decisions).toHaveLength(1);
    });

    describe('bad input answers 400', () => {
        beforeEach(() => start({ REQUIRE_REJECT_REASON: 'true', MAX_COMMENT_LENGTH: '50' }));
        const id = () => h.sample.workItems.roleRequest.id;

        it.each([
            ['bad JSON', '{"approverEmail":', 'invalid_json'],
            ['a missing email', {}, 'missing_email'],
            ['a malformed email', { approverEmail: 'not-an-email' }, 'invalid_email'],
            ['an email built to change the IdentityIQ filter', { approverEmail: 'x" || email.notNull() || email=="y@example.com' }, 'invalid_email'],
            ['an over-long comment', { approverEmail: 'jamie.rivera@example.com', comment: 'x'.repeat(51) }, 'comment_too_long'],
            ['a non-string comment', { approverEmail: 'jamie.rivera@example.com', comment: 42 }, 'invalid_request'],
        ])('for %s', async (_, body, code) => {
            const answer = await approve(id(), body);
            expect(answer).toEqual({ status: 400, body: { error: { code, message: expect.any(String) } } });
        });

        it('for a body over 64 KiB (and the local host refuses one over 1 MiB with 413)', async () => {
            const big = await approve(id(), { approverEmail: 'jamie.rivera@example.com', comment: 'x'.repeat(70_000) });
            expect(big.body.error.code).toBe('invalid_request');
            const huge = await fetch(`${fn.url}/api/approvals/${id()}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(1_100_000) });
            expect(huge.status).toBe(413);
            expect(h.simulator.calls['iiq.put']).toBe(0);
        });

        it('for a rejection without a reason when REQUIRE_REJECT_REASON is on', async () => {
            const answer = await reject(id(), { approverEmail: 'jamie.rivera@example.com' });
            expect(answer.body.error.code).toBe('reason_required');
            expect(answer.status).toBe(400);
            expect(h.simulator.calls['iiq.put']).toBe(0);
        });
    });
});

describe('function keys', () => {
    let h: Harness;
    let fn: FunctionHost;
    beforeEach(async () => {
        h = await startHarness({ settings: { FUNCTION_KEY: 'k3y' } });
        fn = await startFunctionHost(h.settings);
    });
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    it('answers 401 without the key, or with a wrong one', async () => {
        const path = `${fn.url}/api/approvals/${h.sample.workItems.roleRequest.id}/approve`;
        for (const headers of [{}, { 'x-functions-key': 'wrong' }] as Record<string, string>[]) {
            const response = await fetch(path, { method: 'POST', headers, body: '{}' });
            expect(response.status).toBe(401);
            expect(await response.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
        }
    });

    it('accepts the key as x-functions-key or ?code=', async () => {
        await fn.pollNow();
        const { roleRequest, removal } = h.sample.workItems;
        expect((await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' })).status).toBe(200);
        const byQuery = await fetch(`${fn.url}/api/approvals/${removal.id}/approve?code=k3y`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"approverEmail":"carol.jones@example.com"}' });
        expect(byQuery.status).toBe(200);
    });

    it('answers 415 to an action body that is not sent as JSON, as a cross-site form would send it, and acts on nothing', async () => {
        await fn.pollNow();
        const { roleRequest } = h.sample.workItems;
        const response = await fetch(`${fn.url}/api/approvals/${roleRequest.id}/reject?code=k3y`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"approverEmail":"jamie.rivera@example.com"}' });
        expect(response.status).toBe(415);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
        expect(h.simulator.decisions).toEqual([]);
    });

    it('guards the admin endpoint with the same key', async () => {
        const response = await fetch(`${fn.url}/admin/functions/pollApprovals`, { method: 'POST', body: '{"input":""}' });
        expect(response.status).toBe(401);
    });

    it('serves health without a key, naming the configured sources and no secrets', async () => {
        const response = await fetch(`${fn.url}/api/health`);
        expect(response.status).toBe(200);
        const text = await response.text();
        expect(JSON.parse(text)).toMatchObject({ status: 'ok', sources: { iiq: { configured: true } } });
        for (const secret of [h.settings.IIQ_CLIENT_SECRET, h.settings.MOVEWORKS_API_KEY, 'k3y']) expect(text).not.toContain(secret);
    });
});

describe('when the state table is down', () => {
    it('answers 503 storage_unavailable and decides nothing', async () => {
        const h = await startHarness({ settings: { AzureWebJobsStorage: connectionStringFor(await freePort()) } });
        const fn = await startFunctionHost(h.settings);
        try {
            const answer = await fn.post(`/api/approvals/${h.sample.workItems.roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
            expect(answer).toEqual({ status: 503, body: { error: { code: 'storage_unavailable', message: expect.any(String) } } });
            expect(h.simulator.calls['iiq.put']).toBe(0);
        } finally {
            await fn.stop();
            await h.stop();
        }
    });
});
