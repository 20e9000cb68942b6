import { generateKeyPairSync, sign } from 'node:crypto';
import { exportJWK, generateKeyPair, JWK, JWTHeaderParameters, SignJWT } from 'jose';
import { REFETCH_COOLDOWN_MS } from '../shared/callers/callerAuth';
import { createServer, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { AUDIENCE, callerApp, FUNCTION_KEY, JAMIE } from './support/callerApp';

/** A key-set server on 127.0.0.1 that answers with `answer`, counting requests. */
async function serveKeys(answer: (response: ServerResponse) => Promise<void>) {
    let requests = 0;
    const server = createServer((_request, response) => {
        requests++;
        answer(response).catch(() => response.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
        requests: () => requests,
        close: () => new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        }),
    };
}

/** Caller tokens at their edges: odd or hostile tokens, a failing issuer, and what the audit and the document say. */
describe('caller tokens at the edges', () => {
    const app = callerApp();
    const claim = { CALLER_USER_EMAIL_CLAIM: 'user_email' };
    const now = () => Math.floor(Date.now() / 1000);
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    describe('unusual or hostile tokens', () => {
        it('accepts the Bearer scheme in any letter case', async () => {
            const id = await app.begin();
            expect((await app.approve(id, `bearer ${await app.token()}`)).status).toBe(200);
        });

        it('answers 401 to a token sent in the query string instead of the Authorization header', async () => {
            const id = await app.begin();
            expect((await app.approve(id, undefined, undefined, {}, `?access_token=${await app.token()}`)).status).toBe(401);
        });

        it('accepts an aud list that holds the audience', async () => {
            const id = await app.begin();
            expect((await app.approve(id, await app.bearer({ aud: ['x', AUDIENCE] }))).status).toBe(200);
        });

        it('answers 401 to an issuer that differs by a trailing slash (compared exactly)', async () => {
            const id = await app.begin();
            expect((await app.approve(id, await app.bearer({ iss: `${app.h.simulator.callers.issuer}/` }))).status).toBe(401);
        });

        it('answers 401 to a token without exp', async () => {
            const id = await app.begin();
            expect((await app.approve(id, await app.bearer({ exp: undefined }))).status).toBe(401);
        });

        it('accepts nbf within the 60 s leeway and refuses it beyond', async () => {
            const id = await app.begin();
            expect((await app.approve(id, await app.bearer({}, { notBefore: 90 }))).status).toBe(401);
            expect((await app.approve(id, await app.bearer({}, { notBefore: 30 }))).status).toBe(200);
        });

        it('ignores keys a token names for itself (jwk, jku, x5u headers)', async () => {
            const id = await app.begin();
            const { privateKey, publicKey } = await generateKeyPair('RS256');
            const jwk = await exportJWK(publicKey);
            const claims = { iss: app.h.simulator.callers.issuer, aud: AUDIENCE, sub: 'evil', exp: now() + 300 };
            const headers: JWTHeaderParameters[] = [{ alg: 'RS256', jwk }, { alg: 'RS256', kid: 'evil', jwk }, { alg: 'RS256', jku: 'http://127.0.0.1:1/jwks' }, { alg: 'RS256', x5u: 'http://127.0.0.1:1/x' }];
            for (const header of headers) {
                const forged = await new SignJWT(claims).setProtectedHeader(header).sign(privateKey);
                expect((await app.approve(id, `Bearer ${forged}`)).status).toBe(401);
            }
            expect(app.h.simulator.decisions).toEqual([]);
        });

        it('answers 401 to a token with a critical header parameter the app does not understand', async () => {
            const id = await app.begin();
            expect((await app.approve(id, await app.bearer({}, { header: { crit: ['approvals-policy'], 'approvals-policy': 1 } }))).status).toBe(401);
        });

        it('answers 403 caller_not_allowed when roles is a string, not a list', async () => {
            const id = await app.begin({ CALLER_REQUIRED_ROLE: 'Approvals.Act' });
            expect((await app.approve(id, await app.bearer({ roles: 'Approvals.Act' }))).code).toBe('caller_not_allowed');
        });

        it('takes the client from azp before appid', async () => {
            const id = await app.begin({ CALLER_ALLOWED_CLIENT_IDS: 'good' });
            expect((await app.approve(id, await app.bearer({ azp: 'bad', appid: 'good' }))).code).toBe('caller_not_allowed');
        });
    });

    describe('the email claim', () => {
        it('answers 401 to an email claim that is a list', async () => {
            const id = await app.begin(claim);
            expect((await app.approve(id, await app.bearer({ user_email: [JAMIE] }), {})).status).toBe(401);
        });

        it('reads the email claim regardless of letter case and surrounding spaces', async () => {
            const id = await app.begin(claim);
            expect((await app.approve(id, await app.bearer({ user_email: '  JAMIE.Rivera@example.com ' }), {})).status).toBe(200);
        });

        it('answers 401 to an email claim with a look-alike Unicode letter', async () => {
            const id = await app.begin(claim);
            expect((await app.approve(id, await app.bearer({ user_email: 'jamie.rivera@example.\u212Aom' }), {})).status).toBe(401);
        });

        it('answers 403 approver_mismatch to a ?user_email= naming someone else, and writes nothing', async () => {
            const id = await app.begin(claim);
            const answer = await app.approve(id, await app.bearer({ user_email: JAMIE }), {}, {}, '?user_email=carol.jones@example.com');
            expect([answer.status, answer.code]).toEqual([403, 'approver_mismatch']);
            expect(app.h.simulator.decisions).toEqual([]);
        });

        it('answers 403 approver_mismatch when the body names the token\'s person but ?user_email= names someone else', async () => {
            const id = await app.begin(claim);
            const answer = await app.approve(id, await app.bearer({ user_email: JAMIE }), { approverEmail: JAMIE }, {}, '?user_email=carol.jones@example.com');
            expect([answer.status, answer.code]).toEqual([403, 'approver_mismatch']);
            expect(app.h.simulator.decisions).toEqual([]);
        });

        it("accepts the guide's query form with no body alongside the claim", async () => {
            const id = await app.begin(claim);
            expect((await app.post(`/api/approvals/${id}/approve?user_email=${JAMIE}`, { authorization: await app.bearer({ user_email: JAMIE }) })).status).toBe(200);
        });

        it('asks comment and reassign for the token, and holds them to its claim', async () => {
            await app.begin(claim);
            const id = app.h.iscSample.approvals.roleRequest.id;
            const body = JSON.stringify({ approverEmail: 'x@example.com', comment: 'c', reassignToEmail: 'y@example.com' });
            for (const action of ['comment', 'reassign']) {
                expect((await app.post(`/api/approvals/${id}/${action}`, { 'content-type': 'application/json' }, body)).status).toBe(401);
                const answer = await app.post(`/api/approvals/${id}/${action}`, { 'content-type': 'application/json', authorization: await app.bearer({ user_email: 'z@example.com' }) }, body);
                expect([action, answer.code]).toEqual([action, 'approver_mismatch']);
            }
        });
    });

    describe('bodies and the query form', () => {
        it('answers 415 to a body that is not sent as JSON, whatever the letter case of a JSON one', async () => {
            const id = await app.begin();
            const authorization = await app.bearer();
            const body = JSON.stringify({ approverEmail: JAMIE });
            expect((await app.post(`/api/approvals/${id}/approve`, { authorization, 'content-type': 'application/json-patch+json' }, body)).status).toBe(415);
            expect((await app.post(`/api/approvals/${id}/approve`, { authorization, 'content-type': 'text/plain' }, body)).status).toBe(415);
            expect((await app.post(`/api/approvals/${id}/approve`, { authorization, 'content-type': 'Application/JSON; charset=utf-8' }, body)).status).toBe(200);
        });

        it("accepts the guide's query form with no body and no Content-Type", async () => {
            const id = await app.begin();
            expect((await app.post(`/api/approvals/${id}/approve?user_email=${JAMIE}`, { authorization: await app.bearer() })).status).toBe(200);
        });

        it('serves GET /api/approvals for the approverEmail asked when no email claim is configured', async () => {
            await app.begin();
            const response = await fetch(`${app.fn.url}/api/approvals?approverEmail=${JAMIE}`, { headers: { 'x-functions-key': 'k3y', authorization: await app.bearer() } });
            expect(response.status).toBe(200);
        });
    });

    describe('an issuer that fails', () => {
        it('answers 503 caller_keys_unavailable when the key set answers 503', async () => {
            const id = await app.begin();
            await app.restart({ CALLER_JWKS_URL: app.h.simulator.callers.jwksUrl });
            app.h.simulator.callers.down = true;
            const answer = await app.approve(id, await app.bearer());
            expect(app.h.simulator.decisions).toEqual([]);
            expect([answer.status, answer.code, answer.challenge]).toEqual([503, 'caller_keys_unavailable', null]);
        });

        it('fetches the key set at most once for forty simultaneous tokens with unknown kids', async () => {
            const id = await app.begin();
            expect((await app.approve(id, await app.bearer(), { approverEmail: 'nobody@example.com' })).status).not.toBe(401);
            await wait(REFETCH_COOLDOWN_MS + 200);
            const before = app.h.simulator.calls['caller.keys'];
            const tokens = await Promise.all(Array.from({ length: 40 }, () => app.token({}, { unpublishedKey: true })));
            const answers = await Promise.all(tokens.map((token) => app.approve(id, `Bearer ${token}`)));
            expect(answers.every((answer) => answer.status === 401)).toBe(true);
            expect(app.h.simulator.calls['caller.keys'] - before).toBeLessThanOrEqual(1);
        });

        it('fetches a failing key set at most once per cooldown, however many forged tokens arrive', async () => {
            const id = await app.begin();
            expect((await app.approve(id, await app.bearer())).status).toBe(200);
            await wait(REFETCH_COOLDOWN_MS + 200);
            app.h.simulator.callers.down = true;
            const before = app.h.simulator.calls['caller.keys'];
            for (let i = 0; i < 20; i++) await app.approve(app.h.sample.workItems.removal.id, await app.bearer({}, { unpublishedKey: true }));
            expect(app.h.simulator.calls['caller.keys'] - before).toBeLessThanOrEqual(1);
        });

        it('asks a failing issuer for its OpenID configuration at most once per cooldown', async () => {
            const id = await app.begin();
            app.h.simulator.callers.down = true;
            for (let i = 0; i < 20; i++) await app.approve(id, await app.bearer());
            expect(app.h.simulator.calls['caller.configuration']).toBeLessThanOrEqual(2);
        });

        it('accepts every token that arrives while a slow key set is being fetched, with one fetch', async () => {
            const slow = await serveKeys(async (response) => {
                await wait(400);
                response.setHeader('content-type', 'application/json');
                response.end(await (await fetch(app.h.simulator.callers.jwksUrl)).text());
            });
            try {
                await app.begin({ CALLER_JWKS_URL: slow.url });
                const list = async () => (await fetch(`${app.fn.url}/api/approvals?approverEmail=${JAMIE}`, { headers: { 'x-functions-key': FUNCTION_KEY, authorization: await app.bearer() } })).status;
                expect(await Promise.all(Array.from({ length: 8 }, list))).toEqual(Array(8).fill(200));
                expect(slow.requests()).toBe(1);
            } finally {
                await slow.close();
            }
        });

        it('stops reading a key set once it passes 256 KiB, and refuses the token', async () => {
            let written = 0;
            const huge = await serveKeys(async (response) => {
                response.setHeader('content-type', 'application/json');
                const chunk = Buffer.alloc(64 * 1024, 0x20);
                const closed = new Promise((resolve) => response.once('close', resolve));
                while (written < 64 * 1024 * 1024 && !response.destroyed) {
                    written += chunk.length;
                    if (!response.write(chunk)) await Promise.race([new Promise((resolve) => response.once('drain', resolve)), closed]);
                }
                response.end();
            });
            try {
                const id = await app.begin({ CALLER_JWKS_URL: huge.url });
                const answer = await app.approve(id, await app.bearer());
                expect([answer.status, answer.code]).toEqual([503, 'caller_keys_unavailable']);
                expect(written).toBeLessThan(16 * 1024 * 1024);
            } finally {
                await huge.close();
            }
        });

        it('answers 401 to a token signed with a published key jose will not use (RSA under 2048 bits)', async () => {
            const id = await app.begin();
            const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
            const kid = app.h.simulator.callers.publish(privateKey, publicKey.export({ format: 'jwk' }) as JWK);
            const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
            const input = `${part({ alg: 'RS256', kid, typ: 'JWT' })}.${part({ iss: app.h.simulator.callers.issuer, aud: AUDIENCE, sub: 'mw', exp: now() + 300 })}`;
            const weak = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
            const answer = await app.approve(id, `Bearer ${weak}`);
            expect(app.h.simulator.decisions).toEqual([]);
            expect([answer.status, answer.code]).toEqual([401, 'invalid_token']);
        });
    });

    describe('what the audit trail and the document say', () => {
        it('records the sub and client of a token refused with 403 caller_not_allowed', async () => {
            const id = await app.begin({ CALLER_ALLOWED_CLIENT_IDS: 'moveworks-client' });
            expect((await app.approve(id, await app.bearer({ sub: 'intruder-sp', azp: 'intruder-client' }))).status).toBe(403);
            expect(await app.lastAuditOf(id)).toMatchObject({ result: 'caller_not_allowed', callerSubject: 'intruder-sp', callerClientId: 'intruder-client' });
        });

        it('records the person the token named on a 403 approver_mismatch', async () => {
            const id = await app.begin(claim);
            expect((await app.approve(id, await app.bearer({ user_email: 'carol.jones@example.com' }), { approverEmail: JAMIE })).status).toBe(403);
            expect(await app.lastAuditOf(id)).toMatchObject({ result: 'approver_mismatch', approverFromClaim: true, approverEmail: 'carol.jones@example.com' });
        });

        it('lists 403 among the answers of GET /api/approvals when caller tokens are on', async () => {
            await app.begin();
            const document = (await (await fetch(`${app.fn.url}/api/openapi.json`)).json()) as { paths: Record<string, { get: { responses: Record<string, unknown> } }> };
            expect(Object.keys(document.paths['/approvals'].get.responses)).toContain('403');
        });

        it('declares approverEmail optional on GET /api/approvals only when the token names the person', async () => {
            await app.begin();
            const document = (await (await fetch(`${app.fn.url}/api/openapi.json`)).json()) as { paths: Record<string, { get: { parameters: { name: string; required: boolean }[] } }> };
            expect(document.paths['/approvals'].get.parameters.find((parameter) => parameter.name === 'approverEmail')?.required).toBe(true);
            expect((await fetch(`${app.fn.url}/api/approvals`, { headers: { 'x-functions-key': 'k3y', authorization: await app.bearer() } })).status).toBe(400);
        });
    });
});
