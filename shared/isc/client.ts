import { z } from 'zod';
import { IscApiVersion, IscConfig } from '../config';
import { UpstreamError, WaitingOutRateLimit } from '../platform/errors';
import { currentDeadline, HttpAnswer, HttpClient, parseJsonBody, retryAfterMs, RetryPolicy, withQuery } from '../platform/http';
import { quoteFilterValue } from '../platform/filterValue';
import { Pacer } from '../platform/pacer';
import { requestToken, TokenCache, TokenFetcher, TokenGrant } from '../platform/tokens';

/**
 * HTTP access to SailPoint Identity Security Cloud: client-credentials token from the shared cache (one
 * retry with a fresh token on 401), calls paced to the tenant's per-client limit (100 per 10 s) with a 429's
 * Retry-After pausing them all, and ISC's ErrorResponseDto turned into a message with its tracking id.
 */

const SYSTEM = 'Identity Security Cloud';
/** How long a call may wait for a slot under the rate limit before it gives up (less within a use case's deadline). */
const MAX_PACING_WAIT_MS = 30_000;

const errorResponse = z
    .object({
        detailCode: z.string().nullish(),
        trackingId: z.string().nullish(),
        messages: z.array(z.object({ text: z.string().nullish() }).passthrough()).nullish(),
        error: z.string().nullish(),
        message: z.string().nullish(),
    })
    .passthrough();
const identityRow = z.object({ id: z.string(), name: z.string().nullish(), emailAddress: z.string().nullish() }).passthrough();

export type IscIdentityRow = z.infer<typeof identityRow>;
export interface ListPage {
    items: unknown[];
    total?: number;
}
type Query = Record<string, string | number | undefined>;

/** What a 403 from ISC means for this app, in words an administrator can act on. */
export const PERMISSIONS_HINT =
    'ISC_CLIENT_ID and ISC_CLIENT_SECRET must be a personal access token of an identity with the ORG_ADMIN user level and the scopes idn:access-request-approvals:read, idn:access-request-approvals:manage and idn:identity:read.';

/** ISC's error body (detail code, texts, tracking id) as one line an admin can quote to SailPoint support; empty when it has none. */
export function iscFailureDetail(answer: HttpAnswer): string {
    const parsed = errorResponse.safeParse(parseJsonBody(answer.body));
    if (!parsed.success) return '';
    const body = parsed.data;
    const texts = (body.messages ?? []).map((message) => message.text).filter(Boolean);
    const what = [body.detailCode, ...texts, body.error, body.message].filter(Boolean).join(': ').trim().slice(0, 300);
    return [what, body.trackingId ? `tracking id ${body.trackingId}` : ''].filter(Boolean).join('; ');
}

/** ISC's error body, as one line an admin can quote to SailPoint support. */
export function describeIscFailure(answer: HttpAnswer, action: string, detail = iscFailureDetail(answer)): string {
    const hint =
        answer.status === 403
            ? ` ${PERMISSIONS_HINT}`
            : answer.status === 429
              ? ' ISC is rate limiting the app; try again shortly.'
              : '';
    return `Identity Security Cloud could not ${action} (${answer.status}${detail ? `: ${detail}` : ''}).${hint}`;
}

/**
 * Where a resource lives in the configured version: `v1` puts the version after the service
 * (`/generic-approvals/v1/{id}`, `/identities/v1`), a year-based version before it (`/v2025/generic-approvals/{id}`).
 * `path` is the resource as the year-based layout names it after the version: `/{service}[/...]`.
 */
export function iscApiPath(version: IscApiVersion, path: string): string {
    if (version !== 'v1') return `/${version}${path}`;
    const service = path.indexOf('/', 1);
    return service === -1 ? `${path}/v1` : `${path.slice(0, service)}/v1${path.slice(service)}`;
}

/** Whose token a call carries: the cache key and how to fetch it (the service's by default; an approver's in user mode). */
export interface IscCredential {
    key: string;
    fetch: TokenFetcher;
    /** Who the token is, for the message when ISC refuses it twice. */
    holder: string;
}

/** The collections the app lists, as the year-based layout names them after the version (see iscApiPath). */
export const ISC_COLLECTIONS = {
    accessRequests: '/access-request-approvals/pending',
    generic: '/generic-approvals',
    identities: '/identities',
    recommendations: '/recommendations/request',
} as const;

/** One question to Identity AI: should this identity have this access? */
export interface RecommendationRequest {
    identityId: string;
    item: { id: string; type: string };
}

export class IscClient {
    private readonly tokenKey: string;

    constructor(
        private readonly config: IscConfig,
        private readonly http: HttpClient,
        private readonly tokens: TokenCache,
        private readonly pacer: Pacer,
        private readonly now: () => number = Date.now,
    ) {
        this.tokenKey = `isc:${config.baseUrl}:${config.clientId}`;
    }

    /** One page of pending generic approvals (of these ids only, when given), with approvers and comments, and the total when ISC says it. */
    listGeneric(offset: number, limit: number, ids?: string[]): Promise<ListPage> {
        return this.listPage(ISC_COLLECTIONS.generic, 'list pending approvals', {
            mine: 'false',
            filters: ids ? `status eq "PENDING" and approvalId in (${ids.map(quoteFilterValue).join(',')})` : 'status eq "PENDING"',
            'include-approvers': 'true',
            'include-comments': 'true',
            count: 'true',
            limit,
            offset,
        });
    }

    /**
     * One page of the whole organisation's pending access-request approvals (no `owner-id`, which needs the
     * ORG_ADMIN level), oldest first, of these ids only when given.
     */
    listAccessRequests(offset: number, limit: number, ids?: string[]): Promise<ListPage> {
        const filters = ids === undefined ? undefined : ids.length === 1 ? `id eq ${quoteFilterValue(ids[0])}` : `id in (${ids.map(quoteFilterValue).join(',')})`;
        // The count costs ISC work and serves only the paging of the whole list.
        const count = ids === undefined ? 'true' : undefined;
        return this.listPage(ISC_COLLECTIONS.accessRequests, 'list pending access-request approvals', { filters, count, sorters: 'created', limit, offset });
    }

    /** One page of the access-request approvals the token's own identity owns (`owner-id=me`), which needs no ORG_ADMIN level. */
    listOwnAccessRequests(limit: number): Promise<ListPage> {
        return this.listPage(ISC_COLLECTIONS.accessRequests, 'list its own pending access-request approvals', { 'owner-id': 'me', limit, offset: 0 });
    }

    private async listPage(path: string, action: string, query: Query): Promise<ListPage> {
        const answer = await this.call('GET', path, query);
        const items = parseJsonBody(this.expectOk(answer, action));
        if (!Array.isArray(items)) throw new UpstreamError(SYSTEM, `Identity Security Cloud answered the request to ${action} with something other than a list`);
        const total = Number(answer.headers['x-total-count']);
        return { items, total: Number.isFinite(total) ? total : undefined };
    }

    /** The approval's JSON, or undefined when ISC no longer knows it. */
    async getApproval(id: string): Promise<unknown | undefined> {
        const answer = await this.call('GET', `/generic-approvals/${encodeURIComponent(id)}`, {});
        if (answer.status === 404) return undefined;
        return parseJsonBody(this.expectOk(answer, 'read the approval'));
    }

    /** POST /generic-approvals/{id}/{action}, as `as` (the service by default); answers the response for the caller to interpret. */
    act(id: string, action: 'approve' | 'reject' | 'comments' | 'reassign', body: Record<string, unknown>, as?: IscCredential): Promise<HttpAnswer> {
        return this.call('POST', `/generic-approvals/${encodeURIComponent(id)}/${action}`, {}, JSON.stringify(body), 'not-idempotent', as);
    }

    /** POST /access-request-approvals/{id}/{action} (ISC answers 202), as `as`; answers the response for the caller to interpret. */
    actOnAccessRequest(id: string, action: 'approve' | 'reject' | 'forward', body: Record<string, unknown>, as?: IscCredential): Promise<HttpAnswer> {
        return this.call('POST', `/access-request-approvals/${encodeURIComponent(id)}/${action}`, {}, JSON.stringify(body), 'not-idempotent', as);
    }

    /**
     * Identity AI's recommendations for these identity and access pairs (POST /recommendations/request),
     * with the sentences that explain them: a read, made with the service credential in every mode.
     */
    recommendations(requests: RecommendationRequest[]): Promise<HttpAnswer> {
        // Its 429 is the caller's to handle: an optional read must not pause the listing and the decisions.
        return this.call('POST', ISC_COLLECTIONS.recommendations, {}, JSON.stringify({ requests, excludeInterpretations: false }), 'idempotent', undefined, { pausesOthersOn429: false });
    }

    /** `uncorrelated`: also identities ISC has not correlated to an account, which it leaves out by default; no filter: any identities. */
    async findIdentities(filter: string | undefined, options: { uncorrelated?: boolean; limit?: number } = {}): Promise<IscIdentityRow[]> {
        const answer = await this.call('GET', ISC_COLLECTIONS.identities, { filters: filter, limit: options.limit ?? 250, defaultFilter: options.uncorrelated ? 'NONE' : undefined });
        const parsed = z.array(identityRow).safeParse(parseJsonBody(this.expectOk(answer, 'look up identities')));
        if (!parsed.success) throw new UpstreamError(SYSTEM, 'Identity Security Cloud answered an identity lookup with an unexpected shape');
        return parsed.data;
    }

    /** The tenant's OAuth endpoints (`{base}/oauth/info`, no token needed): where its users sign in. */
    async authorizeEndpoint(): Promise<string | undefined> {
        const answer = await this.http.send({ system: SYSTEM, method: 'GET', url: `${this.config.baseUrl}/oauth/info`, retry: 'idempotent', headers: { Accept: 'application/json' } });
        const info = z.object({ authorizeEndpoint: z.string() }).passthrough().safeParse(parseJsonBody(this.expectOk(answer, 'read its OAuth endpoints')));
        return info.success ? info.data.authorizeEndpoint : undefined;
    }

    /** A token for the API, through the cache: with a cache of its own, the caller learns whether ISC issues one now. */
    token(): Promise<string> {
        return this.tokens.get(this.tokenKey, () => this.fetchToken());
    }

    expectOk(answer: HttpAnswer, action: string): string {
        if (answer.status >= 200 && answer.status < 300) return answer.body;
        const detail = iscFailureDetail(answer);
        throw new UpstreamError(SYSTEM, describeIscFailure(answer, action, detail), answer.status, undefined, detail || undefined);
    }

    private async call(
        method: 'GET' | 'POST',
        path: string,
        query: Query,
        body?: string,
        retry: RetryPolicy = 'idempotent',
        as?: IscCredential,
        { pausesOthersOn429 = true } = {},
    ): Promise<HttpAnswer> {
        const url = withQuery(`${this.config.baseUrl}${iscApiPath(this.config.apiVersion, path)}`, query);
        const send = async (token: string) => {
            const ambient = currentDeadline();
            const waitMs = Math.min(MAX_PACING_WAIT_MS, ambient === undefined ? Infinity : ambient - Date.now());
            if (!(await this.pacer.acquire(this.now() + waitMs))) throw new WaitingOutRateLimit(SYSTEM);
            const answer = await this.http.send({
                system: SYSTEM,
                method,
                url,
                retry,
                body,
                headers: {
                    Authorization: `Bearer ${token}`,
                    Accept: 'application/json',
                    'X-SailPoint-Experimental': 'true',
                    ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
                },
            });
            if (answer.status === 429 && pausesOthersOn429) this.pacer.pause(this.now() + (retryAfterMs(answer.headers['retry-after']) ?? 10_000));
            return answer;
        };
        // In user mode the service credential only reads: a write (every write is not idempotent) without the
        // approver's credential is a bug, not a fallback.
        if (retry === 'not-idempotent' && this.config.user && !as) throw new Error('an ISC write in ISC_DECIDE_AS=user mode needs the approver credential');
        const credential = as ?? { key: this.tokenKey, fetch: () => this.fetchToken(), holder: "the app's token: check ISC_CLIENT_ID and ISC_CLIENT_SECRET" };
        const answer = await this.tokens.withToken(credential.key, credential.fetch, send);
        if (answer.status === 401) throw new UpstreamError(SYSTEM, `Identity Security Cloud refused ${credential.holder} twice`, 401);
        return answer;
    }

    private fetchToken(): Promise<TokenGrant> {
        const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.config.clientId, client_secret: this.config.clientSecret });
        return requestToken(
            this.http,
            {
                system: SYSTEM,
                method: 'POST',
                url: `${this.config.baseUrl}/oauth/token`,
                retry: 'idempotent',
                body: form.toString(),
                headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
            },
            'ISC_CLIENT_ID and ISC_CLIENT_SECRET',
        );
    }
}
