import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { compileFilter, FilterSyntaxError, FilterValue } from './filter';
import { CallerIssuer, CallerRoute } from './callerIssuer';
import { IscApiVersion, IscRoute, IscTenant } from './isc';
import {
    DEFAULT_LISTENER_ID,
    DEFAULT_LISTENER_KEY,
    DEFAULT_LISTENER_MAX_BYTES,
    DEFAULT_LISTENER_PER_SECOND,
    DEFAULT_LISTENER_SIGNATURE_HEADER,
    ListenerNotice,
    listenerPath,
    ListenerRoute,
    listenerRouteOf,
    WebhookListener,
} from './listener';

/**
 * A simulator of IdentityIQ with the "Moveworks for SailPoint" plugin and of the Moveworks Events API,
 * served over HTTP on 127.0.0.1 for tests and for the `npm start` demo. It behaves as the reference
 * describes: opaque expiring tokens, XML work item lists with filter/orderby/offset/limit, a PUT that
 * trusts its caller, completed items that vanish, and a per-minute message limit answering 429 with
 * Retry-After. Controls: latency, queued or random faults, hostile bodies, token expiry, clock skew, the
 * plugin's allowWrites switch, and the plugin itself missing. Moveworks also answers its API key check
 * (`GET /rest/v1/auth/test`) and serves an Agent Studio webhook listener (see listener.ts), whose notices are
 * kept in `listenerNotices`, apart from the Events API's `messages`.
 */

export interface SimIdentity {
    id: string;
    name: string;
    displayName?: string;
    email?: string;
    workgroup?: boolean;
    /** Ids of the workgroups this identity belongs to. */
    memberOf?: string[];
}

export interface SimApprovalItem {
    application: string;
    name: string;
    displayName?: string;
    value: string;
    displayValue?: string;
    operation: string;
    requesterComments?: string;
    startDate?: number;
    endDate?: number;
}

export interface SimComment {
    author: string;
    comment: string;
    date: number;
}

export interface SimWorkItem {
    id: string;
    name: string;
    type: string;
    created: number;
    modified?: number;
    /** When IdentityIQ expires the work item (epoch ms). */
    expiration?: number;
    level?: string;
    ownerId: string;
    requesterId?: string;
    targetId?: string;
    description?: string;
    items: SimApprovalItem[];
    comments: SimComment[];
    state?: string;
}

export interface SentMessage {
    message: string;
    recipients: string[];
    slots: Record<string, unknown>;
    at: number;
}

export interface RecordedDecision {
    workItemId: string;
    approverId: string;
    state: string;
    comment?: string;
    at: number;
}

export type Route = 'iiq.token' | 'iiq.list' | 'iiq.get' | 'iiq.put' | 'iiq.identities' | 'iiq.members' | 'moveworks.send' | 'moveworks.authTest' | ListenerRoute | IscRoute | CallerRoute;

export interface Fault {
    /** The status answered instead of the route's real answer; 0 or absent answers the real one. */
    status?: number;
    body?: string;
    contentType?: string;
    retryAfter?: string;
    /** Answer slowly instead of failing: the client's timeout should fire. */
    delayMs?: number;
    /** Write the answer's body one byte every `dripMs` (headers first): never idle, so only a total deadline ends it. */
    dripMs?: number;
    /** Close the connection without a byte and without acting, as a server closing an idle keep-alive connection does. */
    reset?: boolean;
}

export interface SimulatorOptions {
    /** Which sources `settings()` turns on in the app (both are always served). */
    sources?: ('iiq' | 'isc')[];
    iscClientId?: string;
    iscClientSecret?: string;
    /** The Identity Security Cloud API layout served (the other answers 404) and handed the app as ISC_API_VERSION; default v1. */
    iscApiVersion?: IscApiVersion;
    /** The ISC OAuth client approvers connect with (authorization code + PKCE, refresh token); default 'isc-user-client'. */
    iscUserClientId?: string;
    iscUserClientSecret?: string;
    /** The lifetime of a user's ISC access token (`expires_in`); default 3600. */
    iscUserTokenLifetimeSeconds?: number;
    /** Each ISC refresh answers a new refresh token and the used one stops working; default true. */
    iscRotateRefreshTokens?: boolean;
    /** The ISC client-credentials (service) token is read-only: every ISC write route refuses it 403; default false. */
    iscServiceReadOnly?: boolean;
    iiqClientId?: string;
    iiqClientSecret?: string;
    moveworksApiKey?: string;
    moveworksEventId?: string;
    latencyMs?: number;
    tokenLifetimeSeconds?: number;
    /** IdentityIQ's clock minus the app's clock. */
    clockSkewMs?: number;
    moveworksPerMinute?: number;
    allowWrites?: boolean;
    /** Random faults on every route, reproducible from `seed`. */
    randomFaults?: { rate5xx: number; rate429: number; seed: number };
    /** When set, a message naming anyone else is refused whole, as Moveworks refuses unknown recipients. */
    knownRecipients?: string[];
    onMessage?: (message: SentMessage) => void;
    /** The webhook listener's id, in its URL; default DEFAULT_LISTENER_ID. */
    listenerId?: string;
    listenerKey?: string;
    listenerSigningSecret?: string;
    listenerSignatureHeader?: string;
    listenerMaxBytes?: number;
    listenerPerSecond?: number;
    /** Called with each notice the listener accepts (not with preflights). */
    onListenerNotice?: (notice: ListenerNotice) => void;
}

const PLUGIN = '/identityiq/plugin/rest/moveworks-plugin';
const WORK_ITEM_STATES = ['Finished', 'Rejected', 'Returned', 'Expired', 'Pending', 'Canceled'];

export class HttpStatusError extends Error {
    constructor(
        readonly status: number,
        message: string,
    ) {
        super(message);
    }
}

/** Mulberry32: a small seeded generator so random faults repeat run after run. */
function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export function xmlEscape(value: string): string {
    return value.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

const attributes = (pairs: Record<string, string | number | undefined>) =>
    Object.entries(pairs)
        .filter(([, value]) => value !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, value]) => ` ${name}="${xmlEscape(String(value))}"`)
        .join('');

export class Simulator {
    readonly identities = new Map<string, SimIdentity>();
    readonly workItems = new Map<string, SimWorkItem>();
    readonly archive = new Map<string, SimWorkItem>();
    readonly messages: SentMessage[] = [];
    readonly decisions: RecordedDecision[] = [];
    readonly calls: Record<Route, number> = {
        'iiq.token': 0,
        'iiq.list': 0,
        'iiq.get': 0,
        'iiq.put': 0,
        'iiq.identities': 0,
        'iiq.members': 0,
        'moveworks.send': 0,
        'moveworks.authTest': 0,
        'moveworks.listener': 0,
        'isc.token': 0,
        'isc.authorize': 0,
        'isc.signIn': 0,
        'isc.info': 0,
        'isc.list': 0,
        'isc.get': 0,
        'isc.approve': 0,
        'isc.reject': 0,
        'isc.comments': 0,
        'isc.reassign': 0,
        'isc.identities': 0,
        'isc.accessRequests.pending': 0,
        'isc.accessRequests.approve': 0,
        'isc.accessRequests.reject': 0,
        'isc.accessRequests.forward': 0,
        'isc.recommendations': 0,
        'caller.configuration': 0,
        'caller.keys': 0,
    };
    readonly isc: IscTenant;
    /** Signs caller tokens and publishes their keys, as Entra ID or Moveworks JWKS Auth would. */
    readonly callers = new CallerIssuer(() => this.baseUrl);
    readonly rateLimited: number[] = [];
    /** The most requests of each route served at once. */
    readonly peakInFlight: Partial<Record<Route, number>> = {};
    private readonly inFlight: Partial<Record<Route, number>> = {};
    /** Path and query of every request, by route, for tests that check what the app asked. */
    readonly requests: { route: Route; url: URL }[] = [];
    /** Requests no route serves (answered 404): a path of the other ISC layout, or one no system has. */
    readonly unrouted: { method: string; path: string }[] = [];
    latencyMs: number;
    clockSkewMs: number;
    allowWrites: boolean;
    moveworksPerMinute: number;
    tokenLifetimeSeconds: number;
    /** The webhook listener's id, in `listenerUrl`. */
    readonly listenerId: string;
    /** The Moveworks API key the listener's credential verification takes as `Authorization: Bearer`. */
    listenerKey: string;
    /** When set, each listener request must carry the lowercase hex HMAC-SHA256 of its raw body with this secret. */
    listenerSigningSecret?: string;
    /** The header carrying that signature (matched case-insensitively, as HTTP does). */
    listenerSignatureHeader: string;
    /** The largest listener body taken, in bytes; a larger one answers 413. */
    listenerMaxBytes: number;
    /** Listener requests taken in any 1 s, org-wide; more answer 429 with Retry-After: 1. */
    listenerPerSecond: number;
    /** Every body the listener accepted, preflights aside. */
    readonly listenerNotices: ListenerNotice[] = [];
    /** Accepted bodies of `type: "preflight"`, which the ambient agent's trigger filter would drop. */
    readonly listenerPreflights: ListenerNotice[] = [];
    /** When each listener request answered 429 arrived. */
    readonly listenerRateLimited: number[] = [];

    private readonly options: Required<Pick<SimulatorOptions, 'iiqClientId' | 'iiqClientSecret' | 'iscClientId' | 'iscClientSecret' | 'moveworksApiKey' | 'moveworksEventId' | 'sources'>> &
        SimulatorOptions;
    private readonly tokens = new Map<string, number>();
    private readonly faults = new Map<Route, Fault[]>();
    private readonly sendStarts: number[] = [];
    private readonly random?: () => number;
    private readonly listener: WebhookListener;
    private server?: Server;
    private nextNumber = 1;
    baseUrl = '';

    constructor(options: SimulatorOptions = {}) {
        this.options = {
            iiqClientId: 'demo-client',
            iiqClientSecret: 'demo-secret',
            iscClientId: '2c9180835d2e5168015d32f890ca1581',
            iscClientSecret: 'demo-isc-secret',
            sources: ['iiq'],
            moveworksApiKey: 'demo-moveworks-key',
            moveworksEventId: '00000000-0000-4000-8000-000000000001',
            ...options,
        };
        this.latencyMs = options.latencyMs ?? 0;
        this.clockSkewMs = options.clockSkewMs ?? 0;
        this.allowWrites = options.allowWrites ?? true;
        this.moveworksPerMinute = options.moveworksPerMinute ?? 120;
        this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 1200;
        this.listenerId = options.listenerId ?? DEFAULT_LISTENER_ID;
        this.listenerKey = options.listenerKey ?? DEFAULT_LISTENER_KEY;
        this.listenerSigningSecret = options.listenerSigningSecret;
        this.listenerSignatureHeader = options.listenerSignatureHeader ?? DEFAULT_LISTENER_SIGNATURE_HEADER;
        this.listenerMaxBytes = options.listenerMaxBytes ?? DEFAULT_LISTENER_MAX_BYTES;
        this.listenerPerSecond = options.listenerPerSecond ?? DEFAULT_LISTENER_PER_SECOND;
        this.listener = new WebhookListener(this, options.onListenerNotice);
        this.random = options.randomFaults ? seededRandom(options.randomFaults.seed) : undefined;
        this.isc = new IscTenant(this.options.iscClientId, this.options.iscClientSecret, options.iscApiVersion);
        if (options.iscUserClientId !== undefined) this.isc.userClientId = options.iscUserClientId;
        if (options.iscUserClientSecret !== undefined) this.isc.userClientSecret = options.iscUserClientSecret;
        if (options.iscUserTokenLifetimeSeconds !== undefined) this.isc.userTokenLifetimeSeconds = options.iscUserTokenLifetimeSeconds;
        if (options.iscRotateRefreshTokens !== undefined) this.isc.rotateRefreshTokens = options.iscRotateRefreshTokens;
        if (options.iscServiceReadOnly !== undefined) this.isc.serviceReadOnly = options.iscServiceReadOnly;
    }

    get credentials() {
        return {
            iiqClientId: this.options.iiqClientId,
            iiqClientSecret: this.options.iiqClientSecret,
            moveworksApiKey: this.options.moveworksApiKey,
            moveworksEventId: this.options.moveworksEventId,
        };
    }

    /** The app settings that point the app at this simulator. */
    settings(): Record<string, string> {
        const iiq: Record<string, string> = this.options.sources.includes('iiq')
            ? { IIQ_BASE_URL: this.baseUrl, IIQ_CLIENT_ID: this.options.iiqClientId, IIQ_CLIENT_SECRET: this.options.iiqClientSecret }
            : {};
        const isc: Record<string, string> = this.options.sources.includes('isc')
            ? { ISC_BASE_URL: this.baseUrl, ISC_CLIENT_ID: this.options.iscClientId, ISC_CLIENT_SECRET: this.options.iscClientSecret, ISC_API_VERSION: this.isc.apiVersion }
            : {};
        return {
            ...iiq,
            ...isc,
            MOVEWORKS_BASE_URL: this.baseUrl,
            MOVEWORKS_EVENT_ID: this.options.moveworksEventId,
            MOVEWORKS_API_KEY: this.options.moveworksApiKey,
        };
    }

    /** The webhook URL Agent Studio shows for the listener. */
    get listenerUrl(): string {
        return `${this.baseUrl}${listenerPath(this.listenerId)}`;
    }

    /**
     * The settings that switch the app from the Events API to the listener, laid over `settings()` (which
     * every spec on the Events API keeps using unchanged).
     */
    listenerSettings(): Record<string, string> {
        return {
            MOVEWORKS_DELIVERY: 'listener',
            MOVEWORKS_LISTENER_URL: this.listenerUrl,
            MOVEWORKS_LISTENER_KEY: this.listenerKey,
            ...(this.listenerSigningSecret
                ? { MOVEWORKS_LISTENER_SIGNING_SECRET: this.listenerSigningSecret, MOVEWORKS_LISTENER_SIGNATURE_HEADER: this.listenerSignatureHeader }
                : {}),
            MOVEWORKS_LISTENER_MAX_PER_SECOND: String(this.listenerPerSecond),
        };
    }

    /**
     * The settings of ISC's per-user OAuth client (kept apart from `settings()`, which they would change for
     * every spec): its id and secret, and the authorize endpoint of the sign-in page.
     */
    userOAuthSettings(): Record<string, string> {
        return { ISC_USER_CLIENT_ID: this.isc.userClientId, ISC_USER_CLIENT_SECRET: this.isc.userClientSecret, ISC_AUTHORIZE_URL: `${this.baseUrl}/oauth/authorize` };
    }

    async start(port = 0, host = '127.0.0.1'): Promise<string> {
        this.server = createServer((request, response) => {
            this.handle(request, response).catch((error: unknown) => {
                if (!response.headersSent) this.reply(response, 500, 'text/plain', String(error));
            });
        });
        await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
        const address = this.server.address() as AddressInfo;
        this.baseUrl = `http://${host}:${address.port}`;
        return this.baseUrl;
    }

    async stop(): Promise<void> {
        const server = this.server;
        if (!server) return;
        this.server = undefined;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    /** IdentityIQ's clock, which may disagree with the app's. */
    iiqNow(): number {
        return Date.now() + this.clockSkewMs;
    }

    newId(): string {
        return randomBytes(16).toString('hex');
    }

    addIdentity(identity: Omit<SimIdentity, 'id'> & { id?: string }): SimIdentity {
        const stored = { ...identity, id: identity.id ?? this.newId() };
        this.identities.set(stored.id, stored);
        return stored;
    }

    addWorkItem(item: Partial<SimWorkItem> & { ownerId: string }): SimWorkItem {
        const stored: SimWorkItem = {
            id: this.newId(),
            name: String(this.nextNumber++).padStart(10, '0'),
            type: 'Approval',
            created: this.iiqNow(),
            level: 'Normal',
            items: [],
            comments: [],
            ...item,
        };
        this.workItems.set(stored.id, stored);
        return stored;
    }

    /** Forwards a work item to another owner, as IdentityIQ does on forward or reassignment. */
    reassign(workItemId: string, newOwnerId: string): void {
        const item = this.workItems.get(workItemId);
        if (!item) throw new Error(`no open work item ${workItemId}`);
        item.ownerId = newOwnerId;
        item.modified = this.iiqNow();
    }

    /** Completes a work item inside IdentityIQ (not through the plugin): it leaves the open list. */
    complete(workItemId: string, state = 'Finished'): void {
        const item = this.workItems.get(workItemId);
        if (!item) return;
        item.state = state;
        this.workItems.delete(workItemId);
        this.archive.set(workItemId, item);
    }

    failNext(route: Route, ...faults: Fault[]): void {
        this.faults.set(route, [...(this.faults.get(route) ?? []), ...faults]);
    }

    /** Every issued token stops working, as when IdentityIQ's token lifetime runs out. */
    expireTokens(): void {
        this.tokens.clear();
    }

    /** The Events API's messages for an approval; listener notices are in `noticesFor`. */
    messagesFor(approvalId: string): SentMessage[] {
        return this.messages.filter((message) => message.slots.approval_id === approvalId);
    }

    /** The notices the listener accepted for an approval (by the body's `approvalId`). */
    noticesFor(approvalId: string): ListenerNotice[] {
        return this.listenerNotices.filter((notice) => notice.body.approvalId === approvalId);
    }

    private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const url = new URL(request.url ?? '/', 'http://simulator');
        if (!this.pluginInstalled && url.pathname.startsWith(`${PLUGIN}/`)) return this.reply(response, 404, 'text/html', '<html><body><h1>HTTP Status 404 - Not Found</h1></body></html>');
        const route = this.routeOf(request.method ?? 'GET', url.pathname);
        if (!route) {
            this.unrouted.push({ method: request.method ?? 'GET', path: url.pathname });
            return this.reply(response, 404, 'text/plain', 'Not found');
        }
        this.calls[route]++;
        this.requests.push({ route, url });
        this.inFlight[route] = (this.inFlight[route] ?? 0) + 1;
        this.peakInFlight[route] = Math.max(this.peakInFlight[route] ?? 0, this.inFlight[route]);
        try {
            if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
            const fault = this.faults.get(route)?.shift() ?? this.randomFault();
            if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
            if (fault?.reset) return void request.socket.destroy();
            if (fault?.status) {
                return this.reply(response, fault.status, fault.contentType ?? 'text/plain', fault.body ?? `Injected fault ${fault.status}`, fault.retryAfter, {}, fault.dripMs);
            }
            // The listener reads its own body: raw bytes for the signature, under its own size limit.
            const answer: Answer = route === 'moveworks.listener' ? await this.listener.handle(request, url) : await this.answer(route, request, url, await readBody(request));
            this.reply(response, answer.status, answer.contentType, answer.body, answer.retryAfter, answer.headers, fault?.dripMs);
        } catch (error) {
            if (error instanceof HttpStatusError) return this.reply(response, error.status, 'text/plain', error.message);
            throw error;
        } finally {
            this.inFlight[route]--;
        }
    }

    private async answer(route: Route, request: IncomingMessage, url: URL, body: string): Promise<Answer> {
        if (route === 'moveworks.send') return this.sendMessage(request, url, body);
        if (route === 'moveworks.authTest') return this.authTest(request);
        if (route.startsWith('isc.')) return this.isc.handle(route as IscRoute, request, url, body);
        if (route.startsWith('caller.')) return this.callers.handle(route as CallerRoute);
        return this.iiq(route, request, url, body);
    }

    /** Turns the seeded random faults off (and on again) without losing their sequence. */
    randomFaultsEnabled = true;

    private randomFault(): Fault | undefined {
        const faults = this.options.randomFaults;
        if (!faults || !this.random || !this.randomFaultsEnabled) return undefined;
        const roll = this.random();
        if (roll < faults.rate5xx) return { status: 503 };
        if (roll < faults.rate5xx + faults.rate429) return { status: 429, retryAfter: '1' };
        return undefined;
    }

    private routeOf(method: string, path: string): Route | undefined {
        if (method === 'POST' && path === '/identityiq/oauth2/token') return 'iiq.token';
        if (method === 'GET' && path === `${PLUGIN}/object/WorkItem`) return 'iiq.list';
        if (method === 'GET' && path.startsWith(`${PLUGIN}/object/WorkItem/`)) return 'iiq.get';
        if (method === 'PUT' && path.startsWith(`${PLUGIN}/object/WorkItem/`)) return 'iiq.put';
        if (method === 'GET' && path === `${PLUGIN}/table/Identity`) return 'iiq.identities';
        if (method === 'GET' && /^\/identityiq\/plugin\/rest\/moveworks-plugin\/object\/workgroup\/[^/]+\/members$/.test(path)) return 'iiq.members';
        if (method === 'POST' && /^\/rest\/v1\/events\/[^/]+\/messages\/send$/.test(path)) return 'moveworks.send';
        if (method === 'GET' && path === '/rest/v1/auth/test') return 'moveworks.authTest';
        return listenerRouteOf(method, path) ?? this.isc.routeOf(method, path) ?? this.callers.routeOf(method, path);
    }

    private iiq(route: Route, request: IncomingMessage, url: URL, body: string): Answer {
        if (route === 'iiq.token') return this.issueToken(request, url, body);
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        const expiresAt = token ? this.tokens.get(token) : undefined;
        if (!token || expiresAt === undefined || expiresAt <= Date.now()) return { status: 401, contentType: 'text/plain', body: 'Unauthorized' };
        // Both /object/WorkItem/{id} and /object/workgroup/{id}/members carry the id as the eighth path segment.
        const id = decodeURIComponent(url.pathname.split('/')[7] ?? '');
        switch (route) {
            case 'iiq.list':
                return this.listWorkItems(url);
            case 'iiq.get': {
                const item = this.workItems.get(id);
                if (!item) return { status: 404, contentType: 'text/plain', body: `Object not found: sailpoint.object.WorkItem with id ${id}` };
                return xml(`<!DOCTYPE WorkItem PUBLIC "sailpoint.dtd" "sailpoint.dtd">\n${this.workItemXml(item)}`);
            }
            case 'iiq.put':
                return this.decide(id, body);
            case 'iiq.identities':
                return this.identityTable(url);
            case 'iiq.members': {
                const workgroupId = id;
                if (!this.identities.has(workgroupId)) return { status: 404, contentType: 'text/plain', body: 'Identity object not found' };
                const members = [...this.identities.values()].filter((identity) => identity.memberOf?.includes(workgroupId));
                return json({ objects: members.map((member) => ({ id: member.id })), count: members.length });
            }
            default:
                throw new HttpStatusError(404, 'Not found');
        }
    }

    private issueToken(request: IncomingMessage, url: URL, body: string): Answer {
        const grant = url.searchParams.get('grant_type') ?? new URLSearchParams(body).get('grant_type');
        const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        const [clientId, clientSecret] = Buffer.from(basic ?? '', 'base64').toString().split(':');
        if (grant !== 'client_credentials') return json({ error: 'unsupported_grant_type' }, 400);
        if (clientId !== this.options.iiqClientId || clientSecret !== this.options.iiqClientSecret) return json({ error: 'invalid_client' }, 401);
        const token = randomBytes(24).toString('base64url');
        this.tokens.set(token, Date.now() + this.tokenLifetimeSeconds * 1000);
        return json({ access_token: token, token_type: 'bearer', expires_in: this.tokenLifetimeSeconds });
    }

    private integerParameter(url: URL, name: string): number | undefined {
        const value = url.searchParams.get(name);
        if (value === null) return undefined;
        if (!/^\d+$/.test(value)) throw new HttpStatusError(400, 'Unable to parse integer parameter');
        return Number(value);
    }

    private select<T>(rows: T[], url: URL, lookup: (row: T, property: string) => FilterValue): T[] {
        let predicates;
        try {
            predicates = url.searchParams.getAll('filter').map(compileFilter);
        } catch (error) {
            if (error instanceof FilterSyntaxError) throw new HttpStatusError(400, `Unable to compile filter: ${error.message}`);
            throw error;
        }
        let result = rows.filter((row) => predicates.every((predicate) => predicate((property) => lookup(row, property))));
        const orderBy = url.searchParams.get('orderby');
        if (orderBy) {
            const keys = orderBy.split(',').map((key) => ({ name: key.replace(/^-/, ''), descending: key.startsWith('-') }));
            result = [...result].sort((a, b) => {
                for (const key of keys) {
                    const [x, y] = [lookup(a, key.name) ?? '', lookup(b, key.name) ?? ''];
                    if (x !== y) return (x < y ? -1 : 1) * (key.descending ? -1 : 1);
                }
                return 0;
            });
        }
        const offset = this.integerParameter(url, 'offset') ?? 0;
        const limit = this.integerParameter(url, 'limit');
        return result.slice(offset, limit === undefined ? undefined : offset + limit);
    }

    private workItemProperty(item: SimWorkItem, property: string): FilterValue {
        const known: Record<string, FilterValue> = {
            id: item.id,
            name: item.name,
            type: item.type,
            state: item.state ?? null,
            level: item.level,
            created: item.created,
            modified: item.modified ?? null,
            'owner.id': item.ownerId,
            'owner.name': this.identities.get(item.ownerId)?.name,
        };
        if (!(property in known)) throw new HttpStatusError(500, `could not resolve property ${property} of class sailpoint.object.WorkItem`);
        return known[property];
    }

    /** Lets a spec have Moveworks refuse one approval's messages as invalid (400 with this error). */
    refuseMessage?: (approvalId: string) => { code: string; message: string } | undefined;

    /** Called before each work item list page is answered, with its offset: lets a spec change the list between pages. */
    beforeListPage?: (offset: number) => void;

    /** Set false to answer work item filters on `id` as a plugin that cannot resolve them would (500). */
    workItemIdFilter = true;

    /** Set false to serve IdentityIQ without the Moveworks plugin: its OAuth still issues tokens, every plugin path answers 404. */
    pluginInstalled = true;

    private listWorkItems(url: URL): Answer {
        this.beforeListPage?.(this.integerParameter(url, 'offset') ?? 0);
        if (!this.workItemIdFilter && url.searchParams.getAll('filter').some((filter) => /\bid\.in\(/.test(filter))) {
            throw new HttpStatusError(500, 'could not resolve property id of class sailpoint.object.WorkItem');
        }
        const items = this.select([...this.workItems.values()], url, (item, property) => this.workItemProperty(item, property));
        const body = items.map((item) => this.workItemXml(item)).join('\n');
        return xml(`<!DOCTYPE List PUBLIC "sailpoint.dtd" "sailpoint.dtd">\n<List>\n${body}\n</List>`);
    }

    private identityTable(url: URL): Answer {
        const columns = (url.searchParams.get('attributes') ?? 'id').split(',');
        const lookup = (identity: SimIdentity, property: string): FilterValue => {
            const known: Record<string, FilterValue> = {
                id: identity.id,
                name: identity.name,
                email: identity.email ?? null,
                displayName: identity.displayName ?? null,
                workgroup: identity.workgroup ?? false,
            };
            if (!(property in known)) throw new HttpStatusError(500, `could not resolve property ${property} of class sailpoint.object.Identity`);
            return known[property];
        };
        const rows = this.select([...this.identities.values()], url, lookup);
        return json({ objects: rows.map((row) => Object.fromEntries(columns.map((column) => [column, lookup(row, column)]))), count: rows.length });
    }

    /** The plugin's PUT: it trusts its caller, checking neither ownership nor that the item is open. */
    private decide(id: string, body: string): Answer {
        if (!this.allowWrites) throw new HttpStatusError(403, 'Write actions are disabled for this plugin. Enable them in the plugin settings.');
        let input: { approver?: unknown; state?: unknown; comment?: unknown };
        try {
            input = JSON.parse(body) as typeof input;
        } catch {
            throw new HttpStatusError(400, 'Unable to parse request body');
        }
        if (typeof input.state !== 'string' || !WORK_ITEM_STATES.includes(input.state)) throw new HttpStatusError(400, 'Unable to parse enum parameter');
        if (typeof input.approver !== 'string' || !this.identities.has(input.approver)) throw new HttpStatusError(404, 'Identity object not found');
        const item = this.workItems.get(id);
        if (!item) throw new HttpStatusError(404, `Object not found: sailpoint.object.WorkItem with id ${id}`);
        const comment = typeof input.comment === 'string' ? input.comment : undefined;
        this.decisions.push({ workItemId: id, approverId: input.approver, state: input.state, comment, at: Date.now() });
        if (comment) item.comments.push({ author: this.identities.get(input.approver)?.name ?? input.approver, comment, date: this.iiqNow() });
        this.complete(id, input.state);
        return xml(this.workItemXml(item));
    }

    private sendMessage(request: IncomingMessage, url: URL, body: string): Answer {
        const eventId = url.pathname.split('/')[4];
        if (request.headers.authorization !== `Bearer ${this.options.moveworksApiKey}`) {
            return json({ error: { code: 'UNAUTHORIZED', message: 'Token validation failed' } }, 401);
        }
        if (eventId !== this.options.moveworksEventId) return json({ error: { code: 'INVALID_EVENT_ID', message: 'Event not found' } }, 404);
        const now = Date.now();
        while (this.sendStarts.length > 0 && this.sendStarts[0] <= now - 60_000) this.sendStarts.shift();
        if (this.sendStarts.length >= this.moveworksPerMinute) {
            this.rateLimited.push(now);
            const retryAfter = Math.max(1, Math.ceil((this.sendStarts[0] + 60_000 - now) / 1000));
            return { ...json({ error: { code: 'RATE_LIMIT_EXCEEDED', message: 'Rate limit exceeded' } }, 429), retryAfter: String(retryAfter) };
        }
        this.sendStarts.push(now);
        let input: { message?: unknown; recipients?: unknown; context?: { slots?: Record<string, unknown> } };
        try {
            input = JSON.parse(body) as typeof input;
        } catch {
            return json({ error: { code: 'BAD_REQUEST', message: 'Parsing of json payload failed' } }, 400);
        }
        if (typeof input.message !== 'string' || !Array.isArray(input.recipients) || input.recipients.some((r) => typeof r !== 'string')) {
            return json({ error: { code: 'BAD_REQUEST', message: 'One or more fields have an incorrect data-type' } }, 400);
        }
        if (input.message.length < 1 || input.message.length > 20_000 || input.recipients.length < 1 || input.recipients.length > 500) {
            return json({ error: { code: 'INVALID_VALUE_SIZE_TOO_LONG', message: 'Value size out of range' } }, 400);
        }
        const refusal = this.refuseMessage?.(String(input.context?.slots?.approval_id ?? ''));
        if (refusal) return json({ error: refusal }, 400);
        const known = this.options.knownRecipients;
        if (known && (input.recipients as string[]).some((email) => !known.includes(email))) {
            return json({ error: { code: 'BAD_REQUEST', message: 'One or more recipients could not be found' } }, 400);
        }
        const sent: SentMessage = { message: input.message, recipients: input.recipients as string[], slots: input.context?.slots ?? {}, at: now };
        this.messages.push(sent);
        this.options.onMessage?.(sent);
        return json({ data: { status: 'RECEIVED' } });
    }

    /**
     * Moveworks' API key check. A third-party mirror of its OpenAPI gives the 200 body only as a `Message`
     * string, and the value here is made up: callers should read the status alone.
     */
    private authTest(request: IncomingMessage): Answer {
        if (request.headers.authorization !== `Bearer ${this.options.moveworksApiKey}`) {
            return json({ error: { code: 'UNAUTHORIZED', message: 'Token validation failed' } }, 401);
        }
        return json({ Message: 'Successfully tested' });
    }

    workItemXml(item: SimWorkItem): string {
        const reference = (tag: string, id: string | undefined) => {
            const identity = id ? this.identities.get(id) : undefined;
            return identity ? `<${tag}><Reference${attributes({ class: 'sailpoint.object.Identity', id: identity.id, name: identity.name })}/></${tag}>` : '';
        };
        const target = item.targetId ? this.identities.get(item.targetId) : undefined;
        const approvalItems = item.items
            .map((line, index) => `<ApprovalItem${attributes({ ...line, id: `${item.id.slice(0, 28)}${String(index).padStart(4, '0')}` })}/>`)
            .join('');
        const comments = item.comments.map((c) => `<Comment${attributes({ author: c.author, comment: c.comment, date: c.date })}/>`).join('');
        return [
            `<WorkItem${attributes({
                created: item.created,
                expiration: item.expiration,
                id: item.id,
                level: item.level,
                modified: item.modified,
                name: item.name,
                state: item.state,
                targetClass: target ? 'sailpoint.object.Identity' : undefined,
                targetId: target?.id,
                targetName: target?.name,
                type: item.type,
            })}>`,
            approvalItems ? `<Attributes><Map><entry key="approvalSet"><value><ApprovalSet>${approvalItems}</ApprovalSet></value></entry></Map></Attributes>` : '',
            comments ? `<WorkItemComments>${comments}</WorkItemComments>` : '',
            item.description ? `<Description>${xmlEscape(item.description)}</Description>` : '',
            reference('Owner', item.ownerId),
            reference('Requester', item.requesterId),
            '</WorkItem>',
        ].join('');
    }

    private reply(response: ServerResponse, status: number, contentType: string, body: string, retryAfter?: string, headers: Record<string, string> = {}, dripMs?: number): void {
        response.writeHead(status, { 'Content-Type': contentType, ...headers, ...(retryAfter ? { 'Retry-After': retryAfter } : {}) });
        if (dripMs) drip(response, Buffer.from(body), dripMs);
        else response.end(body);
    }
}

interface Answer {
    status: number;
    contentType: string;
    body: string;
    retryAfter?: string;
    headers?: Record<string, string>;
}

const json = (value: unknown, status = 200): Answer => ({ status, contentType: 'application/json', body: JSON.stringify(value) });
const xml = (body: string): Answer => ({ status: 200, contentType: 'application/xml', body: `<?xml version='1.0' encoding='UTF-8'?>\n${body}` });

/** Sends the headers, then `body` one byte per tick; a client that hangs up stops the ticks. */
function drip(response: ServerResponse, body: Buffer, everyMs: number): void {
    response.flushHeaders();
    let sent = 0;
    const timer = setInterval(() => {
        if (sent < body.length) return void response.write(body.subarray(sent, ++sent));
        clearInterval(timer);
        response.end();
    }, everyMs);
    response.once('close', () => clearInterval(timer));
}

async function readBody(request: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
        size += (chunk as Buffer).length;
        if (size > 1024 * 1024) throw new HttpStatusError(413, 'Request body too large');
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
}
