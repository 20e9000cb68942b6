import { generateKeyPair, exportJWK, SignJWT } from 'jose';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

describe('review3 probes', () => {
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
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = () => Math.floor(Date.now() / 1000);

    it('lowercase bearer accepted', async () => {
        const id = await begin();
        expect((await approve(id, `bearer ${await token()}`)).status).toBe(200);
    });
    it('token in query refused', async () => {
        const id = await begin();
        expect((await approve(id, undefined, undefined, {}, `?access_token=${await token()}`)).status).toBe(401);
    });
    it('aud array with ours accepted', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({ aud: ['x', AUDIENCE] })}`)).status).toBe(200);
    });
    it('iss with trailing slash refused', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({ iss: h.simulator.callers.issuer + '/' })}`)).status).toBe(401);
    });
    it('missing exp refused', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({ exp: undefined })}`)).status).toBe(401);
    });
    it('nbf +30 accepted, +90 refused', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token({}, { notBefore: 90 })}`)).status).toBe(401);
        expect((await approve(id, `Bearer ${await token({}, { notBefore: 30 })}`)).status).toBe(200);
    });
    it('embedded jwk / jku / x5u headers ignored', async () => {
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
    it('crit header refused', async () => {
        const id = await begin();
        const t = await token();
        const [hd, p, s] = t.split('.');
        const header = JSON.parse(Buffer.from(hd, 'base64url').toString());
        // a genuinely signed token carrying crit
        const key = (h.simulator.callers as any).keys[0].privateKey;
        const crit = await new SignJWT(JSON.parse(Buffer.from(p, 'base64url').toString())).setProtectedHeader({ ...header, crit: ['exp2'], exp2: 1 } as any).sign(key).catch(() => undefined);
        void s;
        if (crit) expect((await approve(id, `Bearer ${crit}`)).status).toBe(401);
        else {
            const raw = `${b64({ ...header, crit: ['exp2'], exp2: 1 })}.${p}.${s}`;
            expect((await approve(id, `Bearer ${raw}`)).status).toBe(401);
        }
    });
    it('parallel unknown kids: bounded key-set fetches', async () => {
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
        it('claim array refused', async () => {
            const id = await begin(claim);
            expect((await approve(id, `Bearer ${await token({ user_email: [jamie] })}`, {})).status).toBe(401);
        });
        it('claim upper/whitespace normalised', async () => {
            const id = await begin(claim);
            expect((await approve(id, `Bearer ${await token({ user_email: '  JAMIE.Rivera@example.com ' })}`, {})).status).toBe(200);
        });
        it('claim unicode kelvin refused', async () => {
            const id = await begin(claim);
            expect((await approve(id, `Bearer ${await token({ user_email: 'jamie.rivera@example.\u212Aom' })}`, {})).status).toBe(401);
        });
        it('user_email query mismatch -> 403', async () => {
            const id = await begin(claim);
            expect(await approve(id, `Bearer ${await token({ user_email: jamie })}`, {}, {}, '?user_email=carol.jones@example.com')).toEqual({ status: 403, code: 'approver_mismatch' });
            expect(h.simulator.decisions).toEqual([]);
        });
        it('query form, no body, no content-type, claim', async () => {
            const id = await begin(claim);
            expect((await post(`/api/approvals/${id}/approve?user_email=${jamie}`, { authorization: `Bearer ${await token({ user_email: jamie })}` })).status).toBe(200);
        });
    });
    it('roles as string -> 403', async () => {
        const id = await begin({ CALLER_REQUIRED_ROLE: 'Approvals.Act' });
        expect((await approve(id, `Bearer ${await token({ roles: 'Approvals.Act' })}`)).code).toBe('caller_not_allowed');
    });
    it('azp wins over appid', async () => {
        const id = await begin({ CALLER_ALLOWED_CLIENT_IDS: 'good' });
        expect((await approve(id, `Bearer ${await token({ azp: 'bad', appid: 'good' })}`)).code).toBe('caller_not_allowed');
    });
    it('415 rules', async () => {
        const id = await begin();
        const t = `Bearer ${await token()}`;
        expect((await post(`/api/approvals/${id}/approve`, { authorization: t, 'content-type': 'application/json-patch+json' }, JSON.stringify({ approverEmail: jamie }))).status).toBe(415);
        expect((await post(`/api/approvals/${id}/approve`, { authorization: t, 'content-type': 'text/plain' }, JSON.stringify({ approverEmail: jamie }))).status).toBe(415);
        expect((await post(`/api/approvals/${id}/approve`, { authorization: t, 'content-type': 'Application/JSON; charset=utf-8' }, JSON.stringify({ approverEmail: jamie }))).status).toBe(200);
    });
    it('query form without body or content-type works', async () => {
        const id = await begin();
        expect((await post(`/api/approvals/${id}/approve?user_email=${jamie}`, { authorization: `Bearer ${await token()}` })).status).toBe(200);
    });
    it('GET approvals without claim setting: any approverEmail readable (by design)', async () => {
        await begin();
        const r = await fetch(`${fn.url}/api/approvals?approverEmail=${jamie}`, { headers: { 'x-functions-key': KEY, authorization: `Bearer ${await token()}` } });
        expect(r.status).toBe(200);
    });
});
describe('review3 probes 2', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });
    it('comment and reassign ask for the token and the claim', async () => {
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
