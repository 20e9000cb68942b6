import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

describe('caller tokens that are unusual or hostile', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });
    const AUDIENCE = 'api://sailpoint-approvals';
    const jamie = 'jamie.rivera@example.com';
    const KEY = 'k3y';
    const begin = async (settings: Record<string, string> = {}) => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: KEY, CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE, ...settings });
        await fn.pollNow();
        return h.sample.workItems.roleRequest.id;
    };
    const token = (claims: Record<string, unknown> = {}, options = {}) => h.simulator.callers.mint({ sub: 'mw', aud: AUDIENCE, azp: 'moveworks-client', ...claims }, options);
    const post = async (path: string, headers: Record<string, string>, body?: string) => {
        const r = await fetch(`${fn.url}${path}`, { method: 'POST', headers: { 'x-functions-key': KEY, ...headers }, body });
        const t = await r.text();
        return { status: r.status, code: t ? JSON.parse(t)?.error?.code : undefined };
    };
    const approve = (id: string, auth: string | undefined, body: unknown = { approverEmail: jamie }, extra: Record<string, string> = {}, q = '') =>
        post(`/api/approvals/${id}/approve${q}`, { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}), ...extra }, JSON.stringify(body));
    const now = () => Math.floor(Date.now() / 1000);

    it('accepts the Bearer scheme in any letter case', async () => {
        const id = await begin();
        expect((await approve(id, `bearer ${await token()}`)).status).toBe(200);
    });
    it('answers 401 to a token sent in the query string instead of the Authorization header', async () => {
        const id = await begin();
        expect((await approve(id, undefined, undefined, {}, `?access_token=${await token()}`)).status).toBe(401);
    });
    it('accepts an aud list that holds the audience', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({ aud: ['x', AUDIENCE] })}`)).status).toBe(200);
    });
    it('answers 401 to an issuer that differs by a trailing slash (compared exactly)', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({ iss: h.simulator.callers.issuer + '/' })}`)).status).toBe(401);
    });
    it('answers 401 to a token without exp', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({ exp: undefined })}`)).status).toBe(401);
    });
    it('accepts nbf within the 60 s leeway and refuses it beyond', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({}, { notBefore: 90 })}`)).status).toBe(401);
        expect((await approve(id, `Bearer ${await token({}, { notBefore: 30 })}`)).status).toBe(200);
    });
    it('ignores keys a token names for itself (jwk, jku, x5u headers)', async () => {
        const id = await begin();
        await approve(id, `Bearer ${await token({ sub: 'warm' })}`, { approverEmail: 'nobody@example.com' });
        const { privateKey, publicKey } = await generateKeyPair('RS256');
        const jwk = await exportJWK(publicKey);
        const claims = { iss: h.simulator.callers.issuer, aud: AUDIENCE, sub: 'evil', exp: now() + 300 };
        for (const header of [{ alg: 'RS256', jwk }, { alg: 'RS256', kid: 'evil', jwk }, { alg: 'RS256', jku: 'http://127.0.0.1:1/jwks' }, { alg: 'RS256', x5u: 'http://127.0.0.1:1/x' }]) {
            const t = await new SignJWT(claims).setProtectedHeader(header as any).sign(privateKey);
            expect((await approve(id, `Bearer ${t}`)).status).toBe(401);
        }
    });
    it('answers 401 to a token with a critical header parameter the app does not understand', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({}, { header: { crit: ['approvals-policy'], 'approvals-policy': 1 } })}`)).status).toBe(401);
    });
    it('fetches the key set at most once for forty simultaneous tokens with unknown kids', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token()}`, { approverEmail: 'nobody@example.com' })).status).not.toBe(401);
        await new Promise((r) => setTimeout(r, 5200));
        const before = h.simulator.calls['caller.keys'];
        const tokens = await Promise.all(Array.from({ length: 40 }, () => token({}, { unpublishedKey: true })));
        const answers = await Promise.all(tokens.map((t) => approve(id, `Bearer ${t}`)));
        expect(answers.every((a) => a.status === 401)).toBe(true);
        expect(h.simulator.calls['caller.keys'] - before).toBeLessThanOrEqual(1);
    });
    describe('claim', () => {
        const claim = { CALLER_USER_EMAIL_CLAIM: 'user_email' };
        it('answers 401 to an email claim that is a list', async () => {
            const id = await begin(claim);
            expect((await approve(id, `Bearer ${await token({ user_email: [jamie] })}`, {})).status).toBe(401);
        });
        it('reads the email claim regardless of letter case and surrounding spaces', async () => {
            const id = await begin(claim);
            expect((await approve(id, `Bearer ${await token({ user_email: '  JAMIE.Rivera@example.com ' })}`, {})).status).toBe(200);
        });
        it('answers 401 to an email claim with a look-alike Unicode letter', async () => {
            const id = await begin(claim);
            expect((await approve(id, `Bearer ${await token({ user_email: 'jamie.rivera@example.\u212Aom' })}`, {})).status).toBe(401);
        });
        it('answers 403 approver_mismatch to a ?user_email= naming someone else, and writes nothing', async () => {
            const id = await begin(claim);
            expect(await approve(id, `Bearer ${await token({ user_email: jamie })}`, {}, {}, '?user_email=carol.jones@example.com')).toEqual({ status: 403, code: 'approver_mismatch' });
            expect(h.simulator.decisions).toEqual([]);
        });
        it('accepts the guide\'s query form with no body alongside the claim', async () => {
            const id = await begin(claim);
            expect((await post(`/api/approvals/${id}/approve?user_email=${jamie}`, { authorization: `Bearer ${await token({ user_email: jamie })}` })).status).toBe(200);
        });
    });
    it('answers 403 caller_not_allowed when roles is a string, not a list', async () => {
        const id = await begin({ CALLER_REQUIRED_ROLE: 'Approvals.Act' });
        expect((await approve(id, `Bearer ${await token({ roles: 'Approvals.Act' })}`)).code).toBe('caller_not_allowed');
    });
    it('takes the client from azp before appid', async () => {
        const id = await begin({ CALLER_ALLOWED_CLIENT_IDS: 'good' });
        expect((await approve(id, `Bearer ${await token({ azp: 'bad', appid: 'good' })}`)).code).toBe('caller_not_allowed');
    });
    it('answers 415 to a body that is not sent as JSON, whatever the letter case of a JSON one', async () => {
        const id = await begin();
        const t = `Bearer ${await token()}`;
        expect((await post(`/api/approvals/${id}/approve`, { authorization: t, 'content-type': 'application/json-patch+json' }, JSON.stringify({ approverEmail: jamie }))).status).toBe(415);
        expect((await post(`/api/approvals/${id}/approve`, { authorization: t, 'content-type': 'text/plain' }, JSON.stringify({ approverEmail: jamie }))).status).toBe(415);
        expect((await post(`/api/approvals/${id}/approve`, { authorization: t, 'content-type': 'Application/JSON; charset=utf-8' }, JSON.stringify({ approverEmail: jamie }))).status).toBe(200);
    });
    it('accepts the guide\'s query form with no body and no Content-Type', async () => {
        const id = await begin();
        expect((await post(`/api/approvals/${id}/approve?user_email=${jamie}`, { authorization: `Bearer ${await token()}` })).status).toBe(200);
    });
    it('serves GET /api/approvals for the approverEmail asked when no email claim is configured', async () => {
        await begin();
        const r = await fetch(`${fn.url}/api/approvals?approverEmail=${jamie}`, { headers: { 'x-functions-key': KEY, authorization: `Bearer ${await token()}` } });
        expect(r.status).toBe(200);
    });
});
describe('caller tokens on comment and reassign', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });
    it('asks comment and reassign for the token and hold them to its claim', async () => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'k', CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: 'a', CALLER_USER_EMAIL_CLAIM: 'e' });
        await fn.pollNow();
        const id = h.iscSample.approvals.roleRequest.id;
        for (const action of ['comment', 'reassign']) {
            const r = await fetch(`${fn.url}/api/approvals/${id}/${action}`, { method: 'POST', headers: { 'x-functions-key': 'k', 'content-type': 'application/json' }, body: JSON.stringify({ approverEmail: 'x@example.com', comment: 'c', reassignToEmail: 'y@example.com' }) });
            expect(r.status).toBe(401);
            const t = await h.simulator.callers.mint({ aud: 'a', e: 'z@example.com' });
            const r2 = await fetch(`${fn.url}/api/approvals/${id}/${action}`, { method: 'POST', headers: { 'x-functions-key': 'k', 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: JSON.stringify({ approverEmail: 'x@example.com', comment: 'c', reassignToEmail: 'y@example.com' }) });
            expect(r2.status).toBe(403);
        }
    });
});
