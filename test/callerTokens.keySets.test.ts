import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { REFETCH_COOLDOWN_MS } from '../shared/callerAuth';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/** What happens when the issuer's key set cannot be fetched, through the real HTTP path. */
describe('caller tokens: key set failures', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });
    const AUDIENCE = 'api://sailpoint-approvals';
    const jamie = 'jamie.rivera@example.com';
    const begin = async (settings: Record<string, string> = {}) => {
        h = await startHarness();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'k3y', CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE, ...settings });
        await fn.pollNow();
        return h.sample.workItems.roleRequest.id;
    };
    const token = (options = {}) => h.simulator.callers.mint({ sub: 'mw', aud: AUDIENCE, azp: 'moveworks-client' }, options);
    const approve = async (id: string, authorization: string) => {
        const response = await fetch(`${fn.url}/api/approvals/${id}/approve`, {
            method: 'POST',
            headers: { 'x-functions-key': 'k3y', 'content-type': 'application/json', authorization },
            body: JSON.stringify({ approverEmail: jamie }),
        });
        return { status: response.status, code: ((await response.json()) as any).error?.code, challenge: response.headers.get('www-authenticate') };
    };

    // README: "503 caller_keys_unavailable: the signing keys could not be fetched"; callerAuth.ts: "(connection
    // refused, a non-200 answer) ... keysUnavailable". jose throws a plain JOSEError on a non-200, mapped to 401.
    it('answers 503 caller_keys_unavailable, not 401 invalid_token, when the key set answers 503 (CALLER_JWKS_URL set)', async () => {
        const id = await begin();
        // CALLER_JWKS_URL needs the simulator's URL, known only after startHarness: restart with it.
        await fn.stop();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'k3y', CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE, CALLER_JWKS_URL: h.simulator.callers.jwksUrl });
        h.simulator.callers.down = true;
        const answer = await approve(id, `Bearer ${await token()}`);
        expect(h.simulator.decisions).toEqual([]);
        expect(answer).toEqual({ status: 503, code: 'caller_keys_unavailable', challenge: null });
    });

    // README: "fetched again when a token names an unknown kid, at most every 5 s, so ... a flood of forged
    // tokens cannot hammer the issuer". The cooldown counts only from the last successful fetch.
    it('fetches a failing key set at most once per cooldown, however many forged tokens arrive', async () => {
        const id = await begin();
        expect((await approve(id, `Bearer ${await token()}`)).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, REFETCH_COOLDOWN_MS + 200));
        h.simulator.callers.down = true;
        const before = h.simulator.calls['caller.keys'];
        for (let i = 0; i < 20; i++) await approve(h.sample.workItems.removal.id, `Bearer ${await token({ unpublishedKey: true })}`);
        expect(h.simulator.calls['caller.keys'] - before).toBeLessThanOrEqual(1);
    });

    it('asks a failing issuer for its OpenID configuration at most once per cooldown', async () => {
        const id = await begin();
        h.simulator.callers.down = true;
        for (let i = 0; i < 20; i++) await approve(id, `Bearer ${await token()}`);
        expect(h.simulator.calls['caller.configuration']).toBeLessThanOrEqual(2);
    });

    // A token the app cannot verify is an invalid token (401), not an unreachable issuer (503): jose throws a
    // TypeError for an RSA key under 2048 bits, which toVerificationError turns into caller_keys_unavailable.
    it('answers 401, not 503 caller_keys_unavailable, to a token signed with a published 1024-bit RSA key', async () => {
        const id = await begin();
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        const kid = randomUUID();
        (h.simulator.callers as any).keys.push({ kid, alg: 'RS256', privateKey, publicJwk: { ...publicKey.export({ format: "jwk" }), kid, alg: 'RS256', use: 'sig' } });
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const input = `${part({ alg: 'RS256', kid, typ: 'JWT' })}.${part({ iss: h.simulator.callers.issuer, aud: AUDIENCE, sub: 'mw', exp: now + 300 })}`;
        const weak = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
        const answer = await approve(id, `Bearer ${weak}`);
        expect(h.simulator.decisions).toEqual([]);
        expect([answer.status, answer.code]).toEqual([401, 'invalid_token']);
    });
});
