import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';

/**
 * The Identity Security Cloud part of the simulator, served in one API layout (`apiVersion`): the per-service
 * v1 (`/generic-approvals/v1/{id}`) or a year-based version (`/v2025/generic-approvals/{id}`), the other
 * layout answering 404. OAuth client credentials, generic approvals
 * (list with filters/limit/offset/count and include-* flags, get, approve 200, reject 204, comments 200,
 * reassign 204), serial steps (an approve hands the approval to the next step, which keeps it PENDING),
 * parallel approvals (`approvalCriteria` PARALLEL: each decision takes its approver out of `assignedTo`
 * and into `approvedBy` or `rejectedBy` until a COUNT is reached, `serialStep` unchanged),
 * access-request approvals (pending list with owner-id/filters/sorters/paging, approve, reject and forward
 * answering 202, a generic mirror that follows them), identities by email or id, ErrorResponseDto bodies,
 * the token's scopes (a route needing one it lacks answers 403), and 100 requests per 10 s per client
 * answered with 429 and Retry-After. Every answered exchange is kept
 * in `exchanges` so a spec can check it against SailPoint's published schemas. Answers follow the v1
 * schema in v1 and the v2025 schema in every year-based version, since test/contracts has no other.
 *
 * Per-user OAuth (authorization code with PKCE), as an approver connecting their own account goes through:
 * `GET /oauth/authorize` answers a sign-in page listing the tenant's identities; signing in as one
 * (`GET /oauth/authorize/sign-in?identity=...&<the same query>`, or `signIn()` without HTTP) answers 302 to
 * the redirect URI with a single-use code and the state; `POST /oauth/token` exchanges the code (S256
 * verifier, same redirect URI, at most `codeLifetimeSeconds` old) and refreshes (rotating the refresh token
 * unless `rotateRefreshTokens` is off); `GET /oauth/info` names both endpoints. A user's access token works
 * on every route; on a write route ISC enforces its own rules (only a current approver may act, else 403) and
 * records that user as the one who decided. `serviceReadOnly` makes the client-credentials token a read-only
 * one: every write route refuses it 403. Every write attempt made with a valid token is kept in `writes`.
 * Identity AI recommendations (`POST /recommendations/v1/request`, scope `iai:decisions:manage`): the verdict
 * `recommend()` set for an identity and access item, else MAYBE for a known identity and NOT_FOUND for an
 * unknown one; 403 when `identityAi` is off, as on a tenant without the feature. The requests of each call
 * answered 200 are kept in `recommendationRequests`.
 * The sign-in pages and /oauth/info are not API exchanges (ISC serves the first on its login host) and are
 * left out of `exchanges`.
 */

/** The per-service layout (`v1`, the version after the service) or a year-based version before it. */
export type IscApiVersion = 'v1' | 'v2024' | 'v2025' | 'v2026' | 'v3';

export interface IscIdentity {
    id: string;
    name: string;
    email?: string;
    /** False for an identity not correlated to an account: `/identities` leaves it out unless `defaultFilter=NONE`. */
    correlated?: boolean;
}

export interface IscGroup {
    id: string;
    name: string;
    memberIds: string[];
}

export type IscAssignee = { kind: 'identity'; id: string } | { kind: 'group'; id: string };

export interface IscApproval {
    id: string;
    name: string;
    description?: string;
    type: string;
    priority: 'HIGH' | 'MEDIUM' | 'LOW';
    requesterId?: string;
    requesteeId?: string;
    assignedTo: IscAssignee[];
    /** Serial approvals: the steps after the current one, each taking over `assignedTo` when the one before approves. */
    laterSteps?: IscAssignee[][];
    /** Steps already approved, which ISC keeps listing under `approvers`. */
    earlierSteps?: IscAssignee[][];
    /**
     * Parallel approval (`approvalCriteria` PARALLEL, both COUNTs): every approver of a step is assigned at
     * once, and the step is approved once `approvals` of them approve; the approval is rejected once
     * `rejections` reject, or once too few are left to approve it. Absent: one decision settles a step.
     */
    parallel?: { approvals: number; rejections: number };
    /** Who decided what, at which step (the approval's `approvedBy` and `rejectedBy`); no identity for the API client's own. */
    decisions?: { identityId?: string; decision: 'approve' | 'reject'; at: number; step: number; actedAs?: IscActor }[];
    createdDate: number;
    modifiedDate: number;
    dueDate?: number;
    comments: { authorName: string; comment: string; createdDate: number }[];
    status: 'PENDING' | 'APPROVED' | 'REJECTED';
    completedDate?: number;
    requestedTarget: { id: string; name: string; targetType: string; requestType: string }[];
    /** What the approval is about elsewhere in ISC, e.g. the access request a mirrored approval stands for. */
    referenceData?: { id: string; type: string; name?: string }[];
}

export type IscAccessType = 'ROLE' | 'ENTITLEMENT' | 'ACCESS_PROFILE';

/** An access-request approval as the v3-style `/access-request-approvals` API serves it (dates in epoch ms). */
export interface IscAccessRequestApproval {
    /** 32 lowercase hex characters, as ISC's own ids. */
    id: string;
    accessRequestId: string;
    name: string;
    requestType: 'GRANT_ACCESS' | 'REVOKE_ACCESS' | 'MODIFY_ACCESS';
    /** An identity in `IscTenant.identities`. */
    ownerId: string;
    requesterId?: string;
    requestedForId?: string;
    requestedObject: { id: string; name: string; description?: string; type: IscAccessType };
    requesterComment?: string;
    previousReviewersComments: { authorId?: string; comment: string; created: number }[];
    forwardHistory: {
        oldApproverName: string;
        newApproverName: string;
        forwarderName?: string;
        comment?: string;
        modified: number;
        reassignmentType: 'MANUAL_REASSIGNMENT' | 'AUTOMATIC_REASSIGNMENT' | 'AUTO_ESCALATION' | 'SELF_REVIEW_DELEGATION';
    }[];
    commentRequiredWhenRejected: boolean;
    actionInProcess?: 'APPROVED' | 'REJECTED' | 'FORWARDED';
    startDate?: number;
    removeDate?: number;
    privilegeLevel?: string;
    /**
     * Separation-of-duties conflicts found by the request's SoD check. Absent: no check ran (the tenant has
     * no SoD policy), so `sodViolationContext` is null; empty: the check ran and found none.
     */
    sodConflicts?: { policyName: string; left: { name: string; type: IscAccessType }[]; right: { name: string; type: IscAccessType }[] }[];
    created: number;
    modified: number;
    requestCreated: number;
    state: 'PENDING' | 'APPROVED' | 'REJECTED';
    /** Who decided it through the API (absent for one decided inside ISC or not yet decided). */
    decidedBy?: IscActor;
}

/** Whose token made a request: the approver's own (`user`, with their identity id) or the API client's (`service`, no identity). */
export interface IscActor {
    kind: 'user' | 'service';
    identityId?: string;
}

/** One write attempt made with a valid token, whatever its answer (`status`): who made it and on what. */
export interface IscWrite {
    route: IscRoute;
    approvalId: string;
    kind: 'user' | 'service';
    identityId?: string;
    status: number;
    at: number;
}

/** A token the per-user OAuth client was granted: by a code exchange or a refresh. */
export interface IscUserTokenGrant {
    grantType: 'authorization_code' | 'refresh_token';
    identityId: string;
    at: number;
}

export interface IscAction {
    approvalId: string;
    action: 'approve' | 'reject' | 'comments' | 'reassign';
    body: Record<string, unknown>;
    at: number;
    actedAs: IscActor;
}

export interface IscAccessRequestAction {
    approvalId: string;
    action: 'approve' | 'reject' | 'forward';
    body: Record<string, unknown>;
    at: number;
    actedAs: IscActor;
}

export type IscRoute =
    | 'isc.token'
    | 'isc.authorize'
    | 'isc.signIn'
    | 'isc.info'
    | 'isc.list'
    | 'isc.get'
    | 'isc.approve'
    | 'isc.reject'
    | 'isc.comments'
    | 'isc.reassign'
    | 'isc.identities'
    | 'isc.accessRequests.pending'
    | 'isc.accessRequests.approve'
    | 'isc.accessRequests.reject'
    | 'isc.accessRequests.forward'
    | 'isc.recommendations';

/** Identity AI's verdict on an identity having an access item: NOT_FOUND when it does not know the identity. */
export type IscRecommendation = 'YES' | 'NO' | 'MAYBE' | 'NOT_FOUND';

/** One pair a recommendation request asks about, as its body names it. */
export interface IscRecommendationRequest {
    identityId: string;
    item: { id: string; type: IscAccessType };
}

/** One request the tenant answered and its answer, as sent over the wire. */
export interface IscExchange {
    route: IscRoute;
    method: string;
    /** Without the query. */
    path: string;
    query: Record<string, string>;
    requestBody: string;
    status: number;
    responseBody: string;
    /** Whose valid token the request carried; absent for the token route and for a request without a valid token. */
    actedAs?: IscActor;
}

export interface IscAnswer {
    status: number;
    contentType: string;
    body: string;
    retryAfter?: string;
    headers?: Record<string, string>;
}

const json = (value: unknown, status = 200, headers?: Record<string, string>): IscAnswer => ({ status, contentType: 'application/json', body: JSON.stringify(value), headers });
const noContent = (): IscAnswer => ({ status: 204, contentType: 'application/json', body: '' });
const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const newHexId = () => randomBytes(16).toString('hex');
const TENANT_ID = 'a3a4a5a6-0000-4000-8000-000000000000';

/** The same 32 hex characters for the same parts: ids for what the tenant names but does not store (SoD policies, their access). */
const derivedHexId = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);
const asUuid = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;

const recommendationKey = (identityId: string, itemId: string) => `${identityId}\u0000${itemId}`;

/** A collection parameter such as `limit`: `fallback` when absent, undefined when not a whole number. */
const wholeNumber = (value: string | null, fallback: number) => (value === null ? fallback : /^\d+$/.test(value) ? Number(value) : undefined);

/** A JSON object body; an empty body is an empty object; anything else is undefined. */
function jsonObject(body: string): Record<string, unknown> | undefined {
    if (body.trim() === '') return {};
    try {
        const value: unknown = JSON.parse(body);
        return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
        return undefined;
    }
}

const ACCESS_REQUEST_FILTER_FIELDS: Record<string, (approval: IscAccessRequestApproval) => string | undefined> = {
    id: (approval) => approval.id,
    accessRequestId: (approval) => approval.accessRequestId,
    'requestedFor.id': (approval) => approval.requestedForId,
};
const ACCESS_REQUEST_SORT_FIELDS: Record<string, (approval: IscAccessRequestApproval) => number> = {
    created: (approval) => approval.created,
    modified: (approval) => approval.modified,
};
const ACCESS_TYPES: readonly IscAccessType[] = ['ENTITLEMENT', 'ACCESS_PROFILE', 'ROLE'];
const RECOMMENDATION_FLAGS = ['excludeInterpretations', 'includeTranslationMessages', 'includeDebugInformation', 'prescribeMode'];

/** A `requests` entry of a recommendation request, only the fields ISC reads; undefined when one is missing or of the wrong type. */
function recommendationRequest(value: unknown): IscRecommendationRequest | undefined {
    if (typeof value !== 'object' || value === null) return undefined;
    const { identityId, item } = value as Record<string, unknown>;
    if (typeof identityId !== 'string' || typeof item !== 'object' || item === null) return undefined;
    const { id, type } = item as Record<string, unknown>;
    const accessType = ACCESS_TYPES.find((known) => known === type);
    return typeof id === 'string' && accessType ? { identityId, item: { id, type: accessType } } : undefined;
}

const READ_APPROVALS = ['idn:access-request-approvals:read', 'idn:access-request-approvals:manage'];
const MANAGE_APPROVALS = ['idn:access-request-approvals:manage'];
/** Any one of these scopes lets a token use the route (SailPoint's spec lists them per operation). */
const ROUTE_SCOPES: Record<Exclude<IscRoute, OAuthRoute>, string[]> = {
    'isc.list': READ_APPROVALS,
    'isc.get': READ_APPROVALS,
    'isc.accessRequests.pending': READ_APPROVALS,
    'isc.identities': ['idn:identity:read', 'idn:identity:manage'],
    'isc.approve': MANAGE_APPROVALS,
    'isc.reject': MANAGE_APPROVALS,
    'isc.comments': MANAGE_APPROVALS,
    'isc.reassign': MANAGE_APPROVALS,
    'isc.accessRequests.approve': MANAGE_APPROVALS,
    'isc.accessRequests.reject': MANAGE_APPROVALS,
    'isc.accessRequests.forward': MANAGE_APPROVALS,
    // A read despite its name: it asks for verdicts and changes nothing, so a read-only token may call it.
    'isc.recommendations': ['iai:decisions:manage'],
};
/** The routes of the OAuth server rather than the API: no bearer token, no scope. */
type OAuthRoute = 'isc.token' | 'isc.authorize' | 'isc.signIn' | 'isc.info';
/** The routes that change an approval: a read-only token is refused on each, and each attempt is kept in `writes`. */
const WRITE_ROUTES: ReadonlySet<IscRoute> = new Set<IscRoute>([
    'isc.approve',
    'isc.reject',
    'isc.comments',
    'isc.reassign',
    'isc.accessRequests.approve',
    'isc.accessRequests.reject',
    'isc.accessRequests.forward',
]);
/** What a PKCE S256 challenge is: BASE64URL(SHA256(verifier)), 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
/** RFC 7636: a verifier is 43 to 128 unreserved characters. */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
/** HTTP Basic credentials are form-encoded (RFC 6749 §2.3.1); undefined when they do not decode. */
function formDecode(value: string): string | undefined {
    try {
        return decodeURIComponent(value.replace(/\+/g, ' '));
    } catch {
        return undefined;
    }
}
const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export function htmlEscape(value: string): string {
    return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const PAGE_HEADERS = { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'X-Frame-Options': 'DENY' };
const page = (status: number, title: string, body: string): IscAnswer => ({
    status,
    contentType: 'text/html; charset=utf-8',
    headers: PAGE_HEADERS,
    body: `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>\n<body>\n<h1>${htmlEscape(title)}</h1>\n${body}\n</body></html>\n`,
});
const oauthError = (error: string, description: string, status = 400): IscAnswer => json({ error, error_description: description }, status);

/** A validated authorization request: what the code will be bound to. */
interface AuthorizationRequest {
    redirectUri: string;
    state: string | null;
    codeChallenge: string;
    scope: string | null;
}

/** The forwarder ISC names when the app forwards through the API: the identity behind the API client. */
const API_CLIENT_NAME = 'Moveworks service identity';

export function errorResponse(status: number, text: string): IscAnswer {
    const detailCode = { 400: '400.1 Bad Request Content', 403: '403 Forbidden', 404: '404 Not found', 500: '500.0 Internal Fault' }[status] ?? String(status);
    return json({ detailCode, trackingId: randomBytes(16).toString('hex'), messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text }], causes: [] }, status);
}

/** `a eq "x"` and `a in ("x","y")`, joined by `and`, on plain or dotted fields (`requestedFor.id`): enough of ISC's filter grammar for what the app sends. */
export function parseIscFilter(filter: string): { field: string; values: string[] }[] | undefined {
    const clauses: { field: string; values: string[] }[] = [];
    const quoted = '"((?:[^"\\\\]|\\\\.)*)"';
    const clause = new RegExp(`^\\s*([A-Za-z]+(?:\\.[A-Za-z]+)*)\\s+(?:eq\\s+${quoted}|in\\s+\\(((?:\\s*${quoted}\\s*,?)+)\\))\\s*(?:and\\b|$)`);
    const unescape = (value: string) => value.replace(/\\(.)/g, '$1');
    let rest = filter;
    while (rest.trim() !== '') {
        const match = clause.exec(rest);
        if (!match) return undefined;
        const values = match[2] !== undefined ? [unescape(match[2])] : [...match[3].matchAll(new RegExp(quoted, 'g'))].map((m) => unescape(m[1]));
        clauses.push({ field: match[1], values });
        rest = rest.slice(match[0].length);
    }
    return clauses;
}

export class IscTenant {
    readonly identities = new Map<string, IscIdentity>();
    readonly groups = new Map<string, IscGroup>();
    readonly approvals = new Map<string, IscApproval>();
    readonly actions: IscAction[] = [];
    readonly accessRequests = new Map<string, IscAccessRequestApproval>();
    readonly accessRequestActions: IscAccessRequestAction[] = [];
    /** Every exchange the tenant answered (injected faults are not), in order; a spec may `clearExchanges()` or splice it. */
    readonly exchanges: IscExchange[] = [];
    /** Whether the API client's identity has the ORG_ADMIN user level, which listing the whole org's access-request approvals needs. */
    orgAdmin = true;
    /** The scopes the API client's personal access token carries; a request needing one it lacks is refused 403. */
    readonly scopes = new Set(['idn:access-request-approvals:read', 'idn:access-request-approvals:manage', 'idn:identity:read', 'iai:decisions:manage']);
    tokenLifetimeSeconds = 750;
    maxPer10Seconds = 100;
    readonly rateLimited: number[] = [];
    /** The per-user OAuth client (grant types AUTHORIZATION_CODE and REFRESH_TOKEN). */
    userClientId = 'isc-user-client';
    userClientSecret = 'demo-isc-user-secret';
    /** When set, the only redirect URIs the user client has registered; unset, any http(s) URL is accepted. */
    userRedirectUris?: string[];
    /** The scopes a user's access token carries. */
    readonly userScopes = new Set(['idn:access-request-approvals:read', 'idn:access-request-approvals:manage', 'idn:identity:read', 'iai:decisions:manage']);
    userTokenLifetimeSeconds = 3600;
    /** How long a refresh token works after it is issued, checked when it is used. */
    refreshTokenLifetimeSeconds = 30 * 86_400;
    /** How long a code may wait before it is exchanged. */
    codeLifetimeSeconds = 60;
    /** Each refresh answers a new refresh token, and the one used stops working. */
    rotateRefreshTokens = true;
    /** Reusing a replaced refresh token also revokes every token of that sign-in (the OAuth security BCP's reuse detection). */
    refreshReuseRevokesFamily = false;
    /** The client-credentials token is read-only (as a PAT without `idn:access-request-approvals:manage`): every write route refuses it 403. */
    serviceReadOnly = false;
    /** Every token granted to the user client, in order. */
    readonly userTokenGrants: IscUserTokenGrant[] = [];
    /** Every sign-in on the authorize page (or through `signIn()`), in order. */
    readonly signIns: { identityId: string; redirectUri: string; at: number }[] = [];
    /** Every write attempt made with a valid token, in order, with whose token it was. */
    readonly writes: IscWrite[] = [];
    /** Whether the tenant has Identity AI; without it the recommendations route answers 403. */
    identityAi = true;
    /** The requests of each recommendations call answered 200, in order. */
    readonly recommendationRequests: IscRecommendationRequest[][] = [];
    /** Access tokens: a service token has no identity; a user's carries the identity and the sign-in (code) it descends from. */
    private readonly tokens = new Map<string, { clientId: string; expiresAt: number; identityId?: string; grantId?: string }>();
    private readonly codes = new Map<string, AuthorizationRequest & { identityId: string; issuedAt: number; used: boolean }>();
    private readonly refreshTokens = new Map<string, { identityId: string; grantId: string; issuedAt: number; state: 'active' | 'rotated' | 'revoked' }>();
    private readonly starts = new Map<string, number[]>();
    /** Access-request approval id -> the id of the generic approval that mirrors it. */
    private readonly genericMirrors = new Map<string, string>();
    /** The verdicts `recommend()` set, by identity and access item. */
    private readonly recommendations = new Map<string, { recommendation: IscRecommendation; interpretations: string[] }>();
    /** The X-Total-Count lists answer, given the true one: lets a spec give a stale count. */
    reportedTotal?: (total: number) => number;
    /** Lets a spec change the generic Approval JSON of an item, as a tenant answering an unexpected shape would. */
    reshapeApproval?: (json: Record<string, unknown>, approval: IscApproval) => void;
    /** Lets a spec change the PendingApproval JSON of an item, as a tenant answering an unexpected shape would. */
    reshapePendingApproval?: (json: Record<string, unknown>, approval: IscAccessRequestApproval) => void;
    /** Called before each list page is answered, with its offset: lets a spec change the list between pages. */
    beforeListPage?: (offset: number) => void;

    constructor(
        readonly clientId: string,
        readonly clientSecret: string,
        /** The layout the tenant serves; the app is handed it as ISC_API_VERSION (see `Simulator.settings()`). */
        public apiVersion: IscApiVersion = 'v1',
    ) {}

    addIdentity(identity: Omit<IscIdentity, 'id'> & { id?: string }): IscIdentity {
        const stored = { ...identity, id: identity.id ?? randomBytes(16).toString('hex') };
        this.identities.set(stored.id, stored);
        return stored;
    }

    addGroup(name: string, memberIds: string[]): IscGroup {
        const group = { id: randomUUID(), name, memberIds };
        this.groups.set(group.id, group);
        return group;
    }

    addApproval(approval: Partial<IscApproval> & { assignedTo: IscAssignee[] }): IscApproval {
        const now = Date.now();
        const stored: IscApproval = {
            id: randomUUID(),
            name: 'Access request approval',
            type: 'ACCESS_REQUEST_APPROVAL',
            priority: 'MEDIUM',
            createdDate: now,
            modifiedDate: now,
            comments: [],
            status: 'PENDING',
            requestedTarget: [],
            ...approval,
        };
        this.approvals.set(stored.id, stored);
        return stored;
    }

    /** Decides an approval inside ISC (not through the app). */
    complete(approvalId: string, status: 'APPROVED' | 'REJECTED' = 'APPROVED'): void {
        const approval = this.approvals.get(approvalId);
        if (!approval) return;
        approval.status = status;
        approval.completedDate = approval.modifiedDate = Date.now();
    }

    /** Approves the current step inside ISC (not through the app): the next step takes over, or it completes. */
    approveStep(approvalId: string): void {
        const approval = this.approvals.get(approvalId)!;
        const nextStep = approval.laterSteps?.shift();
        if (!nextStep) return this.complete(approvalId);
        approval.earlierSteps = [...(approval.earlierSteps ?? []), approval.assignedTo];
        approval.assignedTo = nextStep;
        approval.modifiedDate = Date.now();
    }

    /** One approver decides inside ISC (not through the app), as through the API on their behalf. */
    decideAs(approvalId: string, identityId: string, decision: 'approve' | 'reject'): void {
        const approval = this.approvals.get(approvalId)!;
        approval.modifiedDate = Date.now();
        this.recordDecision(approval, identityId, decision, approval.modifiedDate);
    }

    /**
     * Records a decision for the identity it was made for and moves the approval on as its criteria say.
     * An identity that is none of the current approvers stands for an admin caller, for whom ISC takes over
     * the first approver's place (the reference: "reassigned from a random approver").
     */
    private recordDecision(approval: IscApproval, identityId: string | undefined, decision: 'approve' | 'reject', at: number, actedAs?: IscActor): void {
        const step = approval.earlierSteps?.length ?? 0;
        const place = this.placeOf(approval, identityId);
        approval.decisions = [...(approval.decisions ?? []), { identityId: place === -1 ? undefined : identityId, decision, at, step, ...(actedAs ? { actedAs } : {}) }];
        if (!approval.parallel) return decision === 'approve' ? this.approveStep(approval.id) : this.complete(approval.id, 'REJECTED');
        approval.assignedTo = approval.assignedTo.filter((_, index) => index !== Math.max(0, place));
        const inStep = approval.decisions.filter((entry) => entry.step === step);
        const approvals = inStep.filter((entry) => entry.decision === 'approve').length;
        const rejections = inStep.length - approvals;
        if (approvals >= approval.parallel.approvals) return this.approveStep(approval.id);
        if (rejections >= approval.parallel.rejections || approvals + approval.assignedTo.length < approval.parallel.approvals) this.complete(approval.id, 'REJECTED');
    }

    /** Where the identity is among the current approvers, directly or as a member of an approving governance group; -1 if nowhere. */
    private placeOf(approval: IscApproval, identityId: string | undefined): number {
        if (identityId === undefined) return -1;
        return approval.assignedTo.findIndex((assignee) =>
            assignee.kind === 'identity' ? assignee.id === identityId : (this.groups.get(assignee.id)?.memberIds ?? []).some((id) => id === identityId),
        );
    }

    /** Reassigns inside ISC (not through the app). */
    reassignTo(approvalId: string, assignees: IscAssignee[]): void {
        const approval = this.approvals.get(approvalId)!;
        approval.assignedTo = assignees;
        approval.modifiedDate = Date.now();
    }

    addAccessRequest(
        approval: Partial<IscAccessRequestApproval> & Pick<IscAccessRequestApproval, 'ownerId' | 'requestedObject'>,
    ): IscAccessRequestApproval {
        const now = Date.now();
        const stored: IscAccessRequestApproval = {
            id: newHexId(),
            accessRequestId: newHexId(),
            name: approval.requestedObject.name,
            requestType: 'GRANT_ACCESS',
            previousReviewersComments: [],
            forwardHistory: [],
            commentRequiredWhenRejected: false,
            created: now,
            modified: now,
            requestCreated: approval.created ?? now,
            state: 'PENDING',
            ...approval,
        };
        this.accessRequests.set(stored.id, stored);
        return stored;
    }

    /** Decides an access-request approval inside ISC (not through the app): it leaves the pending list, and its mirror completes. */
    completeAccessRequest(approvalId: string, state: 'APPROVED' | 'REJECTED' = 'APPROVED'): void {
        const approval = this.accessRequests.get(approvalId);
        if (!approval) return;
        approval.state = state;
        approval.modified = Date.now();
        this.completeMirror(approval);
    }

    /** Forwards inside ISC (not through the app), as the owner does from their queue. */
    forwardAccessRequestTo(approvalId: string, newOwnerId: string): void {
        const approval = this.accessRequests.get(approvalId)!;
        this.forward(approval, newOwnerId, this.identities.get(approval.ownerId)?.name);
    }

    /** Marks a decision as in flight inside ISC (or clears it): approve, reject and forward then answer 400. */
    setActionInProcess(approvalId: string, action: IscAccessRequestApproval['actionInProcess']): void {
        this.accessRequests.get(approvalId)!.actionInProcess = action;
    }

    /**
     * Adds the generic approval that mirrors an access-request approval, as tenants do since 2026: same
     * name, people and target, `referenceData` naming the access request, and the same outcome once decided.
     */
    mirrorAsGeneric(accessRequestApprovalId: string): IscApproval {
        const request = this.accessRequests.get(accessRequestApprovalId)!;
        const requester = request.requesterId ? this.identities.get(request.requesterId) : undefined;
        const mirror = this.addApproval({
            name: request.name,
            description: request.requestedObject.description,
            type: 'ACCESS_REQUEST_APPROVAL',
            requesterId: request.requesterId,
            requesteeId: request.requestedForId,
            assignedTo: [{ kind: 'identity', id: request.ownerId }],
            createdDate: request.created,
            modifiedDate: request.modified,
            comments: request.requesterComment
                ? [{ authorName: requester?.name ?? 'Requester', comment: request.requesterComment, createdDate: request.requestCreated }]
                : [],
            requestedTarget: [{ id: request.requestedObject.id, name: request.requestedObject.name, targetType: request.requestedObject.type, requestType: request.requestType }],
            referenceData: [{ id: request.accessRequestId, type: 'AccessRequestId', name: request.name }],
        });
        this.genericMirrors.set(request.id, mirror.id);
        if (request.state !== 'PENDING') this.completeMirror(request);
        return mirror;
    }

    /** What Identity AI answers for this identity and access item (of any type), with the sentences explaining it. */
    recommend(identityId: string, itemId: string, recommendation: IscRecommendation, interpretations: string[] = []): void {
        this.recommendations.set(recommendationKey(identityId, itemId), { recommendation, interpretations: [...interpretations] });
    }

    clearExchanges(): void {
        this.exchanges.length = 0;
    }

    expireTokens(): void {
        this.tokens.clear();
    }

    /** Every refresh token (and unexchanged code) of this identity stops working, as when the user or their grant is revoked in ISC. */
    revokeUser(identityId: string): void {
        for (const refresh of this.refreshTokens.values()) if (refresh.identityId === identityId) refresh.state = 'revoked';
        for (const code of this.codes.values()) if (code.identityId === identityId) code.used = true;
    }

    /** This identity's access tokens are answered 401 from now on, as expired ones are; its refresh tokens still work. */
    expireUserTokens(identityId: string): void {
        for (const token of this.tokens.values()) if (token.identityId === identityId) token.expiresAt = 0;
    }

    /**
     * Signs in as an identity on the authorize page, without HTTP: validates `authorizeUrl`'s query as
     * `GET /oauth/authorize` does and answers the Location the sign-in redirects to (`redirect_uri` with
     * `code` and `state`). Throws, naming the reason, where the page answers 400.
     */
    signIn(authorizeUrl: string, identityId: string): string {
        const checked = this.authorizationRequest(new URL(authorizeUrl).searchParams);
        if (typeof checked === 'string') throw new Error(checked);
        const location = this.issueCode(checked, identityId);
        if (location === undefined) throw new Error(`No identity ${identityId} in the tenant`);
        return location;
    }

    /**
     * The resource a path names in the tenant's layout, as the year-based layout names it after the version
     * (`/generic-approvals/{id}`, `/identities`); undefined for a path of the other layout, which a tenant of
     * this version does not serve.
     */
    private resourceOf(path: string): string | undefined {
        if (this.apiVersion !== 'v1') return path.startsWith(`/${this.apiVersion}/`) ? path.slice(this.apiVersion.length + 1) : undefined;
        const perService = /^(\/[^/]+)\/v1(\/.*)?$/.exec(path);
        return perService ? `${perService[1]}${perService[2] ?? ''}` : undefined;
    }

    routeOf(method: string, path: string): IscRoute | undefined {
        if (method === 'POST' && path === '/oauth/token') return 'isc.token';
        if (method === 'GET' && path === '/oauth/authorize') return 'isc.authorize';
        if (method === 'GET' && path === '/oauth/authorize/sign-in') return 'isc.signIn';
        if (method === 'GET' && path === '/oauth/info') return 'isc.info';
        const rest = this.resourceOf(path);
        if (rest === undefined) return undefined;
        if (method === 'GET' && rest === '/generic-approvals') return 'isc.list';
        if (method === 'GET' && rest === '/identities') return 'isc.identities';
        if (method === 'GET' && /^\/generic-approvals\/[^/]+$/.test(rest)) return 'isc.get';
        if (method === 'GET' && rest === '/access-request-approvals/pending') return 'isc.accessRequests.pending';
        if (method === 'POST' && rest === '/recommendations/request') return 'isc.recommendations';
        const decision = /^\/access-request-approvals\/[^/]+\/(approve|reject|forward)$/.exec(rest)?.[1];
        if (decision && method === 'POST') return `isc.accessRequests.${decision}` as IscRoute;
        const action = /^\/generic-approvals\/[^/]+\/(approve|reject|comments|reassign)$/.exec(rest)?.[1];
        return action && method === 'POST' ? (`isc.${action}` as IscRoute) : undefined;
    }

    handle(route: IscRoute, request: IncomingMessage, url: URL, body: string): IscAnswer {
        if (route === 'isc.authorize' || route === 'isc.signIn' || route === 'isc.info') return this.loginPage(route, request, url);
        const seen: { actor?: IscActor } = {};
        const answer = this.answer(route, request, url, body, seen);
        this.exchanges.push({
            route,
            method: request.method ?? 'GET',
            path: url.pathname,
            query: Object.fromEntries(url.searchParams),
            requestBody: body,
            status: answer.status,
            responseBody: answer.body,
            ...(seen.actor ? { actedAs: seen.actor } : {}),
        });
        if (seen.actor && WRITE_ROUTES.has(route)) {
            const approvalId = decodeURIComponent(this.resourceOf(url.pathname)?.split('/')[2] ?? '');
            this.writes.push({ route, approvalId, ...seen.actor, status: answer.status, at: Date.now() });
        }
        return answer;
    }

    private answer(route: IscRoute, request: IncomingMessage, url: URL, body: string, seen: { actor?: IscActor }): IscAnswer {
        if (route === 'isc.token') return this.issueToken(request, body);
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        const session = token ? this.tokens.get(token) : undefined;
        if (!session || session.expiresAt <= Date.now()) return json({ error: 'JWT validation failed: JWT is expired' }, 401);
        const actor: IscActor = session.identityId ? { kind: 'user', identityId: session.identityId } : { kind: 'service' };
        seen.actor = actor;
        const limited = this.rateLimit(session.identityId ? `${session.clientId}/${session.identityId}` : session.clientId);
        if (limited) return limited;
        const accepted = ROUTE_SCOPES[route as Exclude<IscRoute, OAuthRoute>];
        const scopes = actor.kind === 'user' ? this.userScopes : this.serviceScopes();
        if (!accepted.some((scope) => scopes.has(scope))) return errorResponse(403, `The token lacks the scope this request needs: one of ${accepted.join(', ')}.`);
        const id = decodeURIComponent(this.resourceOf(url.pathname)?.split('/')[2] ?? '');
        switch (route) {
            case 'isc.list':
                return this.list(url);
            case 'isc.identities':
                return this.findIdentities(url);
            case 'isc.get': {
                const approval = this.approvals.get(id);
                return approval ? json(this.toJson(approval, true, true)) : errorResponse(404, `Approval ${id} not found`);
            }
            case 'isc.accessRequests.pending':
                return this.listPendingAccessRequests(url);
            case 'isc.accessRequests.approve':
            case 'isc.accessRequests.reject':
            case 'isc.accessRequests.forward':
                return this.decideAccessRequest(route, id, body, actor);
            case 'isc.recommendations':
                return this.recommendationsFor(body);
            default:
                return this.act(route, id, body, actor);
        }
    }

    /** The service token's scopes: without the approvals manage scope when it is read-only. */
    private serviceScopes(): Set<string> {
        return this.serviceReadOnly ? new Set([...this.scopes].filter((scope) => !MANAGE_APPROVALS.includes(scope))) : this.scopes;
    }

    private issueToken(request: IncomingMessage, body: string): IscAnswer {
        const form = new URLSearchParams(body);
        const grantType = form.get('grant_type');
        if (grantType === 'authorization_code' || grantType === 'refresh_token') return this.issueUserToken(grantType, request, form);
        if (grantType !== 'client_credentials') return json({ error: 'unsupported_grant_type' }, 400);
        if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) return json({ error: 'invalid_client' }, 401);
        const token = `eyJ${randomBytes(24).toString('base64url')}`;
        this.tokens.set(token, { clientId: this.clientId, expiresAt: Date.now() + this.tokenLifetimeSeconds * 1000 });
        return json({ access_token: token, token_type: 'bearer', expires_in: this.tokenLifetimeSeconds, scope: [...this.serviceScopes()].join(' ') });
    }

    /** The user client's grants: a code exchange (PKCE S256) or a refresh, the client authenticated by form fields or HTTP Basic. */
    private issueUserToken(grantType: 'authorization_code' | 'refresh_token', request: IncomingMessage, form: URLSearchParams): IscAnswer {
        const basic = /^Basic (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
        const decoded = basic ? Buffer.from(basic, 'base64').toString() : '';
        const colon = decoded.indexOf(':');
        const basicId = colon === -1 ? undefined : formDecode(decoded.slice(0, colon));
        const basicSecret = colon === -1 ? undefined : formDecode(decoded.slice(colon + 1));
        const clientId = form.get('client_id') ?? basicId;
        const clientSecret = form.get('client_secret') ?? basicSecret;
        if (clientId === this.clientId && clientSecret === this.clientSecret) {
            return oauthError('unauthorized_client', `This client is not allowed the ${grantType} grant.`);
        }
        if (clientId !== this.userClientId || clientSecret !== this.userClientSecret) return json({ error: 'invalid_client' }, 401);
        return grantType === 'authorization_code' ? this.exchangeCode(form) : this.refresh(form);
    }

    private exchangeCode(form: URLSearchParams): IscAnswer {
        const code = form.get('code');
        const verifier = form.get('code_verifier');
        if (!code) return oauthError('invalid_request', 'code is required.');
        const grant = this.codes.get(code);
        if (!grant) return oauthError('invalid_grant', 'The authorization code is not known.');
        if (grant.used) {
            this.revokeSignIn(code);
            return oauthError('invalid_grant', 'The authorization code was already used; the tokens issued from it are revoked.');
        }
        // Single use: whatever this attempt's outcome, the code is spent.
        grant.used = true;
        if (Date.now() - grant.issuedAt > this.codeLifetimeSeconds * 1000) return oauthError('invalid_grant', 'The authorization code has expired.');
        if (form.get('redirect_uri') !== grant.redirectUri) return oauthError('invalid_grant', 'redirect_uri does not match the one of the authorization request.');
        if (!verifier || !VERIFIER.test(verifier)) return oauthError('invalid_grant', 'code_verifier is missing or malformed.');
        if (s256(verifier) !== grant.codeChallenge) return oauthError('invalid_grant', 'code_verifier does not match the code_challenge.');
        if (!this.identities.has(grant.identityId)) return oauthError('invalid_grant', 'The identity is no longer active.');
        return this.grantUserTokens('authorization_code', grant.identityId, code, true);
    }

    private refresh(form: URLSearchParams): IscAnswer {
        const token = form.get('refresh_token');
        if (!token) return oauthError('invalid_request', 'refresh_token is required.');
        const stored = this.refreshTokens.get(token);
        if (!stored) return oauthError('invalid_grant', 'The refresh token is not known.');
        if (stored.state === 'rotated') {
            if (this.refreshReuseRevokesFamily) this.revokeSignIn(stored.grantId);
            return oauthError('invalid_grant', 'The refresh token was already used and has been replaced.');
        }
        if (stored.state === 'revoked') return oauthError('invalid_grant', 'The refresh token has been revoked.');
        if (Date.now() - stored.issuedAt >= this.refreshTokenLifetimeSeconds * 1000) return oauthError('invalid_grant', 'The refresh token has expired.');
        if (!this.identities.has(stored.identityId)) return oauthError('invalid_grant', 'The identity is no longer active.');
        if (this.rotateRefreshTokens) stored.state = 'rotated';
        return this.grantUserTokens('refresh_token', stored.identityId, stored.grantId, this.rotateRefreshTokens);
    }

    /** A new access token for the identity, and a new refresh token when `withRefreshToken`, both tied to the sign-in `grantId`. */
    private grantUserTokens(grantType: IscUserTokenGrant['grantType'], identityId: string, grantId: string, withRefreshToken: boolean): IscAnswer {
        const now = Date.now();
        const accessToken = `eyJ${randomBytes(24).toString('base64url')}`;
        this.tokens.set(accessToken, { clientId: this.userClientId, expiresAt: now + this.userTokenLifetimeSeconds * 1000, identityId, grantId });
        const refreshToken = withRefreshToken ? randomBytes(32).toString('base64url') : undefined;
        if (refreshToken) this.refreshTokens.set(refreshToken, { identityId, grantId, issuedAt: now, state: 'active' });
        this.userTokenGrants.push({ grantType, identityId, at: now });
        return json({
            access_token: accessToken,
            token_type: 'bearer',
            expires_in: this.userTokenLifetimeSeconds,
            ...(refreshToken ? { refresh_token: refreshToken } : {}),
            scope: [...this.userScopes].join(' '),
            identity_id: identityId,
            tenant_id: TENANT_ID,
        });
    }

    /** Every token descending from one sign-in (its code) stops working: access tokens at once, refresh tokens on their next use. */
    private revokeSignIn(grantId: string): void {
        for (const [token, session] of this.tokens) if (session.grantId === grantId) this.tokens.delete(token);
        for (const refresh of this.refreshTokens.values()) if (refresh.grantId === grantId) refresh.state = 'revoked';
    }

    /**
     * The authorization request in `query`, or why it is refused. Anything wrong answers 400 without a
     * redirect, even once the redirect URI is known: this tenant insists on S256 PKCE.
     */
    private authorizationRequest(query: URLSearchParams): AuthorizationRequest | string {
        const names = ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'scope'];
        const repeated = names.find((name) => query.getAll(name).length > 1);
        if (repeated) return `${repeated} is given more than once.`;
        if (query.get('client_id') !== this.userClientId) return 'client_id is not an OAuth client allowed the authorization code grant.';
        const redirectUri = query.get('redirect_uri');
        let parsed: URL | undefined;
        try {
            parsed = redirectUri ? new URL(redirectUri) : undefined;
        } catch {
            parsed = undefined;
        }
        if (!redirectUri || !parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hash !== '' || redirectUri.includes('#')) {
            return 'redirect_uri must be an absolute http or https URL without a fragment.';
        }
        if (this.userRedirectUris && !this.userRedirectUris.includes(redirectUri)) return 'redirect_uri is not registered for this client.';
        if (query.get('response_type') !== 'code') return 'response_type must be code.';
        const method = query.get('code_challenge_method');
        const challenge = query.get('code_challenge');
        if (method !== 'S256') return 'code_challenge_method must be S256 (plain and no PKCE are refused).';
        if (!challenge || !S256_CHALLENGE.test(challenge)) return 'code_challenge must be BASE64URL(SHA256(code_verifier)): 43 characters.';
        return { redirectUri, state: query.get('state'), codeChallenge: challenge, scope: query.get('scope') };
    }

    /** A code for the identity bound to the request, and the redirect carrying it; undefined for an unknown identity. */
    private issueCode(request: AuthorizationRequest, identityId: string): string | undefined {
        if (!this.identities.has(identityId)) return undefined;
        const code = randomBytes(24).toString('base64url');
        const now = Date.now();
        this.codes.set(code, { ...request, identityId, issuedAt: now, used: false });
        this.signIns.push({ identityId, redirectUri: request.redirectUri, at: now });
        const location = new URL(request.redirectUri);
        location.searchParams.set('code', code);
        if (request.state !== null) location.searchParams.set('state', request.state);
        return location.toString();
    }

    /** The login host's pages: the sign-in page, the sign-in itself (302 to the client), and /oauth/info. */
    private loginPage(route: 'isc.authorize' | 'isc.signIn' | 'isc.info', request: IncomingMessage, url: URL): IscAnswer {
        if (route === 'isc.info') {
            const base = `http://${request.headers.host ?? '127.0.0.1'}`;
            return json({ tokenEndpoint: `${base}/oauth/token`, authorizeEndpoint: `${base}/oauth/authorize`, tenantId: TENANT_ID, pod: 'sim01-useast1', org: 'simulator' });
        }
        const checked = this.authorizationRequest(url.searchParams);
        if (typeof checked === 'string') return page(400, 'Sign-in request refused', `<p>${htmlEscape(checked)}</p>`);
        if (route === 'isc.signIn') {
            const location = this.issueCode(checked, url.searchParams.get('identity') ?? '');
            if (location === undefined) return page(400, 'Sign-in request refused', '<p>No such identity in this tenant.</p>');
            return { status: 302, contentType: 'text/html; charset=utf-8', headers: { ...PAGE_HEADERS, Location: location }, body: '' };
        }
        const query = new URLSearchParams(url.searchParams);
        query.delete('identity');
        const rows = [...this.identities.values()].map((identity) => {
            const href = `/oauth/authorize/sign-in?${new URLSearchParams([['identity', identity.id], ...query]).toString()}`;
            const email = identity.email ? ` &lt;${htmlEscape(identity.email)}&gt;` : '';
            return `<li><a href="${htmlEscape(href)}">${htmlEscape(identity.name)}</a>${email}</li>`;
        });
        return page(
            200,
            'Sign in to Identity Security Cloud',
            `<p>Simulated sign-in: choose who you are. The application will act in Identity Security Cloud as that identity.</p>\n<ul>\n${rows.join('\n')}\n</ul>`,
        );
    }

    private rateLimit(clientId: string): IscAnswer | undefined {
        const now = Date.now();
        const starts = (this.starts.get(clientId) ?? []).filter((at) => at > now - 10_000);
        this.starts.set(clientId, starts);
        if (starts.length >= this.maxPer10Seconds) {
            this.rateLimited.push(now);
            return { ...json({ message: ' Rate Limit Exceeded ' }, 429), retryAfter: String(Math.max(1, Math.ceil((starts[0] + 10_000 - now) / 1000))) };
        }
        starts.push(now);
        return undefined;
    }

    private list(url: URL): IscAnswer {
        const limit = Number(url.searchParams.get('limit') ?? 250);
        const offset = Number(url.searchParams.get('offset') ?? 0);
        if (!Number.isInteger(limit) || limit < 0 || limit > 250) return errorResponse(400, 'limit must be between 0 and 250');
        if (!Number.isInteger(offset) || offset < 0) return errorResponse(400, 'offset must be 0 or more');
        this.beforeListPage?.(offset);
        let rows = [...this.approvals.values()];
        const filters = url.searchParams.get('filters');
        if (filters !== null) {
            const clauses = parseIscFilter(filters);
            if (!clauses || clauses.some((clause) => clause.field !== 'status' && clause.field !== 'approvalId')) return errorResponse(400, `Unsupported filter: ${filters}`);
            const field = (row: IscApproval, name: string) => (name === 'status' ? row.status : row.id);
            rows = rows.filter((row) => clauses.every((clause) => clause.values.some((value) => value.toUpperCase() === field(row, clause.field).toUpperCase())));
        }
        const page = rows.slice(offset, offset + limit);
        const approvers = url.searchParams.get('include-approvers') === 'true';
        const comments = url.searchParams.get('include-comments') === 'true';
        const headers = url.searchParams.get('count') === 'true' ? { 'X-Total-Count': String(this.reportedTotal?.(rows.length) ?? rows.length) } : undefined;
        return json(page.map((row) => this.toJson(row, approvers, comments)), 200, headers);
    }

    private findIdentities(url: URL): IscAnswer {
        const filters = url.searchParams.get('filters') ?? '';
        const clauses = parseIscFilter(filters);
        if (!clauses || clauses.some((clause) => clause.field !== 'email' && clause.field !== 'id')) return errorResponse(400, `Unsupported filter: ${filters}`);
        const everyIdentity = url.searchParams.get('defaultFilter') === 'NONE';
        const limit = wholeNumber(url.searchParams.get('limit'), 250);
        if (limit === undefined || limit > 250) return errorResponse(400, 'limit must be between 0 and 250');
        const rows = [...this.identities.values()].filter((identity) =>
            (everyIdentity || identity.correlated !== false) &&
            clauses.every((clause) =>
                clause.values.some((value) => (clause.field === 'email' ? identity.email?.toLowerCase() === value.toLowerCase() : identity.id === value)),
            ),
        );
        return json(rows.slice(0, limit).map((identity) => ({ id: identity.id, name: identity.name, emailAddress: identity.email ?? null, identityStatus: 'ACTIVE' })));
    }

    private act(route: IscRoute, id: string, body: string, actor: IscActor): IscAnswer {
        const approval = this.approvals.get(id);
        if (!approval) return errorResponse(404, `Approval ${id} not found`);
        let input: Record<string, unknown>;
        try {
            input = body.trim() === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
        } catch {
            return errorResponse(400, 'The request body could not be read');
        }
        if (approval.status !== 'PENDING') return errorResponse(400, `Approval ${id} is not pending`);
        // ISC's own rule for a user's token: only a current approver (directly or through a governance group) acts.
        if (actor.kind === 'user' && this.placeOf(approval, actor.identityId) === -1) {
            return errorResponse(403, `Identity ${actor.identityId} is not a current approver of approval ${id}`);
        }
        const action = route.slice('isc.'.length) as IscAction['action'];
        const comment = typeof input.comment === 'string' ? input.comment : undefined;
        const now = Date.now();
        if (action === 'comments' && !comment) return errorResponse(400, 'comment is required');
        if (action === 'reassign') {
            const to = typeof input.reassignTo === 'string' ? this.identities.get(input.reassignTo) : undefined;
            if (!to) return errorResponse(400, 'reassignTo must be an identity id');
            const from = typeof input.reassignFrom === 'string' ? input.reassignFrom : undefined;
            approval.assignedTo = [...approval.assignedTo.filter((assignee) => assignee.id !== from), { kind: 'identity', id: to.id }];
        }
        this.actions.push({ approvalId: id, action, body: input, at: now, actedAs: actor });
        const author = actor.kind === 'user' ? (this.identities.get(actor.identityId!)?.name ?? actor.identityId!) : 'Moveworks API client';
        if (comment) approval.comments.push({ authorName: author, comment, createdDate: now });
        approval.modifiedDate = now;
        if (action === 'approve' || action === 'reject') {
            this.recordDecision(approval, actor.kind === 'user' ? actor.identityId : this.onBehalfOf(comment), action, now, actor);
        }
        return action === 'reject' || action === 'reassign' ? noContent() : json(this.toJson(approval, true, true));
    }

    /**
     * The identity the app names in its comment ("on behalf of Name <email>"): the simulator acts for them
     * as ISC would for a caller with their own token.
     */
    private onBehalfOf(comment: string | undefined): string | undefined {
        const email = /on behalf of .*<([^<>]+)>\)$/.exec(comment ?? '')?.[1]?.toLowerCase();
        return email ? [...this.identities.values()].find((identity) => identity.email?.toLowerCase() === email)?.id : undefined;
    }

    /** `RecommendationResponseDto`: one answer per request, in the order asked, each echoing its request. */
    private recommendationsFor(body: string): IscAnswer {
        if (!this.identityAi) return errorResponse(403, 'Identity AI is not enabled for this tenant.');
        const input = jsonObject(body);
        if (!input || !Array.isArray(input.requests)) return errorResponse(400, 'requests must be a list of {identityId, item: {id, type}}');
        const badFlag = RECOMMENDATION_FLAGS.find((name) => input[name] !== undefined && input[name] !== null && typeof input[name] !== 'boolean');
        if (badFlag) return errorResponse(400, `${badFlag} must be a boolean`);
        const requests: IscRecommendationRequest[] = [];
        for (const [index, entry] of (input.requests as unknown[]).entries()) {
            const request = recommendationRequest(entry);
            if (!request) return errorResponse(400, `requests[${index}] needs a string identityId and an item with a string id and a type of ${ACCESS_TYPES.join(', ')}`);
            requests.push(request);
        }
        this.recommendationRequests.push(requests);
        const withInterpretations = input.excludeInterpretations !== true;
        return json({
            response: requests.map((request) => {
                const set = this.recommendations.get(recommendationKey(request.identityId, request.item.id));
                const recommendation = set?.recommendation ?? (this.identities.has(request.identityId) ? 'MAYBE' : 'NOT_FOUND');
                return { request, recommendation, interpretations: withInterpretations ? (set?.interpretations ?? []) : [], translationMessages: [] };
            }),
        });
    }

    private listPendingAccessRequests(url: URL): IscAnswer {
        const query = url.searchParams;
        // The API client's identity owns no approval here, so `me` matches nothing and any other id is someone else's.
        const ownerId = query.get('owner-id');
        if (!this.orgAdmin && ownerId === null) {
            return errorResponse(403, 'The caller needs the ORG_ADMIN user level to list the pending approvals of the whole org; without it, pass owner-id=me.');
        }
        if (!this.orgAdmin && ownerId !== 'me') return errorResponse(403, 'The caller needs the ORG_ADMIN user level to list the pending approvals of another identity.');
        const limit = wholeNumber(query.get('limit'), 250);
        const offset = wholeNumber(query.get('offset'), 0);
        if (limit === undefined || limit > 250) return errorResponse(400, 'limit must be between 0 and 250');
        if (offset === undefined) return errorResponse(400, 'offset must be 0 or more');
        const filters = query.get('filters');
        const clauses = filters === null ? [] : parseIscFilter(filters);
        if (!clauses || clauses.some((clause) => !Object.hasOwn(ACCESS_REQUEST_FILTER_FIELDS, clause.field))) return errorResponse(400, `Unsupported filter: ${filters}`);
        const sorters = query.get('sorters');
        const sortKeys = (sorters === null ? [] : sorters.split(',')).map((key) => ({ field: key.trim().replace(/^-/, ''), descending: key.trim().startsWith('-') }));
        if (sortKeys.some((key) => !Object.hasOwn(ACCESS_REQUEST_SORT_FIELDS, key.field))) return errorResponse(400, `Unsupported sorter: ${sorters}`);
        this.beforeListPage?.(offset);
        const rows = [...this.accessRequests.values()]
            .filter((approval) => approval.state === 'PENDING' && (ownerId === null || approval.ownerId === ownerId))
            .filter((approval) =>
                clauses.every((clause) => clause.values.some((value) => value.toLowerCase() === ACCESS_REQUEST_FILTER_FIELDS[clause.field](approval)?.toLowerCase())),
            )
            .sort((a, b) => {
                for (const key of sortKeys) {
                    const difference = ACCESS_REQUEST_SORT_FIELDS[key.field](a) - ACCESS_REQUEST_SORT_FIELDS[key.field](b);
                    if (difference !== 0) return key.descending ? -difference : difference;
                }
                return 0;
            });
        const headers = query.get('count') === 'true' ? { 'X-Total-Count': String(this.reportedTotal?.(rows.length) ?? rows.length) } : undefined;
        return json(rows.slice(offset, offset + limit).map((approval) => this.pendingApprovalJson(approval)), 200, headers);
    }

    private decideAccessRequest(route: IscRoute, id: string, body: string, actor: IscActor): IscAnswer {
        const action = route.slice('isc.accessRequests.'.length) as IscAccessRequestAction['action'];
        const input = jsonObject(body);
        if (!input) return errorResponse(400, 'The request body could not be read');
        const { comment, newOwnerId } = input;
        if (comment !== undefined && comment !== null && typeof comment !== 'string') return errorResponse(400, 'comment must be a string');
        if (action === 'reject' && (typeof comment !== 'string' || comment.trim() === '')) return errorResponse(400, 'comment is required to reject an approval');
        if (action === 'forward') {
            const fits = (value: unknown) => typeof value === 'string' && value.length >= 1 && value.length <= 255;
            if (!fits(newOwnerId) || !fits(comment)) return errorResponse(400, 'newOwnerId and comment are required, each 1 to 255 characters');
            if (!this.identities.has(newOwnerId as string)) return errorResponse(400, `newOwnerId ${String(newOwnerId)} is not an identity`);
        }
        const approval = this.accessRequests.get(id);
        // ISC answers 404 for an approval that is no longer pending, as for one that never existed.
        if (!approval || approval.state !== 'PENDING') return errorResponse(404, `Approval ${id} not found`);
        // ISC's own rule for a user's token: only the approval's current owner acts on it.
        if (actor.kind === 'user' && approval.ownerId !== actor.identityId) {
            return errorResponse(403, `Identity ${actor.identityId} is not the owner of approval ${id}`);
        }
        if (approval.actionInProcess) return errorResponse(400, `An action is already in process for approval ${id} (${approval.actionInProcess})`);
        this.accessRequestActions.push({ approvalId: id, action, body: input, at: Date.now(), actedAs: actor });
        const user = actor.kind === 'user' ? this.identities.get(actor.identityId!) : undefined;
        if (action === 'forward') {
            this.forward(approval, newOwnerId as string, user ? user.name : API_CLIENT_NAME, comment as string);
            return json({}, 202);
        }
        approval.decidedBy = actor;
        const decision = action === 'approve' ? 'approve' : 'reject';
        // The user's decision is theirs on the generic mirror too; a service decision completes it as before.
        const mirror = actor.kind === 'user' ? this.approvals.get(this.genericMirrors.get(id) ?? '') : undefined;
        if (mirror?.status === 'PENDING') this.recordDecision(mirror, actor.identityId, decision, Date.now(), actor);
        this.completeAccessRequest(id, action === 'approve' ? 'APPROVED' : 'REJECTED');
        return json({}, 202);
    }

    private forward(approval: IscAccessRequestApproval, newOwnerId: string, forwarderName: string | undefined, comment?: string): void {
        const now = Date.now();
        approval.forwardHistory.push({
            oldApproverName: this.identities.get(approval.ownerId)?.name ?? approval.ownerId,
            newApproverName: this.identities.get(newOwnerId)?.name ?? newOwnerId,
            forwarderName,
            comment,
            modified: now,
            reassignmentType: 'MANUAL_REASSIGNMENT',
        });
        approval.ownerId = newOwnerId;
        approval.modified = now;
        const mirrorId = this.genericMirrors.get(approval.id);
        if (mirrorId) this.reassignTo(mirrorId, [{ kind: 'identity', id: newOwnerId }]);
    }

    private completeMirror(approval: IscAccessRequestApproval): void {
        const mirrorId = this.genericMirrors.get(approval.id);
        if (mirrorId && approval.state !== 'PENDING' && this.approvals.get(mirrorId)?.status === 'PENDING') this.complete(mirrorId, approval.state);
    }

    /** `{type: IDENTITY, id, name}`, as PendingApproval names people. */
    private identityReference(id: string | undefined) {
        const identity = id ? this.identities.get(id) : undefined;
        return identity ? { type: 'IDENTITY', id: identity.id, name: identity.name } : null;
    }

    private commentDto(comment: string, created: number, authorId: string | undefined) {
        return { comment, created: iso(created), author: this.identityReference(authorId) };
    }

    /** `SodViolationContextCheckCompleted`: each conflict's policy and both sides' access; the access being requested is the one not already held. */
    private sodViolationContext(approval: IscAccessRequestApproval) {
        if (!approval.sodConflicts) return null;
        const requested = approval.requestedObject;
        const policy = (name: string) => ({ type: 'SOD_POLICY', id: asUuid(derivedHexId('SOD_POLICY', name)), name });
        const criteria = (side: { name: string; type: IscAccessType }[]) => ({
            criteriaList: side.map((access) => {
                const isRequested = access.name === requested.name && access.type === requested.type;
                return { existing: !isRequested, type: access.type, id: isRequested ? requested.id : derivedHexId(access.type, access.name), name: access.name };
            }),
        });
        return {
            state: 'SUCCESS',
            uuid: asUuid(derivedHexId('SOD_CHECK', approval.id)),
            violationCheckResult: {
                message: null,
                clientMetadata: null,
                violationContexts: approval.sodConflicts.map((conflict) => ({
                    policy: policy(conflict.policyName),
                    conflictingAccessCriteria: { leftCriteria: criteria(conflict.left), rightCriteria: criteria(conflict.right) },
                })),
                violatedPolicies: [...new Set(approval.sodConflicts.map((conflict) => conflict.policyName))].map(policy),
            },
        };
    }

    /** The `PendingApproval` JSON of GET /access-request-approvals/pending, with null where the tenant has no value. */
    private pendingApprovalJson(approval: IscAccessRequestApproval): Record<string, unknown> {
        const json = this.standardPendingApprovalJson(approval);
        this.reshapePendingApproval?.(json, approval);
        return json;
    }

    private standardPendingApprovalJson(approval: IscAccessRequestApproval): Record<string, unknown> {
        return {
            id: approval.id,
            accessRequestId: approval.accessRequestId,
            name: approval.name,
            created: iso(approval.created),
            modified: iso(approval.modified),
            requestCreated: iso(approval.requestCreated),
            requestType: approval.requestType,
            // v1 names the kind of identity the access is for, HUMAN for people; the v2025 schema has no such field.
            ...(this.apiVersion === 'v1' ? { identityType: 'HUMAN' } : {}),
            requester: this.identityReference(approval.requesterId),
            requestedFor: this.identityReference(approval.requestedForId),
            owner: this.identityReference(approval.ownerId),
            requestedObject: { ...approval.requestedObject, description: approval.requestedObject.description ?? null },
            requesterComment: approval.requesterComment === undefined ? null : this.commentDto(approval.requesterComment, approval.requestCreated, approval.requesterId),
            previousReviewersComments: approval.previousReviewersComments.map((c) => this.commentDto(c.comment, c.created, c.authorId)),
            forwardHistory: approval.forwardHistory.map((entry) => ({
                oldApproverName: entry.oldApproverName,
                newApproverName: entry.newApproverName,
                comment: entry.comment ?? null,
                modified: iso(entry.modified),
                forwarderName: entry.forwarderName ?? null,
                reassignmentType: entry.reassignmentType,
            })),
            commentRequiredWhenRejected: approval.commentRequiredWhenRejected,
            actionInProcess: approval.actionInProcess ?? null,
            removeDate: iso(approval.removeDate),
            removeDateUpdateRequested: false,
            currentRemoveDate: null,
            startDate: iso(approval.startDate),
            startUpdateRequested: false,
            currentStartDate: null,
            sodViolationContext: this.sodViolationContext(approval),
            clientMetadata: null,
            requestedAccounts: null,
            privilegeLevel: approval.privilegeLevel ?? null,
            maxPermittedAccessDuration: null,
        };
    }

    private person(id: string | undefined) {
        const identity = id ? this.identities.get(id) : undefined;
        return identity ? { identityID: identity.id, type: 'IDENTITY', name: identity.name, email: identity.email ?? null } : undefined;
    }

    private assignee(assignee: IscAssignee) {
        if (assignee.kind === 'identity') return this.person(assignee.id);
        const group = this.groups.get(assignee.id);
        if (!group) return undefined;
        const members = group.memberIds.flatMap((id) => {
            const identity = this.identities.get(id);
            return identity ? [{ id: identity.id, name: identity.name, email: identity.email ?? null, type: 'IDENTITY' }] : [];
        });
        return { identityID: group.id, type: 'GOVERNANCE_GROUP', name: group.name, email: null, members };
    }

    /** `approvedBy` or `rejectedBy`: who decided so, or the API client for a decision made inside ISC. */
    private decidedBy(approval: IscApproval, decision: 'approve' | 'reject') {
        const records = (approval.decisions ?? [])
            .filter((entry) => entry.decision === decision)
            .map((entry) => ({ ...(this.person(entry.identityId) ?? { type: 'IDENTITY', name: 'Moveworks API client' }), decisionDate: iso(entry.at) }));
        const completedSo = approval.status === (decision === 'approve' ? 'APPROVED' : 'REJECTED');
        return records.length === 0 && completedSo ? [{ type: 'IDENTITY', name: 'Moveworks API client', decisionDate: iso(approval.completedDate) }] : records;
    }

    /** Every step's approvers, as ISC lists them under `approvers`: earlier, current and later. */
    private everyStep(approval: IscApproval): IscAssignee[] {
        return [...(approval.earlierSteps ?? []).flat(), ...approval.assignedTo, ...(approval.laterSteps ?? []).flat()];
    }

    toJson(approval: IscApproval, withApprovers: boolean, withComments: boolean): Record<string, unknown> {
        const json = this.standardJson(approval, withApprovers, withComments);
        this.reshapeApproval?.(json, approval);
        return json;
    }

    private standardJson(approval: IscApproval, withApprovers: boolean, withComments: boolean): Record<string, unknown> {
        const assigned = approval.status === 'PENDING' ? approval.assignedTo.flatMap((assignee) => this.assignee(assignee) ?? []) : [];
        return {
            id: approval.id,
            tenantId: TENANT_ID,
            type: approval.type,
            name: [{ value: approval.name, locale: 'en_US' }],
            description: approval.description ? [{ value: approval.description, locale: 'en_US' }] : [],
            priority: approval.priority,
            medium: 'EMAIL',
            createdDate: iso(approval.createdDate),
            modifiedDate: iso(approval.modifiedDate),
            dueDate: iso(approval.dueDate),
            completedDate: iso(approval.completedDate),
            escalationStep: '0',
            isEscalated: false,
            requester: this.person(approval.requesterId),
            requestee: this.person(approval.requesteeId),
            assignedTo: assigned,
            serialStep: approval.earlierSteps?.length ?? 0,
            ...(approval.parallel
                ? {
                      approvalCriteria: {
                          type: 'PARALLEL',
                          approval: { calculationType: 'COUNT', value: approval.parallel.approvals },
                          rejection: { calculationType: 'COUNT', value: approval.parallel.rejections },
                      },
                  }
                : {}),
            ...(withApprovers ? { approvers: this.everyStep(approval).flatMap((assignee) => this.assignee(assignee) ?? []) } : {}),
            ...(withComments
                ? { comments: approval.comments.map((c) => ({ author: { name: c.authorName, type: 'IDENTITY' }, comment: c.comment, createdDate: iso(c.createdDate) })) }
                : {}),
            requestedTarget: approval.requestedTarget.map((target) => ({ ...target, reauthRequired: false })),
            ...(approval.referenceData ? { referenceData: approval.referenceData } : {}),
            approvedBy: this.decidedBy(approval, 'approve'),
            rejectedBy: this.decidedBy(approval, 'reject'),
        };
    }
}
