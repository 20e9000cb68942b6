import { createHash, randomBytes } from 'node:crypto';
import { seedAccessRequestSampleData, seedIscSampleData } from '../dev/simulator/sampleData';
import { Simulator, SimulatorOptions } from '../dev/simulator/simulator';

/**
 * The simulated Identity Security Cloud's side of per-user OAuth (authorization code with PKCE), over real
 * HTTP on 127.0.0.1: the sign-in page, codes, the token endpoint's code exchange and refresh, revocation,
 * the user's token deciding as that user under ISC's own rules, and a read-only service credential.
 */

const REDIRECT_URI = 'https://approvals.example.com/api/connections/isc/callback';

let simulator: Simulator;
let sample: ReturnType<typeof seedIscSampleData>;
let access: ReturnType<typeof seedAccessRequestSampleData>;

afterEach(async () => {
    await simulator?.stop();
});

async function start(options: SimulatorOptions = {}): Promise<void> {
    simulator = new Simulator({ sources: ['isc'], ...options });
    await simulator.start();
    sample = seedIscSampleData(simulator);
    access = seedAccessRequestSampleData(simulator, sample.people);
}

function pkce() {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The authorize URL an app builds; `undefined` leaves a parameter out. */
function authorizeUrl(challenge: string, overrides: Record<string, string | undefined> = {}): string {
    const url = new URL(simulator.userOAuthSettings().ISC_AUTHORIZE_URL);
    const parameters: Record<string, string | undefined> = {
        response_type: 'code',
        client_id: simulator.isc.userClientId,
        redirect_uri: REDIRECT_URI,
        state: 'state-7f3a',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...overrides,
    };
    for (const [name, value] of Object.entries(parameters)) if (value !== undefined) url.searchParams.set(name, value);
    return url.toString();
}

const htmlUnescape = (value: string) => value.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[name] as string);

/** The sign-in links of the authorize page, by the name they show. */
function signInLinks(html: string): Map<string, string> {
    return new Map([...html.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((match) => [htmlUnescape(match[2]), htmlUnescape(match[1])]));
}

/** What a browser does: opens the authorize page, clicks the person's link, and is redirected (not followed). */
async function signInByBrowser(url: string, name: string) {
    const pageAnswer = await fetch(url);
    const link = signInLinks(await pageAnswer.text()).get(name);
    if (!link) throw new Error(`no sign-in link for ${name}`);
    const answer = await fetch(new URL(link, url), { redirect: 'manual' });
    return { status: answer.status, location: answer.headers.get('location') ?? '' };
}

async function token(form: Record<string, string>) {
    const answer = await fetch(`${simulator.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
    });
    return { status: answer.status, json: (await answer.json()) as Record<string, string | number | undefined> };
}

const userClient = () => ({ client_id: simulator.isc.userClientId, client_secret: simulator.isc.userClientSecret });

const exchange = (code: string, verifier: string, redirectUri = REDIRECT_URI) =>
    token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri, ...userClient() });

const refresh = (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...userClient() });

/** A code for the identity, signed in without HTTP, and the verifier that goes with it. */
function codeFor(identityId: string) {
    const { verifier, challenge } = pkce();
    const code = new URL(simulator.isc.signIn(authorizeUrl(challenge), identityId)).searchParams.get('code')!;
    return { code, verifier };
}

/** The tokens of an identity that has signed in and had its code exchanged. */
async function signedIn(identityId: string): Promise<{ accessToken: string; refreshToken: string }> {
    const { code, verifier } = codeFor(identityId);
    const answer = await exchange(code, verifier);
    if (answer.status !== 200) throw new Error(`exchange answered ${answer.status}: ${JSON.stringify(answer.json)}`);
    return { accessToken: String(answer.json.access_token), refreshToken: String(answer.json.refresh_token) };
}

async function serviceToken(): Promise<string> {
    const answer = await token({ grant_type: 'client_credentials', client_id: simulator.isc.clientId, client_secret: simulator.isc.clientSecret });
    return String(answer.json.access_token);
}

/** A v1 API call (the default layout). */
async function api(method: 'GET' | 'POST', path: string, bearer: string, body?: unknown) {
    const answer = await fetch(`${simulator.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await answer.text();
    return { status: answer.status, json: text ? (JSON.parse(text) as Record<string, unknown> & { messages?: { text: string }[] }) : undefined };
}

const generic = (id: string, action: string) => `/generic-approvals/v1/${id}/${action}`;
const accessRequest = (id: string, action: string) => `/access-request-approvals/v1/${id}/${action}`;

describe('the simulated ISC sign-in page (GET /oauth/authorize)', () => {
    it("lists every identity of the tenant by name and email, each with a sign-in link", async () => {
        await start();
        const answer = await fetch(authorizeUrl(pkce().challenge));
        const html = await answer.text();
        expect(answer.status).toBe(200);
        expect(answer.headers.get('content-type')).toContain('text/html');
        expect([...signInLinks(html).keys()].sort()).toEqual([...simulator.isc.identities.values()].map((identity) => identity.name).sort());
        expect(html).toContain('Jamie Rivera</a> &lt;jamie.rivera@example.com&gt;');
    });

    it('shows names and emails as text, never as markup', async () => {
        await start();
        simulator.isc.addIdentity({ name: '<script>alert("x")</script>', email: 'o\'neil&co@example.com' });
        const html = await (await fetch(authorizeUrl(pkce().challenge, { state: '"><img src=x>' }))).text();
        expect(html).not.toContain('<script>');
        expect(html).not.toContain('<img');
        expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
        expect(html).toContain('o&#39;neil&amp;co@example.com');
    });

    it('signing in redirects (302) to the redirect URI with a code and the state', async () => {
        await start();
        const { status, location } = await signInByBrowser(authorizeUrl(pkce().challenge), 'Jamie Rivera');
        const redirect = new URL(location);
        expect(status).toBe(302);
        expect(`${redirect.origin}${redirect.pathname}`).toBe(REDIRECT_URI);
        expect(redirect.searchParams.get('state')).toBe('state-7f3a');
        expect(redirect.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
        expect(simulator.isc.signIns).toEqual([expect.objectContaining({ identityId: sample.people.jamie.id, redirectUri: REDIRECT_URI })]);
    });

    it('refuses a plain PKCE challenge with a 400 page, without redirecting', async () => {
        await start();
        const { verifier } = pkce();
        const answer = await fetch(authorizeUrl(verifier, { code_challenge_method: 'plain' }), { redirect: 'manual' });
        expect(answer.status).toBe(400);
        expect(answer.headers.get('location')).toBeNull();
        expect(await answer.text()).toContain('code_challenge_method must be S256');
    });

    it('refuses a request without a PKCE challenge with a 400 page', async () => {
        await start();
        const answer = await fetch(authorizeUrl('', { code_challenge: undefined, code_challenge_method: undefined }), { redirect: 'manual' });
        expect(answer.status).toBe(400);
    });

    it('refuses an unknown client with a 400 page, never redirecting to its redirect URI', async () => {
        await start();
        const url = authorizeUrl(pkce().challenge, { client_id: 'someone-else', redirect_uri: 'https://attacker.example.net/steal' });
        const page = await fetch(url, { redirect: 'manual' });
        const signIn = await fetch(`${simulator.baseUrl}/oauth/authorize/sign-in?identity=${sample.people.jamie.id}&${new URL(url).search.slice(1)}`, { redirect: 'manual' });
        expect([page.status, signIn.status]).toEqual([400, 400]);
        expect(signIn.headers.get('location')).toBeNull();
        expect(() => simulator.isc.signIn(url, sample.people.jamie.id)).toThrow(/client_id/);
    });

    it('refuses a redirect URI that is not an http(s) URL', async () => {
        await start();
        const answer = await fetch(authorizeUrl(pkce().challenge, { redirect_uri: 'javascript:alert(1)' }), { redirect: 'manual' });
        expect(answer.status).toBe(400);
    });

    it('signIn() answers the same redirect as the page, without HTTP', async () => {
        await start();
        const location = new URL(simulator.isc.signIn(authorizeUrl(pkce().challenge), sample.people.carol.id));
        expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
        expect(location.searchParams.get('state')).toBe('state-7f3a');
        expect(simulator.calls['isc.signIn']).toBe(0);
    });

    it('GET /oauth/info names the authorize and token endpoints', async () => {
        await start();
        const info = (await (await fetch(`${simulator.baseUrl}/oauth/info`)).json()) as Record<string, string>;
        expect(info).toMatchObject({ authorizeEndpoint: `${simulator.baseUrl}/oauth/authorize`, tokenEndpoint: `${simulator.baseUrl}/oauth/token` });
    });

    it('keeps the sign-in pages out of the API exchanges', async () => {
        await start();
        await signInByBrowser(authorizeUrl(pkce().challenge), 'Jamie Rivera');
        expect(simulator.isc.exchanges).toEqual([]);
    });
});

describe('exchanging the code (POST /oauth/token, grant_type=authorization_code)', () => {
    it("the right verifier gets an access token, a refresh token and the user's identity_id", async () => {
        await start();
        const { verifier, challenge } = pkce();
        const { location } = await signInByBrowser(authorizeUrl(challenge), 'Jamie Rivera');
        const answer = await exchange(new URL(location).searchParams.get('code')!, verifier);
        expect(answer).toEqual({
            status: 200,
            json: expect.objectContaining({
                access_token: expect.any(String),
                token_type: 'bearer',
                expires_in: 3600,
                refresh_token: expect.any(String),
                identity_id: sample.people.jamie.id,
                scope: expect.stringContaining('idn:access-request-approvals:manage'),
            }),
        });
        expect(simulator.isc.userTokenGrants).toEqual([{ grantType: 'authorization_code', identityId: sample.people.jamie.id, at: expect.any(Number) }]);
    });

    it('a wrong verifier is refused with invalid_grant', async () => {
        await start();
        const { code } = codeFor(sample.people.jamie.id);
        const answer = await exchange(code, pkce().verifier);
        expect(answer).toEqual({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('code_verifier') } });
    });

    it('a code used twice is refused with invalid_grant, and the tokens from its first use stop working', async () => {
        await start();
        const { code, verifier } = codeFor(sample.people.jamie.id);
        const first = await exchange(code, verifier);
        const second = await exchange(code, verifier);
        expect([first.status, second.status, second.json.error]).toEqual([200, 400, 'invalid_grant']);
        expect((await api('GET', '/generic-approvals/v1', String(first.json.access_token))).status).toBe(401);
        expect((await refresh(String(first.json.refresh_token))).json.error).toBe('invalid_grant');
    });

    it('a redirect_uri other than the one signed in with is refused with invalid_grant', async () => {
        await start();
        const { code, verifier } = codeFor(sample.people.jamie.id);
        const answer = await exchange(code, verifier, 'https://approvals.example.com/elsewhere');
        expect(answer).toEqual({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('redirect_uri') } });
    });

    it('a code older than a minute is refused with invalid_grant', async () => {
        await start();
        simulator.isc.codeLifetimeSeconds = 0.001;
        const { code, verifier } = codeFor(sample.people.jamie.id);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const answer = await exchange(code, verifier);
        expect(answer).toEqual({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('expired') } });
    });

    it('a wrong client secret is refused with 401 invalid_client', async () => {
        await start();
        const { code, verifier } = codeFor(sample.people.jamie.id);
        const answer = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI, client_id: simulator.isc.userClientId, client_secret: 'wrong' });
        expect(answer).toEqual({ status: 401, json: { error: 'invalid_client' } });
    });
});

describe('refreshing (POST /oauth/token, grant_type=refresh_token)', () => {
    it('answers a new access token and a new refresh token', async () => {
        await start();
        const tokens = await signedIn(sample.people.jamie.id);
        const answer = await refresh(tokens.refreshToken);
        expect(answer.status).toBe(200);
        expect(answer.json.access_token).not.toBe(tokens.accessToken);
        expect(answer.json.refresh_token).toEqual(expect.any(String));
        expect(answer.json.refresh_token).not.toBe(tokens.refreshToken);
        expect(answer.json.identity_id).toBe(sample.people.jamie.id);
        expect((await api('GET', '/generic-approvals/v1', String(answer.json.access_token))).status).toBe(200);
    });

    it('refuses the replaced refresh token with invalid_grant once it has been used', async () => {
        await start();
        const tokens = await signedIn(sample.people.jamie.id);
        const rotated = await refresh(tokens.refreshToken);
        const reused = await refresh(tokens.refreshToken);
        expect(reused).toEqual({ status: 400, json: { error: 'invalid_grant', error_description: expect.any(String) } });
        expect((await refresh(String(rotated.json.refresh_token))).status).toBe(200);
    });

    it('without rotation, answers no new refresh token and the same one keeps working', async () => {
        await start({ iscRotateRefreshTokens: false });
        const tokens = await signedIn(sample.people.jamie.id);
        const first = await refresh(tokens.refreshToken);
        const second = await refresh(tokens.refreshToken);
        expect([first.status, first.json.refresh_token, second.status]).toEqual([200, undefined, 200]);
    });

    it("after revokeUser, the user's refresh token is refused with invalid_grant", async () => {
        await start();
        const tokens = await signedIn(sample.people.jamie.id);
        simulator.isc.revokeUser(sample.people.jamie.id);
        const answer = await refresh(tokens.refreshToken);
        expect(answer).toEqual({ status: 400, json: { error: 'invalid_grant', error_description: expect.stringContaining('revoked') } });
    });

    it("after expireUserTokens, the user's access token is answered 401 and a refresh still works", async () => {
        await start();
        const tokens = await signedIn(sample.people.jamie.id);
        simulator.isc.expireUserTokens(sample.people.jamie.id);
        expect((await api('GET', '/generic-approvals/v1', tokens.accessToken)).status).toBe(401);
        const renewed = await refresh(tokens.refreshToken);
        expect((await api('GET', '/generic-approvals/v1', String(renewed.json.access_token))).status).toBe(200);
    });

    it('an unknown refresh token is refused with invalid_grant', async () => {
        await start();
        const answer = await refresh('not-a-refresh-token');
        expect(answer).toEqual({ status: 400, json: { error: 'invalid_grant', error_description: expect.any(String) } });
    });

    it('a wrong client secret is refused with 401 invalid_client', async () => {
        await start();
        const tokens = await signedIn(sample.people.jamie.id);
        const answer = await token({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: simulator.isc.userClientId, client_secret: 'wrong' });
        expect(answer).toEqual({ status: 401, json: { error: 'invalid_client' } });
    });

    it('records each grant with its type and identity', async () => {
        await start();
        const tokens = await signedIn(sample.people.carol.id);
        await refresh(tokens.refreshToken);
        expect(simulator.isc.userTokenGrants.map(({ grantType, identityId }) => ({ grantType, identityId }))).toEqual([
            { grantType: 'authorization_code', identityId: sample.people.carol.id },
            { grantType: 'refresh_token', identityId: sample.people.carol.id },
        ]);
    });
});

describe("deciding with the approver's own token", () => {
    it('an approver approves their approval, and ISC records them, not the API client, as the one who approved', async () => {
        await start();
        const { jamie } = sample.people;
        const { roleRequest } = sample.approvals;
        const { accessToken } = await signedIn(jamie.id);
        const answer = await api('POST', generic(roleRequest.id, 'approve'), accessToken, { comment: 'Fine by me' });
        expect(answer.status).toBe(200);
        expect(answer.json?.approvedBy).toEqual([expect.objectContaining({ identityID: jamie.id, name: 'Jamie Rivera' })]);
        expect(simulator.isc.approvals.get(roleRequest.id)).toMatchObject({
            status: 'APPROVED',
            decisions: [expect.objectContaining({ identityId: jamie.id, decision: 'approve', actedAs: { kind: 'user', identityId: jamie.id } })],
        });
    });

    it('records the write as made with the user token, naming the identity', async () => {
        await start();
        const { jamie } = sample.people;
        const { accessToken } = await signedIn(jamie.id);
        await api('POST', generic(sample.approvals.roleRequest.id, 'approve'), accessToken, {});
        expect(simulator.isc.writes).toEqual([
            { route: 'isc.approve', approvalId: sample.approvals.roleRequest.id, kind: 'user', identityId: jamie.id, status: 200, at: expect.any(Number) },
        ]);
        expect(simulator.isc.actions).toEqual([expect.objectContaining({ action: 'approve', actedAs: { kind: 'user', identityId: jamie.id } })]);
    });

    it("a comment made with the user's token is authored by that user", async () => {
        await start();
        const { accessToken } = await signedIn(sample.people.jamie.id);
        await api('POST', generic(sample.approvals.roleRequest.id, 'comments'), accessToken, { comment: 'Checking with finance' });
        expect(simulator.isc.approvals.get(sample.approvals.roleRequest.id)!.comments.at(-1)).toMatchObject({ authorName: 'Jamie Rivera', comment: 'Checking with finance' });
    });

    it('a member of an approving governance group may decide', async () => {
        await start();
        const { carol } = sample.people;
        const { accessToken } = await signedIn(carol.id);
        const answer = await api('POST', generic(sample.approvals.groupRequest.id, 'reject'), accessToken, { comment: 'Not needed' });
        expect(answer.status).toBe(204);
        expect(simulator.isc.approvals.get(sample.approvals.groupRequest.id)!.decisions).toEqual([expect.objectContaining({ identityId: carol.id, decision: 'reject' })]);
    });

    it("someone else's approval is refused 403 with ISC's error body, and stays pending", async () => {
        await start();
        const { carol } = sample.people;
        const { roleRequest } = sample.approvals;
        const { accessToken } = await signedIn(carol.id);
        const answer = await api('POST', generic(roleRequest.id, 'approve'), accessToken, {});
        expect(answer.status).toBe(403);
        expect(answer.json).toMatchObject({ detailCode: '403 Forbidden', messages: [{ locale: 'en-US', text: expect.stringContaining('not a current approver') }] });
        expect(simulator.isc.approvals.get(roleRequest.id)!.status).toBe('PENDING');
        expect(simulator.isc.actions).toEqual([]);
        expect(simulator.isc.writes).toEqual([expect.objectContaining({ route: 'isc.approve', kind: 'user', identityId: carol.id, status: 403 })]);
    });

    it('the owner of an access-request approval approves it, and it records the owner as the one who decided', async () => {
        await start();
        const { jamie } = sample.people;
        const { sodConflict } = access.accessRequests;
        const { accessToken } = await signedIn(jamie.id);
        const answer = await api('POST', accessRequest(sodConflict.id, 'approve'), accessToken, { comment: 'Covered by the SoD exception' });
        expect(answer.status).toBe(202);
        expect(simulator.isc.accessRequests.get(sodConflict.id)).toMatchObject({ state: 'APPROVED', decidedBy: { kind: 'user', identityId: jamie.id } });
        expect(simulator.isc.accessRequestActions).toEqual([expect.objectContaining({ action: 'approve', actedAs: { kind: 'user', identityId: jamie.id } })]);
    });

    it("the owner's decision on an access request shows on its generic mirror as theirs", async () => {
        await start();
        const { jamie } = sample.people;
        const { accessToken } = await signedIn(jamie.id);
        await api('POST', accessRequest(access.accessRequests.mirrored.id, 'approve'), accessToken, {});
        expect(simulator.isc.approvals.get(access.mirror.id)).toMatchObject({ status: 'APPROVED', decisions: [expect.objectContaining({ identityId: jamie.id })] });
    });

    it("another identity's access-request approval is refused 403, and stays pending", async () => {
        await start();
        const { sodConflict } = access.accessRequests;
        const { accessToken } = await signedIn(sample.people.carol.id);
        const answer = await api('POST', accessRequest(sodConflict.id, 'approve'), accessToken, {});
        expect(answer.status).toBe(403);
        expect(answer.json?.detailCode).toBe('403 Forbidden');
        expect(simulator.isc.accessRequests.get(sodConflict.id)!.state).toBe('PENDING');
    });

    it('reads work with a user token as with the service token', async () => {
        await start();
        const { accessToken } = await signedIn(sample.people.dana.id);
        const list = await api('GET', '/generic-approvals/v1', accessToken);
        expect(list.status).toBe(200);
        expect(simulator.isc.exchanges.at(-1)?.actedAs).toEqual({ kind: 'user', identityId: sample.people.dana.id });
    });
});

describe('the service (client-credentials) token', () => {
    it('writes as today when it is not read-only, recorded as the service', async () => {
        await start();
        const answer = await api('POST', generic(sample.approvals.roleRequest.id, 'approve'), await serviceToken(), {});
        expect(answer.status).toBe(200);
        expect(simulator.isc.writes).toEqual([expect.objectContaining({ route: 'isc.approve', kind: 'service', status: 200 })]);
        expect(simulator.isc.writes[0].identityId).toBeUndefined();
    });

    it('read-only (iscServiceReadOnly), every write route refuses it 403 and nothing changes', async () => {
        await start({ iscServiceReadOnly: true });
        const bearer = await serviceToken();
        const { roleRequest } = sample.approvals;
        const { sodConflict } = access.accessRequests;
        const { dana } = sample.people;
        const answers = [
            await api('POST', generic(roleRequest.id, 'approve'), bearer, {}),
            await api('POST', generic(roleRequest.id, 'reject'), bearer, { comment: 'No' }),
            await api('POST', generic(roleRequest.id, 'comments'), bearer, { comment: 'Hm' }),
            await api('POST', generic(roleRequest.id, 'reassign'), bearer, { reassignTo: dana.id }),
            await api('POST', accessRequest(sodConflict.id, 'approve'), bearer, {}),
            await api('POST', accessRequest(sodConflict.id, 'reject'), bearer, { comment: 'No' }),
            await api('POST', accessRequest(sodConflict.id, 'forward'), bearer, { newOwnerId: dana.id, comment: 'Dana knows' }),
        ];
        expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403, 403, 403]);
        expect(simulator.isc.actions).toEqual([]);
        expect(simulator.isc.accessRequestActions).toEqual([]);
        expect(simulator.isc.writes.map((write) => [write.kind, write.status])).toEqual(answers.map(() => ['service', 403]));
    });

    it('read-only, its reads still work', async () => {
        await start({ iscServiceReadOnly: true });
        const bearer = await serviceToken();
        const statuses = [
            (await api('GET', '/generic-approvals/v1', bearer)).status,
            (await api('GET', `/generic-approvals/v1/${sample.approvals.roleRequest.id}`, bearer)).status,
            (await api('GET', '/access-request-approvals/v1/pending', bearer)).status,
            (await api('GET', `/identities/v1?filters=${encodeURIComponent('email eq "jamie.rivera@example.com"')}`, bearer)).status,
        ];
        expect(statuses).toEqual([200, 200, 200, 200]);
    });

    it("read-only, a user's token still writes", async () => {
        await start({ iscServiceReadOnly: true });
        const { accessToken } = await signedIn(sample.people.jamie.id);
        expect((await api('POST', generic(sample.approvals.roleRequest.id, 'approve'), accessToken, {})).status).toBe(200);
    });

    it('cannot be used for the authorization code grant', async () => {
        await start();
        const { code, verifier } = codeFor(sample.people.jamie.id);
        const answer = await token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI, client_id: simulator.isc.clientId, client_secret: simulator.isc.clientSecret });
        expect(answer.json.error).toBe('unauthorized_client');
    });
});

describe('the settings of the user OAuth client', () => {
    it('userOAuthSettings() names the client and the authorize URL, and settings() stays as it was', async () => {
        await start({ iscUserClientId: 'c0ffee00-0000-4000-8000-000000000001', iscUserClientSecret: 'user-secret' });
        expect(simulator.userOAuthSettings()).toEqual({
            ISC_USER_CLIENT_ID: 'c0ffee00-0000-4000-8000-000000000001',
            ISC_USER_CLIENT_SECRET: 'user-secret',
            ISC_AUTHORIZE_URL: `${simulator.baseUrl}/oauth/authorize`,
        });
        expect(Object.keys(simulator.settings()).filter((name) => name.startsWith('ISC_USER') || name === 'ISC_AUTHORIZE_URL')).toEqual([]);
    });

    it('a user token lives iscUserTokenLifetimeSeconds', async () => {
        await start({ iscUserTokenLifetimeSeconds: 120 });
        const { code, verifier } = codeFor(sample.people.jamie.id);
        expect((await exchange(code, verifier)).json.expires_in).toBe(120);
    });
});
