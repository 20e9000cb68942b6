import { generateKeyPairSync, sign } from 'node:crypto';
import { JWK } from 'jose';
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

    // A flood of forged tokens, or an issuer that is down, must not turn into a fetch per request.
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

    // A key jose will not use (RSA under 2048 bits) makes the token unverifiable (401); the issuer did answer.
    it('answers 401, not 503 caller_keys_unavailable, to a token signed with a published 1024-bit RSA key', async () => {
        const id = await begin();
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
        const kid = h.simulator.callers.publish(privateKey, publicKey.export({ format: 'jwk' }) as JWK);
        const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        const now = Math.floor(Date.now() / 1000);
        const input = `${part({ alg: 'RS256', kid, typ: 'JWT' })}.${part({ iss: h.simulator.callers.issuer, aud: AUDIENCE, sub: 'mw', exp: now + 300 })}`;
        const weak = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
        const answer = await approve(id, `Bearer ${weak}`);
        expect(h.simulator.decisions).toEqual([]);
        expect([answer.status, answer.code]).toEqual([401, 'invalid_token']);
    });
});
