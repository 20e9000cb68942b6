import { randomBytes } from 'node:crypto';
import { loadConfig } from '../shared/config';
import { connectionStatus, connectLink } from '../shared/contract';
import { IscClient } from '../shared/isc/client';
import { HttpClient } from '../shared/platform/http';
import { silentLogger } from '../shared/platform/log';
import { Pacer } from '../shared/platform/pacer';
import { TokenCache } from '../shared/platform/tokens';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/**
 * ISC_DECIDE_AS=user over real HTTP: an approver connects their SailPoint account once (authorization code
 * with PKCE, against the simulated tenant's sign-in), then every ISC write is made with their own token
 * while the service credential, read-only here, only reads.
 */

const PUBLIC_BASE_URL = 'https://approvals.example.com';
const jamie = 'jamie.rivera@example.com';
const carol = 'carol.jones@example.com';

describe('deciding in Identity Security Cloud as the approver', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h?.stop();
    });

    async function serve(settings: Record<string, string> = {}) {
        h = await startHarness({ simulator: { sources: ['isc'], iscServiceReadOnly: true } });
        fn = await startFunctionHost({
            ...h.settings,
            ...h.simulator.userOAuthSettings(),
            ISC_DECIDE_AS: 'user',
            PUBLIC_BASE_URL,
            USER_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}`,
            ...settings,
        });
        await fn.pollNow();
    }

    /** A URL the app made for the browser (on PUBLIC_BASE_URL), opened on the local host instead. */
    const onHost = (link: string) => `${fn.url}${new URL(link).pathname}${new URL(link).search}`;
    const writes = () => h.simulator.isc.writes.filter((write) => write.status < 300);

    /** Opens the connect link in a browser: the redirect to SailPoint, and the cookie it set. */
    async function openLink(email: string) {
        const { body } = await fn.post('/api/connections/isc/link', { approverEmail: email });
        const opened = await fetch(onHost(body.connectUrl), { redirect: 'manual' });
        const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0];
        return { connectUrl: body.connectUrl as string, status: opened.status, authorizeUrl: opened.headers.get('location') ?? '', cookie };
    }

    /** Signs in at SailPoint as `identityId` and follows the redirect back with `cookie`. */
    async function signIn(authorizeUrl: string, identityId: string, cookie: string) {
        const callback = h.simulator.isc.signIn(authorizeUrl, identityId);
        const answer = await fetch(onHost(callback), { headers: cookie ? { cookie } : {}, redirect: 'manual' });
        return { callback, status: answer.status, page: await answer.text() };
    }

    async function connect(email: string, identityId: string) {
        const { authorizeUrl, cookie } = await openLink(email);
        return signIn(authorizeUrl, identityId, cookie);
    }

    describe('connecting', () => {
        it('sends the browser to SailPoint with a PKCE challenge and state, and binds the sign-in with an HttpOnly cookie', async () => {
            await serve();
            const { status, authorizeUrl, cookie } = await openLink(jamie);
            const query = new URL(authorizeUrl).searchParams;
            expect(status).toBe(302);
            expect(authorizeUrl.startsWith(`${h.simulator.baseUrl}/oauth/authorize?`)).toBe(true);
            expect(Object.fromEntries(query)).toMatchObject({ response_type: 'code', code_challenge_method: 'S256', redirect_uri: `${PUBLIC_BASE_URL}/api/connections/isc/callback` });
            expect(query.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
            expect(cookie).toMatch(/^isc_connect=.+/);
        });

        it('sets the binding cookie HttpOnly, SameSite=Lax and Secure, for its own path only', async () => {
            await serve();
            const { body } = await fn.post('/api/connections/isc/link', { approverEmail: jamie });
            const opened = await fetch(onHost(body.connectUrl), { redirect: 'manual' });
            const attributes = (opened.headers.get('set-cookie') ?? '').split(';').slice(1).map((part) => part.trim());
            expect(attributes).toEqual(expect.arrayContaining(['Path=/api/connections/isc', 'HttpOnly', 'SameSite=Lax', 'Secure', 'Max-Age=600']));
        });

        it('connects nobody when another SailPoint identity with the same email signs in, and keeps the approver’s own connection', async () => {
            await serve();
            await connect(jamie, h.iscSample.people.jamie.id);
            const shadow = h.simulator.isc.addIdentity({ name: 'Jamie (old account)', email: jamie, correlated: false });
            const { status } = await connect(jamie, shadow.id);
            expect(status).toBe(403);
            expect((await fn.get(`/api/connections/isc?approverEmail=${jamie}`)).body).toMatchObject({ connected: true, identityId: h.iscSample.people.jamie.id });
        });

        it('answers a page, not an error, when SailPoint refuses the code (too slow, or used)', async () => {
            await serve();
            h.simulator.isc.codeLifetimeSeconds = -1;
            const { status, page } = await connect(jamie, h.iscSample.people.jamie.id);
            expect(status).toBe(400);
            expect(page).toContain('SailPoint did not accept this sign-in');
        });

        it('answers a page saying SailPoint could not be reached when the code exchange fails, logged as that and not as a crash', async () => {
            await serve();
            const { authorizeUrl, cookie } = await openLink(jamie);
            h.simulator.failNext('isc.token', { status: 503 });
            const { status, page } = await signIn(authorizeUrl, h.iscSample.people.jamie.id, cookie);
            expect(status).toBe(502);
            expect(page).toContain('SailPoint could not be reached');
            expect(fn.logged.filter((line) => line.includes('http.unhandled'))).toEqual([]);
        });

        it('keeps the approver’s sign-in usable when a callback without their cookie arrives first', async () => {
            await serve();
            const { authorizeUrl, cookie } = await openLink(jamie);
            const callback = h.simulator.isc.signIn(authorizeUrl, h.iscSample.people.jamie.id);
            expect((await fetch(onHost(callback), { redirect: 'manual' })).status).toBe(403);
            expect((await fetch(onHost(callback), { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
        });

        it('connects the approver who signs in as themselves, and says so', async () => {
            await serve();
            const { status, page } = await connect(jamie, h.iscSample.people.jamie.id);
            expect(status).toBe(200);
            expect(page).toContain('Connected as Jamie Rivera. You can close this tab and approve in chat.');
            const connection = (await fn.get(`/api/connections/isc?approverEmail=${jamie}`)).body;
            expect(connection).toMatchObject({ connected: true, identityId: h.iscSample.people.jamie.id });
            expect(connectionStatus.strict().safeParse(connection).success).toBe(true);
            expect(connectLink.strict().safeParse((await fn.post('/api/connections/isc/link', { approverEmail: jamie })).body).success).toBe(true);
        });

        it('connects nobody when someone else signs in on the approver’s link', async () => {
            await serve();
            const { status, page } = await connect(jamie, h.iscSample.people.carol.id);
            expect(status).toBe(403);
            expect(page).toContain('someone other than the approver');
            expect((await fn.get(`/api/connections/isc?approverEmail=${jamie}`)).body).toEqual({ connected: false });
            expect((await fn.get(`/api/connections/isc?approverEmail=${carol}`)).body).toEqual({ connected: false });
        });

        it('refuses a callback replayed after it connected, storing nothing more', async () => {
            await serve();
            const { authorizeUrl, cookie } = await openLink(jamie);
            const first = await signIn(authorizeUrl, h.iscSample.people.jamie.id, cookie);
            const replay = await fetch(onHost(first.callback), { headers: { cookie }, redirect: 'manual' });
            expect(first.status).toBe(200);
            expect(replay.status).toBe(400);
            expect(await replay.text()).toContain('already used');
        });

        it('refuses a callback without the cookie of the browser that started it', async () => {
            await serve();
            const { authorizeUrl } = await openLink(jamie);
            const other = await openLink(jamie);
            expect((await signIn(authorizeUrl, h.iscSample.people.jamie.id, '')).status).toBe(403);
            const { authorizeUrl: again } = await openLink(jamie);
            expect((await signIn(again, h.iscSample.people.jamie.id, other.cookie)).status).toBe(403);
            expect((await fn.get(`/api/connections/isc?approverEmail=${jamie}`)).body).toEqual({ connected: false });
        });

        it('refuses a tampered connect link without going to SailPoint', async () => {
            await serve();
            const { connectUrl } = await openLink(jamie);
            const ticket = new URL(connectUrl).searchParams.get('ticket')!;
            const [header, payload, signature] = ticket.split('.');
            const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), sub: carol })).toString('base64url');
            const opened = await fetch(`${fn.url}/api/connections/isc/connect?ticket=${header}.${forged}.${signature}`, { redirect: 'manual' });
            expect(opened.status).toBe(400);
            expect(opened.headers.get('location')).toBeNull();
            expect(await opened.text()).toContain('not valid or has expired');
        });

        it('answers 404 connections_off when approvers do not connect (ISC_DECIDE_AS=service)', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            fn = await startFunctionHost(h.settings);
            const answer = await fn.post('/api/connections/isc/link', { approverEmail: jamie });
            expect(answer.status).toBe(404);
            expect(answer.body.error.code).toBe('connections_off');
        });

        it('never logs the ticket, the state, the code or the cookie', async () => {
            await serve();
            const { connectUrl, authorizeUrl, cookie } = await openLink(jamie);
            const { callback } = await signIn(authorizeUrl, h.iscSample.people.jamie.id, cookie);
            const secrets = [new URL(connectUrl).searchParams.get('ticket')!, new URL(authorizeUrl).searchParams.get('state')!, new URL(callback).searchParams.get('code')!, cookie.split('=')[1]];
            for (const secret of secrets) expect(fn.logged.filter((line) => line.includes(secret))).toEqual([]);
        });
    });

    describe('notifying', () => {
        it('ends the message of an approver who has not connected with their connect link, and sends the plain one to an approver who has', async () => {
            h = await startHarness({ simulator: { sources: ['isc'], iscServiceReadOnly: true } });
            const settings = { ...h.settings, ...h.simulator.userOAuthSettings(), ISC_DECIDE_AS: 'user', PUBLIC_BASE_URL, USER_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}` };
            fn = await startFunctionHost(settings);
            await connect(jamie, h.iscSample.people.jamie.id);
            await fn.pollNow();
            const toJamie = h.simulator.messagesFor(h.iscSample.approvals.roleRequest.id).filter((sent) => sent.recipients.includes(jamie));
            const toCarol = h.simulator.messagesFor(h.iscSample.approvals.carolsRequest.id).filter((sent) => sent.recipients.includes(carol));
            expect(toJamie).toHaveLength(1);
            expect(toJamie[0].message).not.toContain('connect your SailPoint account');
            expect(toCarol).toEqual([expect.objectContaining({ recipients: [carol] })]);
            expect(toCarol[0].message).toMatch(new RegExp(`<a href="${PUBLIC_BASE_URL}/api/connections/isc/connect\\?ticket=[^"]+">connect your SailPoint account</a> once\\.$`));
        });
    });

    describe('notifying a large group', () => {
        it('gives 20 unconnected members of a group of 60 their own link and the other 40 the shared message, each once', async () => {
            h = await startHarness({ simulator: { sources: ['isc'], iscServiceReadOnly: true } });
            const members = Array.from({ length: 60 }, (_, i) => h.simulator.isc.addIdentity({ name: `Member ${i}`, email: `member${i}@example.com` }));
            const group = h.simulator.isc.addGroup('Big reviewers', members.map((member) => member.id));
            const approval = h.simulator.isc.addApproval({ name: 'Access Request: Big group', requesterId: h.iscSample.people.allen.id, requesteeId: h.iscSample.people.amy.id, assignedTo: [{ kind: 'group', id: group.id }] });
            fn = await startFunctionHost({ ...h.settings, ...h.simulator.userOAuthSettings(), ISC_DECIDE_AS: 'user', PUBLIC_BASE_URL, USER_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}` });
            await fn.pollNow();
            const sent = h.simulator.messagesFor(approval.id);
            const recipients = sent.flatMap((message) => message.recipients);
            expect(new Set(recipients).size).toBe(60);
            expect(recipients).toHaveLength(60);
            expect(sent.filter((message) => message.message.includes('connect your SailPoint account'))).toHaveLength(20);
            expect(sent.filter((message) => message.message.includes('connect your SailPoint account')).every((message) => message.recipients.length === 1)).toBe(true);
        });
    });

    describe('deciding', () => {
        const accessRequestFor = (ownerId: string) =>
            h.simulator.isc.addAccessRequest({ ownerId, requesterId: h.iscSample.people.allen.id, requestedForId: h.iscSample.people.amy.id, name: 'Ledger', requestedObject: { id: 'ledger-role', name: 'Ledger', type: 'ROLE' } });

        it('approves an access request and rejects a generic approval with the approver’s own token, and ISC records them', async () => {
            await serve();
            await connect(jamie, h.iscSample.people.jamie.id);
            const request = accessRequestFor(h.iscSample.people.jamie.id);
            await fn.pollNow();
            const approved = await fn.post(`/api/approvals/${request.id}/approve`, { approverEmail: jamie });
            const rejected = await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/reject`, { approverEmail: jamie, comment: 'No need' });
            expect([approved.status, rejected.status]).toEqual([200, 200]);
            expect(writes().map(({ route, kind, identityId }) => ({ route, kind, identityId }))).toEqual([
                { route: 'isc.accessRequests.approve', kind: 'user', identityId: h.iscSample.people.jamie.id },
                { route: 'isc.reject', kind: 'user', identityId: h.iscSample.people.jamie.id },
            ]);
        });

        it('forwards and rejects access requests, and reassigns and approves generic approvals, as the approver', async () => {
            await serve();
            await connect(jamie, h.iscSample.people.jamie.id);
            await connect(carol, h.iscSample.people.carol.id);
            const [toForward, toReject] = [accessRequestFor(h.iscSample.people.jamie.id), accessRequestFor(h.iscSample.people.jamie.id)];
            await fn.pollNow();
            const { roleRequest, groupRequest } = h.iscSample.approvals;
            const answers = [
                await fn.post(`/api/approvals/${toForward.id}/reassign`, { approverEmail: jamie, reassignToEmail: 'dana.lee@example.com' }),
                await fn.post(`/api/approvals/${toReject.id}/reject`, { approverEmail: jamie, comment: 'No' }),
                await fn.post(`/api/approvals/${groupRequest.id}/reassign`, { approverEmail: carol, reassignToEmail: 'dana.lee@example.com' }),
                await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: jamie }),
            ];
            expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
            expect(writes().map(({ route, kind, identityId }) => ({ route, kind, identityId }))).toEqual([
                { route: 'isc.accessRequests.forward', kind: 'user', identityId: h.iscSample.people.jamie.id },
                { route: 'isc.accessRequests.reject', kind: 'user', identityId: h.iscSample.people.jamie.id },
                { route: 'isc.reassign', kind: 'user', identityId: h.iscSample.people.carol.id },
                { route: 'isc.approve', kind: 'user', identityId: h.iscSample.people.jamie.id },
            ]);
        });

        it('lets the read-only service credential write nothing', async () => {
            await serve();
            await connect(jamie, h.iscSample.people.jamie.id);
            await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/comment`, { approverEmail: jamie, comment: 'Checking' });
            expect(h.simulator.isc.writes.filter((write) => write.kind === 'service')).toEqual([]);
            expect(writes()).toHaveLength(1);
        });

        it('answers 403 connect_required with the link, and writes nothing, for an approver who has not connected', async () => {
            await serve();
            const answer = await fn.post(`/api/approvals/${h.iscSample.approvals.carolsRequest.id}/approve`, { approverEmail: carol });
            expect(answer.status).toBe(403);
            expect(answer.body.error).toMatchObject({ code: 'connect_required', connectUrl: expect.stringMatching(`^${PUBLIC_BASE_URL}/api/connections/isc/connect\\?ticket=`) });
            expect(answer.body.error.message).toMatch(/^Connect your SailPoint account once/);
            expect(h.simulator.isc.writes).toEqual([]);
        });

        it('leaves the approval open for the approver after connect_required, so they decide once connected', async () => {
            await serve();
            const id = h.iscSample.approvals.carolsRequest.id;
            expect((await fn.post(`/api/approvals/${id}/approve`, { approverEmail: carol })).status).toBe(403);
            await connect(carol, h.iscSample.people.carol.id);
            expect((await fn.post(`/api/approvals/${id}/approve`, { approverEmail: carol })).status).toBe(200);
        });

        it('deletes a connection ISC revoked and asks the approver to connect again', async () => {
            await serve();
            await connect(jamie, h.iscSample.people.jamie.id);
            h.simulator.isc.revokeUser(h.iscSample.people.jamie.id);
            const answer = await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/approve`, { approverEmail: jamie });
            expect(answer.status).toBe(403);
            expect(answer.body.error.code).toBe('connect_required');
            expect((await fn.get(`/api/connections/isc?approverEmail=${jamie}`)).body).toEqual({ connected: false });
            expect(writes()).toEqual([]);
        });

        it('refreshes an expired access token with the stored refresh token, and saves the rotated one', async () => {
            await serve();
            await connect(jamie, h.iscSample.people.jamie.id);
            const { roleRequest } = h.iscSample.approvals;
            expect((await fn.post(`/api/approvals/${roleRequest.id}/comment`, { approverEmail: jamie, comment: 'one' })).status).toBe(200);
            h.simulator.isc.expireUserTokens(h.iscSample.people.jamie.id);
            expect((await fn.post(`/api/approvals/${roleRequest.id}/comment`, { approverEmail: jamie, comment: 'two' })).status).toBe(200);
            h.simulator.isc.expireUserTokens(h.iscSample.people.jamie.id);
            expect((await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: jamie })).status).toBe(200);
            expect(h.simulator.isc.userTokenGrants.filter((grant) => grant.grantType === 'refresh_token')).toHaveLength(3);
            expect((await fn.get(`/api/connections/isc?approverEmail=${jamie}`)).body.connected).toBe(true);
        });

        it("turns ISC's refusal of the approver's token into 403 not_approver, retried as nobody else", async () => {
            await serve();
            await connect(jamie, h.iscSample.people.jamie.id);
            h.simulator.failNext('isc.approve', { status: 403, body: JSON.stringify({ detailCode: '403 Forbidden', messages: [{ text: 'not allowed' }] }) });
            const answer = await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/approve`, { approverEmail: jamie });
            expect(answer.status).toBe(403);
            expect(answer.body.error.code).toBe('not_approver');
            expect(h.simulator.isc.writes.filter((write) => write.kind === 'service')).toEqual([]);
        });

        it('records in the audit trail that the approver acted as themselves, with their ISC identity', async () => {
            await serve({ FUNCTION_KEY: 'function-key-0123456789', MASTER_KEY: 'master-key-for-audit-0123456789' });
            await connect(jamie, h.iscSample.people.jamie.id);
            await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/approve`, { approverEmail: jamie });
            const audit = await fn.get('/api/audit', { 'x-functions-key': 'master-key-for-audit-0123456789' });
            expect(audit.body.entries[0]).toMatchObject({ action: 'approve', result: 'approved', actedAs: 'user', actedAsIdentityId: h.iscSample.people.jamie.id });
        });

        it('records a decision ISC refused as attempted with the approver’s own token, with their ISC identity', async () => {
            await serve({ FUNCTION_KEY: 'function-key-0123456789', MASTER_KEY: 'master-key-for-audit-0123456789' });
            await connect(jamie, h.iscSample.people.jamie.id);
            h.simulator.failNext('isc.approve', { status: 403, body: JSON.stringify({ detailCode: '403 Forbidden', messages: [{ text: 'not allowed' }] }) });
            await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/approve`, { approverEmail: jamie });
            const audit = await fn.get('/api/audit', { 'x-functions-key': 'master-key-for-audit-0123456789' });
            expect(audit.body.entries[0]).toMatchObject({ action: 'approve', result: 'not_approver', actedAs: 'user', actedAsIdentityId: h.iscSample.people.jamie.id });
        });

        it('stops deciding for someone who disconnected, in every instance at once', async () => {
            await serve();
            await connect(jamie, h.iscSample.people.jamie.id);
            expect((await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/comment`, { approverEmail: jamie, comment: 'cached' })).status).toBe(200);
            expect((await fn.post('/api/connections/isc/disconnect', { approverEmail: jamie })).body).toEqual({ disconnected: true });
            const answer = await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/approve`, { approverEmail: jamie });
            expect(answer.body.error.code).toBe('connect_required');
        });
    });
});

describe('the service credential in user mode', () => {
    it('refuses to carry an ISC write itself, even if a caller forgot the approver’s credential', async () => {
        const config = loadConfig({
            ISC_BASE_URL: 'http://127.0.0.1:9',
            ISC_CLIENT_ID: 'pat',
            ISC_CLIENT_SECRET: 'secret',
            MOVEWORKS_EVENT_ID: 'event',
            MOVEWORKS_API_KEY: 'key',
            AzureWebJobsStorage: 'UseDevelopmentStorage=true',
            ISC_DECIDE_AS: 'user',
            ISC_USER_CLIENT_ID: 'user-client',
            ISC_USER_CLIENT_SECRET: 'user-secret',
            ISC_AUTHORIZE_URL: 'https://acme.login.sailpoint.com/oauth/authorize',
            PUBLIC_BASE_URL,
            USER_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        });
        const client = new IscClient(config.isc!, new HttpClient(config.http, silentLogger), new TokenCache(), new Pacer(10, 10_000));
        await expect(client.act('a'.repeat(32), 'approve', {})).rejects.toThrow('needs the approver credential');
    });
});
