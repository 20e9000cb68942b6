import { createHash, randomBytes } from 'node:crypto';
import { seedAccessRequestSampleData, seedIscSampleData } from '../dev/simulator/sampleData';
import { Simulator, SimulatorOptions } from '../dev/simulator/simulator';
import { checkIscExchange } from './support/iscContract';

/**
 * The simulated Identity Security Cloud's Identity AI recommendations (`POST /recommendations/v1/request`,
 * scope `iai:decisions:manage`), over real HTTP on 127.0.0.1: verdicts in request order, MAYBE and
 * NOT_FOUND where none is set, the tenant without Identity AI, scopes, malformed bodies, faults, the
 * year-based layout, and the answers against SailPoint's v1 OpenAPI.
 */

const PER_SERVICE = '/recommendations/v1/request';
const YEAR_BASED = '/v2025/recommendations/request';
/** Every request of this spec gives up after this long, so no test outlives a hung answer. */
const REQUEST_TIMEOUT_MS = 5_000;

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

async function token(form: Record<string, string>): Promise<string> {
    const answer = await fetch(`${simulator.baseUrl}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const json = (await answer.json()) as { access_token?: string };
    if (answer.status !== 200 || !json.access_token) throw new Error(`the token endpoint answered ${answer.status}: ${JSON.stringify(json)}`);
    return json.access_token;
}

const serviceToken = () => token({ grant_type: 'client_credentials', client_id: simulator.isc.clientId, client_secret: simulator.isc.clientSecret });

/** An approver's own access token: signed in without HTTP, the code exchanged over it. */
function userToken(identityId: string): Promise<string> {
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = 'https://approvals.example.com/api/connections/isc/callback';
    const authorize = new URL(simulator.userOAuthSettings().ISC_AUTHORIZE_URL);
    authorize.search = new URLSearchParams({
        response_type: 'code',
        client_id: simulator.isc.userClientId,
        redirect_uri: redirectUri,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
    }).toString();
    const code = new URL(simulator.isc.signIn(authorize.toString(), identityId)).searchParams.get('code')!;
    return token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri, client_id: simulator.isc.userClientId, client_secret: simulator.isc.userClientSecret });
}

interface Answered {
    request: { identityId: string; item: { id: string; type: string } };
    recommendation: string;
    interpretations: string[];
    translationMessages: unknown[];
}

/** POSTs `body` (JSON-encoded unless already a string) as the app does, experimental header included. */
async function ask(bearer: string, body: unknown, path = PER_SERVICE) {
    const answer = await fetch(`${simulator.baseUrl}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json', 'x-sailpoint-experimental': 'true' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    // A 404 of the other layout and an injected fault answer plain text.
    const isJson = answer.headers.get('content-type')?.startsWith('application/json');
    const text = await answer.text();
    const json = isJson && text ? (JSON.parse(text) as { response?: Answered[]; detailCode?: string; messages?: { text: string }[]; causes?: unknown[] }) : undefined;
    return { status: answer.status, json };
}

const pair = (identityId: string, id: string, type = 'ENTITLEMENT') => ({ identityId, item: { id, type } });
const verdicts = (answer: Awaited<ReturnType<typeof ask>>) => answer.json?.response?.map((entry) => entry.recommendation);

describe('the simulated ISC Identity AI recommendations (POST /recommendations/v1/request)', () => {
    it('answers each request in the order asked, echoing it, with the verdict and sentences set for the pair', async () => {
        await start();
        const { amy, dana } = sample.people;
        const { sodConflict, reasonRequired, mirrored } = access.accessRequests;
        const requests = [
            pair(amy.id, mirrored.requestedObject.id, 'ACCESS_PROFILE'),
            pair(amy.id, sodConflict.requestedObject.id),
            pair(dana.id, reasonRequired.requestedObject.id, 'ROLE'),
        ];
        const answer = await ask(await serviceToken(), { requests });
        expect(answer.status).toBe(200);
        expect(answer.json?.response).toEqual([
            {
                request: requests[0],
                recommendation: 'YES',
                interpretations: ['82% of identities with the same manager have this access.', '75% of identities with the same department have this access.'],
                translationMessages: [],
            },
            {
                request: requests[1],
                recommendation: 'NO',
                interpretations: ['Not approved in the last 6 months.', 'Only 3% of identities with the same department have this access.'],
                translationMessages: [],
            },
            { request: requests[2], recommendation: 'MAYBE', interpretations: [], translationMessages: [] },
        ]);
        expect(simulator.isc.recommendationRequests).toEqual([requests]);
        expect(simulator.calls['isc.recommendations']).toBe(1);
    });

    it('answers MAYBE for a known identity without a verdict and NOT_FOUND for an unknown one, and a verdict set later from then on', async () => {
        await start();
        const { jamie } = sample.people;
        const item = '2c9180867d5a1c3e017d5b8f4a2e0c99';
        const unknown = 'ffffffffffffffffffffffffffffffff';
        const bearer = await serviceToken();
        expect(verdicts(await ask(bearer, { requests: [pair(jamie.id, item), pair(unknown, item)] }))).toEqual(['MAYBE', 'NOT_FOUND']);
        simulator.isc.recommend(jamie.id, item, 'NO', ['Not approved in the last 6 months.']);
        const again = await ask(bearer, { requests: [pair(jamie.id, item), pair(unknown, item)] });
        expect(again.json?.response?.map((entry) => [entry.recommendation, entry.interpretations])).toEqual([
            ['NO', ['Not approved in the last 6 months.']],
            ['NOT_FOUND', []],
        ]);
    });

    it('leaves the sentences out with excludeInterpretations, and answers an empty list of requests with an empty list', async () => {
        await start();
        const { amy } = sample.people;
        const bearer = await serviceToken();
        const answer = await ask(bearer, { requests: [pair(amy.id, access.accessRequests.sodConflict.requestedObject.id)], excludeInterpretations: true });
        expect(answer.json?.response?.map((entry) => [entry.recommendation, entry.interpretations])).toEqual([['NO', []]]);
        expect(await ask(bearer, { requests: [] })).toEqual({ status: 200, json: { response: [] } });
    });

    it('answers 403 in the ErrorResponseDto shape on a tenant without Identity AI, and keeps no requests', async () => {
        await start();
        simulator.isc.identityAi = false;
        const answer = await ask(await serviceToken(), { requests: [pair(sample.people.amy.id, access.accessRequests.mirrored.requestedObject.id, 'ACCESS_PROFILE')] });
        expect(answer.status).toBe(403);
        expect(answer.json).toEqual({
            detailCode: '403 Forbidden',
            trackingId: expect.stringMatching(/^[0-9a-f]{32}$/),
            messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text: expect.stringContaining('Identity AI') }],
            causes: [],
        });
        expect(simulator.isc.recommendationRequests).toEqual([]);
    });

    it('answers 403 to a token without iai:decisions:manage, and 200 to a read-only service token and to a user token', async () => {
        await start({ iscServiceReadOnly: true });
        const body = { requests: [pair(sample.people.amy.id, access.accessRequests.sodConflict.requestedObject.id)] };
        expect(verdicts(await ask(await serviceToken(), body))).toEqual(['NO']);
        expect(verdicts(await ask(await userToken(sample.people.jamie.id), body))).toEqual(['NO']);
        simulator.isc.scopes.delete('iai:decisions:manage');
        const refused = await ask(await serviceToken(), body);
        expect(refused.status).toBe(403);
        expect(refused.json?.messages?.[0].text).toContain('iai:decisions:manage');
        expect(simulator.isc.recommendationRequests).toHaveLength(2);
    });

    it.each([
        ['a body that is not JSON', '{"requests": ['],
        ['an empty body', ''],
        ['a body without requests', {}],
        ['requests that is not a list', { requests: { identityId: 'a', item: { id: 'b', type: 'ROLE' } } }],
        ['an entry that is not an object', { requests: ['a'] }],
        ['an entry without identityId', { requests: [{ item: { id: 'b', type: 'ROLE' } }] }],
        ['an entry without item', { requests: [{ identityId: 'a' }] }],
        ['an item whose id is not a string', { requests: [{ identityId: 'a', item: { id: 7, type: 'ROLE' } }] }],
        ['an item type outside the enum', { requests: [{ identityId: 'a', item: { id: 'b', type: 'APPLICATION' } }] }],
        ['excludeInterpretations that is not a boolean', { requests: [], excludeInterpretations: 'yes' }],
    ])('answers 400 in the ErrorResponseDto shape to %s, and keeps no requests', async (_, body) => {
        await start();
        const answer = await ask(await serviceToken(), body);
        expect(answer.status).toBe(400);
        expect(answer.json).toEqual(expect.objectContaining({ detailCode: '400.1 Bad Request Content', messages: [expect.objectContaining({ text: expect.any(String) })], causes: [] }));
        expect(simulator.isc.recommendationRequests).toEqual([]);
    });

    it('takes injected faults like any route: a 503 recorded as no exchange, and a delay', async () => {
        await start();
        const bearer = await serviceToken();
        const body = { requests: [pair(sample.people.amy.id, access.accessRequests.sodConflict.requestedObject.id)] };
        simulator.isc.clearExchanges();
        simulator.failNext('isc.recommendations', { status: 503 }, { delayMs: 300 });
        expect((await ask(bearer, body)).status).toBe(503);
        expect(simulator.isc.exchanges).toEqual([]);
        const started = Date.now();
        expect(verdicts(await ask(bearer, body))).toEqual(['NO']);
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
        expect(simulator.isc.recommendationRequests).toHaveLength(1);
    });

    it('in the year-based layout answers at /v2025/recommendations/request and 404s the per-service path', async () => {
        await start({ iscApiVersion: 'v2025' });
        const bearer = await serviceToken();
        const body = { requests: [pair(sample.people.amy.id, access.accessRequests.mirrored.requestedObject.id, 'ACCESS_PROFILE')] };
        expect(verdicts(await ask(bearer, body, YEAR_BASED))).toEqual(['YES']);
        expect((await ask(bearer, body, PER_SERVICE)).status).toBe(404);
        expect(simulator.unrouted).toEqual([{ method: 'POST', path: PER_SERVICE }]);
        const recommendations = simulator.isc.exchanges.filter((exchange) => exchange.route === 'isc.recommendations');
        expect(recommendations.map((exchange) => [exchange.path, exchange.status])).toEqual([[YEAR_BASED, 200]]);
    });

    it("answers as SailPoint's v1 OpenAPI describes, request and answer, for 200, 400 and 403", async () => {
        await start();
        const { amy, jamie } = sample.people;
        const bearer = await serviceToken();
        simulator.isc.clearExchanges();
        await ask(bearer, {
            requests: [pair(amy.id, access.accessRequests.sodConflict.requestedObject.id), pair(jamie.id, 'ffffffffffffffffffffffffffffffff', 'ROLE'), pair('unknown', 'x', 'ACCESS_PROFILE')],
            excludeInterpretations: false,
            includeTranslationMessages: false,
        });
        await ask(bearer, { requests: [{ identityId: amy.id }] });
        simulator.isc.identityAi = false;
        await ask(bearer, { requests: [] });
        expect(simulator.isc.exchanges.map((exchange) => [exchange.path, exchange.status])).toEqual([
            [PER_SERVICE, 200],
            [PER_SERVICE, 400],
            [PER_SERVICE, 403],
        ]);
        // The 400's request is malformed on purpose, so only its answer is held to the spec.
        const checked = simulator.isc.exchanges.map((exchange) => (exchange.status === 400 ? { ...exchange, requestBody: undefined } : exchange));
        expect(checked.flatMap(checkIscExchange)).toEqual([]);
    });
});
