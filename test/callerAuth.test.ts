import { createHmac } from 'node:crypto';
import { exportSPKI, importJWK, KeyLike } from 'jose';
import { REFETCH_COOLDOWN_MS } from '../shared/callers/callerAuth';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

describe('signed caller tokens', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    const AUDIENCE = 'api://sailpoint-approvals';
    const jamie = 'jamie.rivera@example.com';
    /** IdentityIQ and the simulator's token issuer; caller tokens on, with `settings` on top. */
    const begin = async (settings: Record<string, string> = {}) => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE, ...settings });
        await fn.pollNow();
        return h.sample.workItems.roleRequest.id;
    };
    const token = (claims: Record<string, unknown> = {}, options = {}) => h.simulator.callers.mint({ sub: 'moveworks-connector', aud: AUDIENCE, azp: 'moveworks-client', ...claims }, options);
    /** POST an approve with this Authorization header (or none), answering status, body and WWW-Authenticate. */
    const approve = async (id: string, authorization: string | undefined, body: Record<string, unknown> = { approverEmail: jamie }) => {
        const response = await fetch(`${fn.url}/api/approvals/${id}/approve`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
            body: JSON.stringify(body),
        });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : undefined, challenge: response.headers.get('www-authenticate') };
    };
    const bearer = async (claims?: Record<string, unknown>, options?: object) => `Bearer ${await token(claims, options)}`;
    const refused = (answer: { status: number; body: { error: { code: string } }; challenge: string | null }) => ({
        status: answer.status,
        code: answer.body.error.code,
        challenge: answer.challenge,
    });
    const invalidToken = { status: 401, code: 'invalid_token', challenge: 'Bearer error="invalid_token"' };

    it('accepts a valid token and acts', async () => {
        const id = await begin();
        expect((await approve(id, await bearer())).status).toBe(200);
        expect(h.simulator.decisions).toHaveLength(1);
    });

    it('answers 401 with a Bearer challenge, and writes nothing, when there is no token', async () => {
        const id = await begin();
        expect(refused(await approve(id, undefined))).toEqual(invalidToken);
        expect(h.simulator.decisions).toEqual([]);
    });

    it.each([
        ['has expired (beyond the 60 s leeway)', {}, { expiresIn: -90 }],
        ['is not valid yet', {}, { notBefore: 300 }],
        ['is for another audience', { aud: 'api://something-else' }, {}],
        ['comes from another issuer', { iss: 'https://login.example.com/other' }, {}],
        ['is signed with a key the issuer never published', {}, { unpublishedKey: true }],
    ])('answers 401 to a token that %s', async (_label, claims, options) => {
        const id = await begin();
        expect(refused(await approve(id, await bearer(claims, options)))).toEqual(invalidToken);
        expect(h.simulator.decisions).toEqual([]);
    });

    it('accepts a token that expired within the 60 s leeway', async () => {
        const id = await begin();
        expect((await approve(id, await bearer({}, { expiresIn: -30 }))).status).toBe(200);
    });

    it('accepts ES256 as well as RS256', async () => {
        const id = await begin();
        expect((await approve(id, await bearer({}, { alg: 'ES256' }))).status).toBe(200);
    });

    it('answers 401 to an unsigned token (alg none)', async () => {
        const id = await begin();
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const unsigned = `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: h.simulator.callers.issuer, aud: AUDIENCE, sub: 'x', exp: now + 300 })}.`;
        expect(refused(await approve(id, `Bearer ${unsigned}`))).toEqual(invalidToken);
    });

    it("answers 401 to a token signed with HS256 using the issuer's public key as the secret", async () => {
        const id = await begin();
        await approve(id, await bearer());
        const pem = await exportSPKI((await importJWK(await h.simulator.callers.publicJwk(), 'RS256')) as KeyLike);
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iss: h.simulator.callers.issuer, aud: AUDIENCE, sub: 'x', exp: now + 300 })}`;
        const forged = `${unsigned}.${createHmac('sha256', pem).update(unsigned).digest('base64url')}`;
        const second = h.sample.workItems.removal.id;
        expect(refused(await approve(second, `Bearer ${forged}`, { approverEmail: 'carol.jones@example.com' }))).toEqual(invalidToken);
    });

    it('answers 401 to a token whose payload was changed after signing', async () => {
        const id = await begin();
        const [header, , signature] = (await token()).split('.');
        const payload = Buffer.from(JSON.stringify({ iss: h.simulator.callers.issuer, aud: AUDIENCE, sub: 'someone-else', exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url');
        expect(refused(await approve(id, `Bearer ${header}.${payload}.${signature}`))).toEqual(invalidToken);
    });

    it('follows a key rotation: a token signed with a new key is accepted once the key set may be fetched again', async () => {
        const id = await begin();
        const other = h.sample.workItems.removal.id;
        expect((await approve(id, await bearer())).status).toBe(200);
        await h.simulator.callers.rotate();
        const newKey = await bearer();
        expect(refused(await approve(other, newKey, { approverEmail: 'carol.jones@example.com' }))).toEqual(invalidToken);
        await new Promise((resolve) => setTimeout(resolve, REFETCH_COOLDOWN_MS + 200));
        expect((await approve(other, newKey, { approverEmail: 'carol.jones@example.com' })).status).toBe(200);
        expect(h.simulator.callers.keySetFetches).toBe(2);
    });

    it('never accepts a token while the key set cannot be fetched', async () => {
        const id = await begin();
        h.simulator.callers.down = true;
        const answer = await approve(id, await bearer());
        expect([401, 503]).toContain(answer.status);
        expect(h.simulator.decisions).toEqual([]);
    });

    it('finds the key set through the issuer OpenID configuration, or at CALLER_JWKS_URL', async () => {
        const id = await begin();
        expect((await approve(id, await bearer())).status).toBe(200);
        expect(h.simulator.calls['caller.configuration']).toBe(1);
        await fn.stop();
        fn = await startFunctionHost({ ...h.settings, CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE, CALLER_JWKS_URL: h.simulator.callers.jwksUrl });
        expect((await approve(h.sample.workItems.removal.id, await bearer(), { approverEmail: 'carol.jones@example.com' })).status).toBe(200);
        expect(h.simulator.calls['caller.configuration']).toBe(1);
    });

    it('answers 403 caller_not_allowed to a client not in CALLER_ALLOWED_CLIENT_IDS, and accepts one that is (azp or appid)', async () => {
        const id = await begin({ CALLER_ALLOWED_CLIENT_IDS: 'moveworks-client, other-client' });
        expect(refused(await approve(id, await bearer({ azp: 'intruder' })))).toEqual({ status: 403, code: 'caller_not_allowed', challenge: null });
        expect((await approve(id, await bearer({ azp: undefined, appid: 'other-client' }))).status).toBe(200);
    });

    it('answers 403 caller_not_allowed to a token without CALLER_REQUIRED_ROLE', async () => {
        const id = await begin({ CALLER_REQUIRED_ROLE: 'Approvals.Act' });
        expect(refused(await approve(id, await bearer({ roles: ['Something.Else'] })))).toEqual({ status: 403, code: 'caller_not_allowed', challenge: null });
        expect((await approve(id, await bearer({ roles: ['Approvals.Act'] }))).status).toBe(200);
    });

    describe('the approver from a signed claim (CALLER_USER_EMAIL_CLAIM)', () => {
        const claim = { CALLER_USER_EMAIL_CLAIM: 'user_email' };

        it('acts as the person the claim names, with no approverEmail in the body', async () => {
            const id = await begin(claim);
            expect((await approve(id, await bearer({ user_email: 'Jamie.Rivera@Example.com' }), {})).status).toBe(200);
        });

        it('answers 403 approver_mismatch, and writes nothing, when the body names someone else', async () => {
            const id = await begin(claim);
            const answer = await approve(id, await bearer({ user_email: 'carol.jones@example.com' }), { approverEmail: jamie });
            expect([answer.status, answer.body.error.code]).toEqual([403, 'approver_mismatch']);
            expect(h.simulator.decisions).toEqual([]);
        });

        it('accepts a body that names the same person in other letter case', async () => {
            const id = await begin(claim);
            expect((await approve(id, await bearer({ user_email: jamie }), { approverEmail: 'JAMIE.RIVERA@example.com' })).status).toBe(200);
        });

        it('answers 401 to a token without the claim', async () => {
            const id = await begin(claim);
            expect(refused(await approve(id, await bearer()))).toEqual(invalidToken);
        });

        it('shows a person only their own pending list', async () => {
            await begin(claim);
            const list = async (query: string, email: string) => {
                const response = await fetch(`${fn.url}/api/approvals${query}`, { headers: { authorization: await bearer({ user_email: email }) } });
                return { status: response.status, body: (await response.json()) as any };
            };
            const own = await list('', 'carol.jones@example.com');
            expect(own.status).toBe(200);
            expect(own.body.approvals.length).toBeGreaterThan(0);
            expect((await list(`?approverEmail=${jamie}`, 'carol.jones@example.com')).body.error.code).toBe('approver_mismatch');
        });

        it('records in the audit entry the caller and that the approver came from the claim', async () => {
            const id = await begin(claim);
            await approve(id, await bearer({ user_email: jamie }), {});
            const { entries } = await h.newApp({ CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE }).audit.page({ approvalId: id, limit: 5 });
            expect(entries[0]).toMatchObject({ approverEmail: jamie, callerSubject: 'moveworks-connector', callerClientId: 'moveworks-client', approverFromClaim: true });
        });
    });

    it('keeps health and the OpenAPI document anonymous, and the document declares the bearer scheme', async () => {
        await begin();
        expect((await fetch(`${fn.url}/api/health`)).status).toBe(200);
        const document = (await (await fetch(`${fn.url}/api/openapi.json`)).json()) as { components: { securitySchemes: Record<string, { type: string; scheme?: string }> } };
        expect(Object.values(document.components.securitySchemes)).toContainEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    });

    it('asks for GET /api/approvals too', async () => {
        await begin();
        const response = await fetch(`${fn.url}/api/approvals?approverEmail=${jamie}`);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    });
});
