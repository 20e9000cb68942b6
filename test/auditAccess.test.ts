import { AUDIENCE, JAMIE } from './support/callerApp';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

describe('reading the audit trail without the master key', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    const READER_KEY = 'audit-reader-key-0123456789abcdef0123456789';
    /** Keys on, one approval approved, so the audit trail has an entry; `settings` on top. */
    const begin = async (settings: Record<string, string> = {}) => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'moveworks-function-key', MASTER_KEY: 'the-master-key', ...settings });
        await fn.pollNow();
        const id = h.sample.workItems.roleRequest.id;
        expect((await fn.post(`/api/approvals/${id}/approve`, { approverEmail: JAMIE })).status).toBe(200);
        return id;
    };
    const beginWithTokens = async (settings: Record<string, string> = {}) => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'moveworks-function-key', CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE, CALLER_ADMIN_ROLE: 'Audit.Read', ...settings });
        await fn.pollNow();
    };
    const bearer = async (claims: Record<string, unknown> = {}, options = {}) => ({
        authorization: `Bearer ${await h.simulator.callers.mint({ sub: 'audit-tool', aud: AUDIENCE, azp: 'audit-client', ...claims }, options)}`,
    });
    /** GET /api/audit/delegated with only these headers: no function key. */
    const delegated = async (headers: Record<string, string>, query = '') => {
        const response = await fetch(`${fn.url}/api/audit/delegated${query}`, { headers });
        return { status: response.status, body: (await response.json()) as any, challenge: response.headers.get('www-authenticate') };
    };

    it('still answers GET /api/audit with the master key', async () => {
        const id = await begin({ AUDIT_READER_KEY: READER_KEY });
        const answer = await fn.get(`/api/audit?approvalId=${id}`, { 'x-functions-key': 'the-master-key' });
        expect(answer.status).toBe(200);
        expect(answer.body.entries[0]).toMatchObject({ approvalId: id, action: 'approve' });
    });

    it('gives the same entries to the holder of AUDIT_READER_KEY, without any function key', async () => {
        const id = await begin({ AUDIT_READER_KEY: READER_KEY });
        const master = await fn.get(`/api/audit?approvalId=${id}`, { 'x-functions-key': 'the-master-key' });
        const reader = await delegated({ 'x-audit-key': READER_KEY }, `?approvalId=${id}`);
        expect(reader.status).toBe(200);
        expect(reader.body).toEqual(master.body);
    });

    it('refuses a wrong reader key with 401 invalid_key', async () => {
        await begin({ AUDIT_READER_KEY: READER_KEY });
        const answer = await delegated({ 'x-audit-key': `${READER_KEY}x` });
        expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 401, code: 'invalid_key' });
    });

    it('refuses the function key Moveworks holds, on both audit routes', async () => {
        await begin({ AUDIT_READER_KEY: READER_KEY });
        expect((await delegated({ 'x-functions-key': 'moveworks-function-key' })).status).toBe(401);
        expect((await fn.get('/api/audit')).status).toBe(401);
    });

    it('stops accepting the old reader key once it is rotated, while the master key goes on working', async () => {
        await begin({ AUDIT_READER_KEY: READER_KEY });
        await fn.stop();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'moveworks-function-key', MASTER_KEY: 'the-master-key', AUDIT_READER_KEY: `rotated-${READER_KEY}` });
        expect((await delegated({ 'x-audit-key': READER_KEY })).status).toBe(401);
        expect((await delegated({ 'x-audit-key': `rotated-${READER_KEY}` })).status).toBe(200);
        expect((await fn.get('/api/audit', { 'x-functions-key': 'the-master-key' })).status).toBe(200);
    });

    it('answers 404 not_configured when neither a reader key nor an admin role is set', async () => {
        await begin();
        const answer = await delegated({ 'x-audit-key': READER_KEY });
        expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 404, code: 'not_configured' });
    });

    it('gives the entries to a caller token carrying CALLER_ADMIN_ROLE', async () => {
        await beginWithTokens();
        const answer = await delegated(await bearer({ roles: ['Audit.Read'] }));
        expect(answer.status).toBe(200);
        expect(Array.isArray(answer.body.entries)).toBe(true);
    });

    it('takes an empty x-audit-key header as no key, so the admin token beside it is read', async () => {
        await beginWithTokens();
        expect((await delegated({ 'x-audit-key': '', ...(await bearer({ roles: ['Audit.Read'] })) })).status).toBe(200);
    });

    it('refuses with 403 caller_not_allowed a valid token without the admin role, such as the one Moveworks acts with', async () => {
        await beginWithTokens({ CALLER_REQUIRED_ROLE: 'Approvals.Act' });
        const answer = await delegated(await bearer({ roles: ['Approvals.Act'] }));
        expect({ status: answer.status, code: answer.body.error.code }).toEqual({ status: 403, code: 'caller_not_allowed' });
    });

    it.each([
        ['has expired', {}, { expiresIn: -90 }],
        ['is for another audience', { aud: 'api://something-else' }, {}],
        ['is signed with a key the issuer never published', {}, { unpublishedKey: true }],
    ])('answers 401 with a Bearer challenge to an admin token that %s', async (_label, claims, options) => {
        await beginWithTokens();
        const answer = await delegated(await bearer({ roles: ['Audit.Read'], ...claims }, options));
        expect({ status: answer.status, code: answer.body.error.code, challenge: answer.challenge }).toEqual({ status: 401, code: 'invalid_token', challenge: 'Bearer error="invalid_token"' });
    });

    it('answers 401 with a Bearer challenge when neither a key nor a token is sent', async () => {
        await beginWithTokens();
        const answer = await delegated({});
        expect({ status: answer.status, code: answer.body.error.code, challenge: answer.challenge }).toEqual({ status: 401, code: 'invalid_token', challenge: 'Bearer error="invalid_token"' });
    });

    it('logs who read the trail, and never the key', async () => {
        await begin({ AUDIT_READER_KEY: READER_KEY });
        fn.logged.length = 0;
        await delegated({ 'x-audit-key': READER_KEY });
        expect(fn.logged.some((line) => line.includes('"audit.read"') && line.includes('"by":"reader_key"'))).toBe(true);
        expect(fn.logged.join('\n')).not.toContain(READER_KEY);
    });
});
