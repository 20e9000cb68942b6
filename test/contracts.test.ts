import { IscAccessRequestApproval, IscApiVersion, IscApproval } from '../dev/simulator/isc';
import { seedAccessRequestSampleData, seedIscSampleData } from '../dev/simulator/sampleData';
import { Simulator } from '../dev/simulator/simulator';
import { checkIscExchange } from './support/iscContract';

/** A resource such as `/generic-approvals/{id}` in each layout: the version after the service, or before it. */
const perService = (resource: string) => resource.replace(/^(\/[^/]+)/, '$1/v1');
const yearBased = (resource: string) => `/v2025${resource}`;

/** The layouts the simulated tenant serves, each with SailPoint's document for it; v1 is the default. */
const LAYOUTS: { layout: string; iscApiVersion?: IscApiVersion; version: IscApiVersion; at: typeof perService; otherLayout: typeof perService; identityType?: string }[] = [
    { layout: 'per-service v1, the default', version: 'v1', at: perService, otherLayout: yearBased, identityType: 'HUMAN' },
    { layout: 'year-based v2025', iscApiVersion: 'v2025', version: 'v2025', at: yearBased, otherLayout: perService },
];

/**
 * The simulated Identity Security Cloud tenant checked against SailPoint's own OpenAPI document for the
 * layout it serves (test/contracts/), exchange by exchange, so what the app is tested against is what ISC
 * publishes.
 */
describe.each(LAYOUTS)("the simulated Identity Security Cloud, $layout layout, against SailPoint's $version OpenAPI", ({ iscApiVersion, version, at, otherLayout, identityType }) => {
    let simulator: Simulator;
    let token: string;
    let sample: ReturnType<typeof seedIscSampleData>;
    let accessSample: ReturnType<typeof seedAccessRequestSampleData>;
    let serial: IscApproval;
    let inFlight: IscAccessRequestApproval;
    let cleared: IscAccessRequestApproval;

    beforeEach(async () => {
        simulator = new Simulator({ sources: ['isc'], iscApiVersion });
        await simulator.start();
        const isc = simulator.isc;
        sample = seedIscSampleData(simulator);
        accessSample = seedAccessRequestSampleData(simulator, sample.people);
        const { jamie, carol, allen, amy, dana } = sample.people;
        serial = isc.addApproval({
            name: 'Access Request: Payroll Administrator',
            requesterId: allen.id,
            requesteeId: amy.id,
            assignedTo: [{ kind: 'identity', id: jamie.id }],
            laterSteps: [[{ kind: 'group', id: sample.reviewers.id }]],
            requestedTarget: [{ id: '3d4e5f60718293a4b5c6d7e8f90a1b2c', name: 'Payroll Administrator', targetType: 'ROLE', requestType: 'GRANT_ACCESS' }],
        });
        inFlight = isc.addAccessRequest({
            ownerId: carol.id,
            requesterId: allen.id,
            requestedForId: dana.id,
            requestType: 'REVOKE_ACCESS',
            requestedObject: { id: '4e5f60718293a4b5c6d7e8f90a1b2c3d', name: 'GitHub Enterprise Owner', type: 'ENTITLEMENT' },
        });
        isc.setActionInProcess(inFlight.id, 'APPROVED');
        cleared = isc.addAccessRequest({
            ownerId: jamie.id,
            requestedForId: amy.id,
            requestType: 'MODIFY_ACCESS',
            requestedObject: { id: '5f60718293a4b5c6d7e8f90a1b2c3d4e', name: 'Finance Analyst', type: 'ROLE' },
            startDate: Date.now() + 7 * 86_400_000,
            sodConflicts: [],
        });
        token = await newToken();
    });
    afterEach(() => simulator.stop());

    async function newToken(): Promise<string> {
        const response = await fetch(`${simulator.baseUrl}/oauth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'client_credentials', client_id: simulator.isc.clientId, client_secret: simulator.isc.clientSecret }),
        });
        return ((await response.json()) as { access_token: string }).access_token;
    }

    /** A call to a resource at its path in the layout; `rawBody` is sent as is, `body` as JSON. */
    async function api(method: 'GET' | 'POST', resource: string, options: { query?: Record<string, string>; body?: unknown; rawBody?: string; token?: string } = {}) {
        const url = new URL(`${simulator.baseUrl}${at(resource)}`);
        for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
        const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
        const response = await fetch(url, {
            method,
            headers: { authorization: `Bearer ${options.token ?? token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            body,
        });
        const text = await response.text();
        const isJson = text !== '' && response.headers.get('content-type') === 'application/json';
        return { status: response.status, headers: response.headers, json: isJson ? JSON.parse(text) : undefined };
    }

    const pending = async (query: Record<string, string> = {}) => (await api('GET', '/access-request-approvals/pending', { query })).json as Record<string, any>[];
    const pendingIds = async (query: Record<string, string> = {}) => (await pending(query)).map((approval) => approval.id as string);
    const decide = (id: string, action: 'approve' | 'reject' | 'forward', body?: unknown) => api('POST', `/access-request-approvals/${id}/${action}`, { body });
    // A request these specs make wrong on purpose, to see the 400 it gets, has its answer checked, not its query.
    const problems = (exchanges: Parameters<typeof checkIscExchange>[0][] = simulator.isc.exchanges) =>
        exchanges.flatMap((exchange) => checkIscExchange(exchange.status === 400 ? { ...exchange, query: undefined } : exchange));
    const statuses = () => simulator.isc.exchanges.map((exchange) => exchange.status);

    it("every pending access-request list answer matches SailPoint's PendingApproval schema, for each owner, filter, sort and page", async () => {
        const { sodConflict, reasonRequired } = accessSample.accessRequests;
        const queries: Record<string, string>[] = [
            {},
            { 'owner-id': sample.people.jamie.id },
            { 'owner-id': 'me' },
            { limit: '1', offset: '0', count: 'true' },
            { limit: '2', offset: '2' },
            { limit: '0' },
            { offset: '100' },
            { filters: `id eq "${sodConflict.id}"` },
            { filters: `id in ("${sodConflict.id}","${reasonRequired.id}")` },
            { filters: `accessRequestId eq "${reasonRequired.accessRequestId}"` },
            { filters: `requestedFor.id in ("${sample.people.amy.id}") and id in ("${sodConflict.id}","${cleared.id}")` },
            { sorters: 'created' },
            { sorters: '-created' },
            { sorters: 'modified' },
            { sorters: '-modified,created' },
        ];
        for (const query of queries) await api('GET', '/access-request-approvals/pending', { query });
        expect(statuses()).toEqual([200, ...queries.map(() => 200)]);
        expect(problems()).toEqual([]);
    });

    it('a pending approval shows its SoD conflict, reviewer comment, forward, sunset, privilege level and reason rule in the fields the schema names', async () => {
        const { sodConflict, reasonRequired } = accessSample.accessRequests;
        const { jamie, carol, allen, dana } = sample.people;
        const listed = await pending();
        const conflict = listed.find((approval) => approval.id === sodConflict.id)!;
        const [context] = conflict.sodViolationContext.violationCheckResult.violationContexts;
        expect(context.policy).toMatchObject({ type: 'SOD_POLICY', name: 'Procure to Pay: maintain vendors vs. approve invoices' });
        expect(context.conflictingAccessCriteria.leftCriteria.criteriaList).toEqual([expect.objectContaining({ name: 'SAP Vendor Master Maintenance', existing: true })]);
        expect(context.conflictingAccessCriteria.rightCriteria.criteriaList).toEqual([
            expect.objectContaining({ id: sodConflict.requestedObject.id, name: 'SAP AP Invoice Approver', existing: false }),
        ]);
        expect(conflict.sodViolationContext.violationCheckResult.violatedPolicies).toEqual([context.policy]);

        const reason = listed.find((approval) => approval.id === reasonRequired.id)!;
        expect(reason).toMatchObject({
            commentRequiredWhenRejected: true,
            privilegeLevel: 'High',
            removeDate: new Date(reasonRequired.removeDate!).toISOString(),
            owner: { type: 'IDENTITY', id: carol.id, name: carol.name },
            requester: { type: 'IDENTITY', id: dana.id, name: dana.name },
            requesterComment: { comment: reasonRequired.requesterComment, author: { type: 'IDENTITY', id: dana.id } },
            previousReviewersComments: [{ comment: 'Approved as her manager: on call for March only.', author: { id: allen.id, name: allen.name } }],
            forwardHistory: [{ oldApproverName: jamie.name, newApproverName: carol.name, forwarderName: jamie.name, reassignmentType: 'MANUAL_REASSIGNMENT' }],
            sodViolationContext: null,
        });
        expect(listed.find((approval) => approval.id === cleared.id)!.sodViolationContext.violationCheckResult).toMatchObject({ violationContexts: [], violatedPolicies: [] });
        expect(listed.find((approval) => approval.id === inFlight.id)!.actionInProcess).toBe('APPROVED');
        expect(problems()).toEqual([]);
    });

    it('the pending list filters on id, accessRequestId and requestedFor.id, case-insensitively, and sorts on created and modified', async () => {
        const { sodConflict, reasonRequired, mirrored } = accessSample.accessRequests;
        expect(await pendingIds({ filters: `id eq "${sodConflict.id.toUpperCase()}"` })).toEqual([sodConflict.id]);
        expect(await pendingIds({ filters: `accessRequestId in ("${reasonRequired.accessRequestId}","${mirrored.accessRequestId}")` })).toEqual([reasonRequired.id, mirrored.id]);
        expect(await pendingIds({ filters: `requestedFor.id eq "${sample.people.dana.id}"` })).toEqual([reasonRequired.id, inFlight.id]);
        // Seeded an hour apart: the SoD conflict 3 h ago, the reason-required one 2 h ago (modified 1 h ago), the mirrored one 1 h ago.
        expect((await pendingIds({ sorters: 'created' })).slice(0, 3)).toEqual([sodConflict.id, reasonRequired.id, mirrored.id]);
        expect((await pendingIds({ sorters: '-created' })).slice(-3)).toEqual([mirrored.id, reasonRequired.id, sodConflict.id]);
        expect((await pendingIds({ sorters: 'modified,-created' })).slice(0, 3)).toEqual([sodConflict.id, mirrored.id, reasonRequired.id]);
    });

    it('the pending list pages with limit and offset, counts with X-Total-Count, and lets a spec change the list between pages', async () => {
        const offsets: number[] = [];
        simulator.isc.beforeListPage = (offset) => offsets.push(offset);
        const all = await pendingIds();
        const first = await api('GET', '/access-request-approvals/pending', { query: { limit: '2', offset: '0', count: 'true' } });
        const second = await api('GET', '/access-request-approvals/pending', { query: { limit: '2', offset: '2' } });
        expect(first.headers.get('x-total-count')).toBe(String(all.length));
        expect(second.headers.get('x-total-count')).toBeNull();
        expect([...first.json, ...second.json].map((approval: { id: string }) => approval.id)).toEqual(all.slice(0, 4));
        expect(offsets).toEqual([0, 0, 2]);
    });

    it("with owner-id only that owner's approvals are listed, and none for me (the API client's identity owns none)", async () => {
        const { reasonRequired } = accessSample.accessRequests;
        expect(await pendingIds({ 'owner-id': sample.people.carol.id })).toEqual([reasonRequired.id, inFlight.id]);
        expect(await pendingIds({ 'owner-id': 'me' })).toEqual([]);
        expect(problems()).toEqual([]);
    });

    it('an unsupported filter field or operator, a sorter, a limit or an offset is answered 400 with an ErrorResponseDto', async () => {
        const queries: Record<string, string>[] = [
            { filters: 'name eq "Finance Analyst"' },
            { filters: 'created gt "2026-01-01T00:00:00Z"' },
            { filters: 'id eq' },
            { sorters: 'name' },
            { limit: '251' },
            { limit: 'ten' },
            { offset: '-1' },
        ];
        for (const query of queries) await api('GET', '/access-request-approvals/pending', { query });
        expect(statuses()).toEqual([200, ...queries.map(() => 400)]);
        expect(problems()).toEqual([]);
    });

    it('approve and reject answer 202 with {}, record the action, and the approval leaves the pending list', async () => {
        const { sodConflict, reasonRequired, mirrored } = accessSample.accessRequests;
        expect(await decide(sodConflict.id, 'approve')).toMatchObject({ status: 202, json: {} });
        expect(await decide(reasonRequired.id, 'reject', { comment: 'Use the read-only role for on-call work.' })).toMatchObject({ status: 202, json: {} });
        expect(await decide(cleared.id, 'approve', { comment: 'Fine for the new start date.' })).toMatchObject({ status: 202, json: {} });
        expect(simulator.isc.accessRequestActions.map(({ approvalId, action, body }) => ({ approvalId, action, body }))).toEqual([
            { approvalId: sodConflict.id, action: 'approve', body: {} },
            { approvalId: reasonRequired.id, action: 'reject', body: { comment: 'Use the read-only role for on-call work.' } },
            { approvalId: cleared.id, action: 'approve', body: { comment: 'Fine for the new start date.' } },
        ]);
        expect([sodConflict.state, reasonRequired.state, cleared.state]).toEqual(['APPROVED', 'REJECTED', 'APPROVED']);
        expect(await pendingIds()).toEqual([mirrored.id, inFlight.id]);
        expect(problems()).toEqual([]);
    });

    it('forward answers 202 with {}, hands the approval to the new owner and adds a forwardHistory entry', async () => {
        const { sodConflict } = accessSample.accessRequests;
        const { jamie, dana } = sample.people;
        const answer = await decide(sodConflict.id, 'forward', { newOwnerId: dana.id, comment: 'Dana runs accounts payable.' });
        expect(answer).toMatchObject({ status: 202, json: {} });
        const [listed] = await pending({ filters: `id eq "${sodConflict.id}"` });
        expect(listed.owner).toEqual({ type: 'IDENTITY', id: dana.id, name: dana.name });
        expect(listed.forwardHistory).toEqual([
            {
                oldApproverName: jamie.name,
                newApproverName: dana.name,
                forwarderName: 'Moveworks service identity',
                comment: 'Dana runs accounts payable.',
                modified: listed.modified,
                reassignmentType: 'MANUAL_REASSIGNMENT',
            },
        ]);
        expect(await pendingIds({ 'owner-id': jamie.id })).not.toContain(sodConflict.id);
        expect(problems()).toEqual([]);
    });

    it('a decision on an unknown or an already decided approval is answered 404 with an ErrorResponseDto', async () => {
        const { sodConflict } = accessSample.accessRequests;
        simulator.isc.completeAccessRequest(sodConflict.id);
        await decide(sodConflict.id, 'approve');
        await decide(sodConflict.id, 'reject', { comment: 'Too late' });
        await decide('00000000000000000000000000000000', 'forward', { newOwnerId: sample.people.dana.id, comment: 'Anyone?' });
        expect(statuses()).toEqual([200, 404, 404, 404]);
        expect(simulator.isc.accessRequestActions).toEqual([]);
        expect(problems()).toEqual([]);
    });

    it('a decision while another is in process is answered 400, and goes through once ISC has finished it', async () => {
        expect((await decide(inFlight.id, 'approve')).status).toBe(400);
        expect((await decide(inFlight.id, 'reject', { comment: 'Keep it' })).json.messages[0].text).toMatch(/already in process/);
        simulator.isc.setActionInProcess(inFlight.id, undefined);
        expect((await decide(inFlight.id, 'approve')).status).toBe(202);
        expect(problems()).toEqual([]);
    });

    it('a reject without a comment or a forward without newOwnerId or to an unknown identity is answered 400, and the checker names each body that breaks the schema', async () => {
        const { sodConflict } = accessSample.accessRequests;
        await api('POST', `/access-request-approvals/${sodConflict.id}/reject`, { rawBody: '' });
        await decide(sodConflict.id, 'reject', { comment: '  ' });
        await decide(sodConflict.id, 'forward', { comment: 'Over to you' });
        await decide(sodConflict.id, 'forward', { newOwnerId: 'ffffffffffffffffffffffffffffffff', comment: 'Over to you' });
        await decide(sodConflict.id, 'forward', { newOwnerId: sample.people.dana.id, comment: 'x'.repeat(256) });
        const [, emptyReject, blankReject, noOwner, unknownOwner, longComment] = simulator.isc.exchanges;
        expect(statuses()).toEqual([200, 400, 400, 400, 400, 400]);
        expect(problems(simulator.isc.exchanges.map(({ method, path, status, responseBody }) => ({ method, path, status, responseBody })))).toEqual([]);
        expect(checkIscExchange(emptyReject)).toEqual([expect.stringContaining('request: empty, where the spec requires a body')]);
        expect(checkIscExchange(blankReject)).toEqual([]);
        expect(checkIscExchange(noOwner)).toEqual([expect.stringContaining("request body: (root) must have required property 'newOwnerId'")]);
        expect(checkIscExchange(unknownOwner)).toEqual([]);
        expect(checkIscExchange(longComment)).toEqual([expect.stringContaining('request body: /comment must NOT have more than 255 characters')]);
    });

    it('deciding an access-request approval, through the API or inside ISC, completes its generic mirror with the same outcome', async () => {
        const { mirrored, sodConflict } = accessSample.accessRequests;
        const otherMirror = simulator.isc.mirrorAsGeneric(sodConflict.id);
        await decide(mirrored.id, 'approve', { comment: 'For the QBR' });
        simulator.isc.completeAccessRequest(sodConflict.id, 'REJECTED');
        expect([accessSample.mirror.status, otherMirror.status]).toEqual(['APPROVED', 'REJECTED']);
        const approved = await api('GET', `/generic-approvals/${accessSample.mirror.id}`);
        const rejected = await api('GET', `/generic-approvals/${otherMirror.id}`);
        expect([approved.json.approvedBy.length, approved.json.rejectedBy.length, rejected.json.approvedBy.length, rejected.json.rejectedBy.length]).toEqual([1, 0, 0, 1]);
        expect(problems()).toEqual([]);
    });

    it('the generic mirror names its access request in referenceData and follows a forward to the new owner', async () => {
        const { mirrored } = accessSample.accessRequests;
        const { dana } = sample.people;
        await decide(mirrored.id, 'forward', { newOwnerId: dana.id, comment: 'Dana owns Salesforce access now.' });
        const { json } = await api('GET', `/generic-approvals/${accessSample.mirror.id}`);
        expect(json).toMatchObject({
            type: 'ACCESS_REQUEST_APPROVAL',
            name: [{ value: mirrored.name }],
            referenceData: [{ id: mirrored.accessRequestId, type: 'AccessRequestId', name: mirrored.name }],
            assignedTo: [{ identityID: dana.id, type: 'IDENTITY' }],
            requestedTarget: [{ id: mirrored.requestedObject.id, name: 'Salesforce Sales Analytics', targetType: 'ACCESS_PROFILE', requestType: 'GRANT_ACCESS' }],
        });
        expect(problems()).toEqual([]);
    });

    it("every generic-approvals answer matches SailPoint's Approval schema: lists with each flag and filter, get, approve, a serial step, reject, comments and reassign", async () => {
        const { roleRequest, groupRequest, carolsRequest } = sample.approvals;
        const lists: Record<string, string>[] = [
            {},
            { filters: 'status eq "PENDING"', limit: '250', offset: '0', count: 'true' },
            { 'include-approvers': 'true', 'include-comments': 'true' },
            { filters: `approvalId in ("${roleRequest.id}","${serial.id}")` },
            { limit: 'x' },
            { filters: 'requesterId eq "nobody"' },
        ];
        for (const query of lists) await api('GET', '/generic-approvals', { query });
        await api('GET', `/generic-approvals/${groupRequest.id}`);
        await api('POST', `/generic-approvals/${serial.id}/approve`, { body: { comment: 'First step done' } });
        await api('POST', `/generic-approvals/${serial.id}/approve`, { rawBody: '' });
        await api('POST', `/generic-approvals/${roleRequest.id}/comments`, { body: { comment: 'Checking with finance' } });
        await api('POST', `/generic-approvals/${roleRequest.id}/comments`, { body: {} });
        await api('POST', `/generic-approvals/${carolsRequest.id}/reassign`, { body: { reassignTo: sample.people.dana.id, reassignFrom: sample.people.carol.id, comment: 'Dana covers' } });
        await api('POST', `/generic-approvals/${carolsRequest.id}/reject`, { body: { comment: 'Not needed' } });
        await api('POST', `/generic-approvals/${carolsRequest.id}/approve`, { body: {} });
        await api('POST', '/generic-approvals/00000000-0000-4000-8000-000000000000/approve', { body: {} });
        expect(statuses()).toEqual([200, 200, 200, 200, 200, 400, 400, 200, 200, 200, 200, 400, 204, 204, 400, 404]);
        expect(problems()).toEqual([]);
    });

    it("identity lookups by email and by id match SailPoint's Identity schema, an unsupported filter with a 400", async () => {
        const { jamie, carol } = sample.people;
        const byEmail = await api('GET', '/identities', { query: { filters: `email eq "${jamie.email}"` } });
        const byId = await api('GET', '/identities', { query: { filters: `id in ("${jamie.id}","${carol.id}")` } });
        await api('GET', '/identities', { query: { filters: 'department eq "Finance"' } });
        expect(byEmail.json.map((identity: { id: string }) => identity.id)).toEqual([jamie.id]);
        expect(byId.json).toHaveLength(2);
        expect(statuses()).toEqual([200, 200, 200, 400]);
        expect(problems()).toEqual([]);
    });

    it("a rate-limited answer is 429 with Retry-After in the spec's shape", async () => {
        simulator.isc.maxPer10Seconds = 2;
        await pending();
        await pending();
        const limited = await api('GET', '/access-request-approvals/pending');
        expect(limited.status).toBe(429);
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(problems()).toEqual([]);
    });

    it("an unknown or expired token is answered 401 in the spec's shape", async () => {
        await api('GET', '/access-request-approvals/pending', { token: 'not-a-token' });
        simulator.isc.expireTokens();
        await decide(accessSample.accessRequests.sodConflict.id, 'approve');
        expect(statuses()).toEqual([200, 401, 401]);
        expect(problems()).toEqual([]);
    });

    it("without ORG_ADMIN, listing the whole org's pending approvals, or another identity's, is refused 403 naming the ORG_ADMIN user level", async () => {
        simulator.isc.orgAdmin = false;
        const everyone = await api('GET', '/access-request-approvals/pending');
        const someoneElse = await api('GET', '/access-request-approvals/pending', { query: { 'owner-id': sample.people.jamie.id } });
        const mine = await api('GET', '/access-request-approvals/pending', { query: { 'owner-id': 'me' } });
        expect([everyone.status, someoneElse.status, mine.status]).toEqual([403, 403, 200]);
        expect(everyone.json.messages[0].text).toContain('ORG_ADMIN');
        expect(problems()).toEqual([]);
    });

    it("faults the simulator injects are not recorded as the tenant's exchanges", async () => {
        simulator.failNext('isc.accessRequests.pending', { status: 503 });
        expect((await api('GET', '/access-request-approvals/pending')).status).toBe(503);
        await pending({ limit: '1' });
        expect(simulator.isc.exchanges.map(({ route, status, query }) => ({ route, status, query }))).toEqual([
            { route: 'isc.token', status: 200, query: {} },
            { route: 'isc.accessRequests.pending', status: 200, query: { limit: '1' } },
        ]);
    });

    it('a stale id on GET /generic-approvals/{id} is answered 404, a status the spec leaves undeclared there (ISC answers 404 for stale ids)', async () => {
        const answer = await api('GET', '/generic-approvals/00000000-0000-4000-8000-000000000000');
        expect(answer.status).toBe(404);
        expect(problems()).toEqual([expect.stringContaining('response: status 404 is not declared')]);
    });

    it(`hands the app its layout as ISC_API_VERSION=${version}`, () => {
        expect(simulator.settings().ISC_API_VERSION).toBe(version);
    });

    it("answers the other layout's paths 404, as a tenant would, and records no exchange for them", async () => {
        const own = await api('GET', '/access-request-approvals/pending');
        const other = await fetch(`${simulator.baseUrl}${otherLayout('/access-request-approvals/pending')}`, { headers: { authorization: `Bearer ${token}` } });
        expect([own.status, other.status]).toEqual([200, 404]);
        expect(simulator.isc.exchanges.map((exchange) => exchange.path)).toEqual(['/oauth/token', at('/access-request-approvals/pending')]);
    });

    it(`a pending approval for a person names its identityType as the ${version} schema does (v1: HUMAN; v2025: no such field)`, async () => {
        const listed = await pending();
        expect(listed.length).toBeGreaterThan(0);
        expect(listed.map((approval) => approval.identityType)).toEqual(listed.map(() => identityType));
        expect(problems()).toEqual([]);
    });

    it('the checker reports a recorded request changed to break the schema: a limit that is not a number, a forward without newOwnerId', async () => {
        await pending({ limit: '2' });
        await decide(accessSample.accessRequests.sodConflict.id, 'forward', { newOwnerId: sample.people.dana.id, comment: 'Dana runs accounts payable.' });
        const [, list, forward] = simulator.isc.exchanges;
        expect(problems([list, forward])).toEqual([]);
        expect(checkIscExchange({ ...list, query: { limit: 'two' } })).toEqual([expect.stringContaining('query limit: (root) must be integer (got "two")')]);
        expect(checkIscExchange({ ...forward, requestBody: JSON.stringify({ comment: 'Dana runs accounts payable.' }) })).toEqual([
            expect.stringContaining("request body: (root) must have required property 'newOwnerId'"),
        ]);
    });

    it('the checker reports a recorded answer changed to break the schema: an unknown requestType, a generic approval whose name is not a list', async () => {
        await pending({ limit: '1' });
        await api('GET', `/generic-approvals/${sample.approvals.roleRequest.id}`);
        const [, list, approval] = simulator.isc.exchanges;
        expect(problems([list, approval])).toEqual([]);
        const [listed] = JSON.parse(list.responseBody) as Record<string, unknown>[];
        expect(checkIscExchange({ ...list, responseBody: JSON.stringify([{ ...listed, requestType: 'GRANT' }]) })).toEqual([
            expect.stringContaining('response 200: /0/requestType must be equal to one of the allowed values (got "GRANT")'),
        ]);
        expect(checkIscExchange({ ...approval, responseBody: JSON.stringify({ ...JSON.parse(approval.responseBody), name: 'Payroll Administrator' }) })).toEqual([
            expect.stringContaining('response 200: /name must be array'),
        ]);
    });
});

describe("the checker of exchanges against SailPoint's OpenAPI documents", () => {
    const pendingApproval = { id: '2c91808b7294bea301729568c68c002e', name: 'Finance Analyst', requestType: 'GRANT_ACCESS', commentRequiredWhenRejected: false };
    const listAnswer = (items: unknown[]) => ({ method: 'GET', path: '/v2025/access-request-approvals/pending', status: 200, responseBody: JSON.stringify(items) });

    it('passes a conforming answer and treats a null optional field as absent', () => {
        expect(checkIscExchange(listAnswer([pendingApproval, { ...pendingApproval, removeDate: null, owner: null }]))).toEqual([]);
    });

    it('reports an unknown enum value, a wrong type, and a required field that is missing or null', () => {
        expect(checkIscExchange(listAnswer([{ ...pendingApproval, requestType: 'GRANT' }]))).toEqual([expect.stringContaining('/0/requestType must be equal to one of the allowed values (got "GRANT")')]);
        expect(checkIscExchange(listAnswer([{ ...pendingApproval, commentRequiredWhenRejected: 'yes' }]))).toEqual([expect.stringContaining('/0/commentRequiredWhenRejected must be boolean')]);
        const identities = (body: unknown) => checkIscExchange({ method: 'GET', path: '/v2025/identities', status: 200, responseBody: JSON.stringify(body) });
        expect(identities([{ id: 'a', emailAddress: 'a@example.com' }])).toEqual([expect.stringContaining("must have required property 'name'")]);
        expect(identities([{ id: 'a', name: null }])).toEqual([expect.stringContaining("must have required property 'name'")]);
    });

    it('reports a forward body without newOwnerId, an undeclared status and a path the spec does not have', () => {
        const forward = { method: 'POST', path: '/v2025/access-request-approvals/2c91808b7294bea301729568c68c002e/forward', status: 202, responseBody: '{}' };
        expect(checkIscExchange({ ...forward, requestBody: JSON.stringify({ comment: 'Over to you' }) })).toEqual([expect.stringContaining("must have required property 'newOwnerId'")]);
        expect(checkIscExchange({ ...forward, status: 200 })).toEqual([expect.stringContaining('status 200 is not declared')]);
        expect(checkIscExchange({ ...forward, path: '/v2025/access-request-approvals/x/cancel' })).toEqual([expect.stringContaining('no such operation in the v2025 document')]);
        expect(checkIscExchange({ ...forward, path: '/access-request-approvals/v1/x/cancel' })).toEqual([expect.stringContaining('no such operation in the v1 document')]);
    });

    it("checks each exchange against its layout's document: a machine identity's request passes in v1 and is refused in v2025", () => {
        const forMachine = { ...pendingApproval, requestedFor: { type: 'MACHINE_IDENTITY', id: 'f0e1d2c3b4a5968778695a4b3c2d1e0f', name: 'Build agent' } };
        expect(checkIscExchange({ ...listAnswer([forMachine]), path: '/access-request-approvals/v1/pending' })).toEqual([]);
        expect(checkIscExchange(listAnswer([forMachine]))).toEqual([expect.stringContaining('/0/requestedFor/type must be equal to one of the allowed values (got "MACHINE_IDENTITY")')]);
    });

    it('checks v3 and v2024 access-request approvals against v2025, whose shapes the reference says they share', () => {
        for (const path of ['/v3/access-request-approvals/pending', '/v2024/access-request-approvals/pending']) {
            expect(checkIscExchange({ ...listAnswer([pendingApproval]), path })).toEqual([]);
            expect(checkIscExchange({ ...listAnswer([{ ...pendingApproval, requestType: 'GRANT' }]), path })).toEqual([
                expect.stringContaining('(v2025 GET /access-request-approvals/pending) response 200: /0/requestType must be equal to one of the allowed values'),
            ]);
        }
    });

    it('reports a path no document covers: other year-based generic approvals or identities, another service version, no version', () => {
        for (const path of ['/v2026/generic-approvals', '/v2024/generic-approvals', '/v3/identities', '/generic-approvals/v2', '/generic-approvals']) {
            expect(checkIscExchange({ method: 'GET', path, status: 200, responseBody: '[]' })).toEqual([expect.stringContaining(`GET ${path}: no document in test/contracts covers this path`)]);
        }
    });

    it('reports a query parameter the operation does not declare, or a value its schema refuses', () => {
        const list = { method: 'GET', path: '/v2025/access-request-approvals/pending', status: 200, responseBody: '[]' };
        expect(checkIscExchange({ ...list, query: { limit: '250', offset: '0', count: 'true', sorters: 'created' } })).toEqual([]);
        expect(checkIscExchange({ ...list, query: { ownerId: 'x' } })).toEqual([expect.stringContaining('query: ownerId is not a parameter of this operation')]);
        expect(checkIscExchange({ ...list, query: { limit: '500' } })).toEqual([expect.stringContaining('query limit: (root) must be <= 250')]);
        expect(checkIscExchange({ ...list, path: '/v2025/identities', query: { defaultFilter: 'ALL' } })).toEqual([expect.stringContaining('query defaultFilter')]);
    });
});
