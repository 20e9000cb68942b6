import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/** A refused attempt is the one an operator most wants attributed: the audit entry names the token's caller. */
describe('caller tokens: audit of refused callers', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });
    const AUDIENCE = 'api://sailpoint-approvals';
    const settings = () => ({ CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE });

    it('records the sub and client of a token refused with 403 caller_not_allowed', async () => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'k3y', ...settings(), CALLER_ALLOWED_CLIENT_IDS: 'moveworks-client' });
        await fn.pollNow();
        const id = h.sample.workItems.roleRequest.id;
        const token = await h.simulator.callers.mint({ sub: 'intruder-sp', aud: AUDIENCE, azp: 'intruder-client' });
        const response = await fetch(`${fn.url}/api/approvals/${id}/approve`, {
            method: 'POST',
            headers: { 'x-functions-key': 'k3y', 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ approverEmail: 'jamie.rivera@example.com' }),
        });
        expect(response.status).toBe(403);
        const { entries } = await h.newApp(settings()).audit.page({ approvalId: id, limit: 5 });
        expect(entries[0]).toMatchObject({ result: 'caller_not_allowed', callerSubject: 'intruder-sp', callerClientId: 'intruder-client' });
    });

    it('records who the token named on a 403 approver_mismatch, since it says the approver came from the claim', async () => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'k3y', ...settings(), CALLER_USER_EMAIL_CLAIM: 'user_email' });
        await fn.pollNow();
        const id = h.sample.workItems.roleRequest.id;
        const token = await h.simulator.callers.mint({ sub: 'mw', aud: AUDIENCE, azp: 'moveworks-client', user_email: 'carol.jones@example.com' });
        const response = await fetch(`${fn.url}/api/approvals/${id}/approve`, {
            method: 'POST',
            headers: { 'x-functions-key': 'k3y', 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ approverEmail: 'jamie.rivera@example.com' }),
        });
        expect(response.status).toBe(403);
        const { entries } = await h.newApp(settings()).audit.page({ approvalId: id, limit: 5 });
        expect(entries[0]).toMatchObject({ result: 'approver_mismatch', approverFromClaim: true, approverEmail: 'carol.jones@example.com' });
    });
});
