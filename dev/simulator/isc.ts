import { randomBytes, randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';

/**
 * The Identity Security Cloud part of the simulator: OAuth client credentials, v2025 generic approvals
 * (list with filters/limit/offset/count and include-* flags, get, approve 200, reject 204, comments 200,
 * reassign 204), serial steps (an approve hands the approval to the next step, which keeps it PENDING),
 * identities by email or id, ErrorResponseDto bodies, and 100 requests per 10 s per client answered with
 * 429 and Retry-After.
 */

export interface IscIdentity {
    id: string;
    name: string;
    email?: string;
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
    createdDate: number;
    modifiedDate: number;
    dueDate?: number;
    comments: { authorName: string; comment: string; createdDate: number }[];
    status: 'PENDING' | 'APPROVED' | 'REJECTED';
    completedDate?: number;
    requestedTarget: { id: string; name: string; targetType: string; requestType: string }[];
}

export interface IscAction {
    approvalId: string;
    action: 'approve' | 'reject' | 'comments' | 'reassign';
    body: Record<string, unknown>;
    at: number;
}

export type IscRoute = 'isc.token' | 'isc.list' | 'isc.get' | 'isc.approve' | 'isc.reject' | 'isc.comments' | 'isc.reassign' | 'isc.identities';

export interface IscAnswer {
    status: number;
    contentType: string;
    body: string;
    retryAfter?: string;
    headers?: Record<string, string>;
}

const json = (value: unknown, status = 200, headers?: Record<string, string>): IscAnswer => ({ status, contentType: 'application/json', body: JSON.stringify(value), headers });
const noContent = (): IscAnswer => ({ status: 204, contentType: 'application/json', body: '' });

export function errorResponse(status: number, text: string): IscAnswer {
    const detailCode = { 400: '400.1 Bad Request Content', 403: '403 Forbidden', 404: '404 Not found', 500: '500.0 Internal Fault' }[status] ?? String(status);
    return json({ detailCode, trackingId: randomBytes(16).toString('hex'), messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text }], causes: [] }, status);
}

/** `a eq "x"` and `a in ("x","y")`, joined by `and`: enough of ISC's filter grammar for what the app sends. */
export function parseIscFilter(filter: string): { field: string; values: string[] }[] | undefined {
    const clauses: { field: string; values: string[] }[] = [];
    const quoted = '"((?:[^"\\\\]|\\\\.)*)"';
    const clause = new RegExp(`^\\s*([A-Za-z]+)\\s+(?:eq\\s+${quoted}|in\\s+\\(((?:\\s*${quoted}\\s*,?)+)\\))\\s*(?:and\\b|$)`);
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
    apiVersion = 'v2025';
    tokenLifetimeSeconds = 750;
    maxPer10Seconds = 100;
    readonly rateLimited: number[] = [];
    private readonly tokens = new Map<string, { clientId: string; expiresAt: number }>();
    private readonly starts = new Map<string, number[]>();
    /** Called before each list page is answered, with its offset: lets a spec change the list between pages. */
    beforeListPage?: (offset: number) => void;

    constructor(
        readonly clientId: string,
        readonly clientSecret: string,
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

    /** Reassigns inside ISC (not through the app). */
    reassignTo(approvalId: string, assignees: IscAssignee[]): void {
        const approval = this.approvals.get(approvalId)!;
        approval.assignedTo = assignees;
        approval.modifiedDate = Date.now();
    }

    expireTokens(): void {
        this.tokens.clear();
    }

    routeOf(method: string, path: string): IscRoute | undefined {
        if (method === 'POST' && path === '/oauth/token') return 'isc.token';
        const prefix = `/${this.apiVersion}`;
        if (!path.startsWith(`${prefix}/`)) return undefined;
        const rest = path.slice(prefix.length);
        if (method === 'GET' && rest === '/generic-approvals') return 'isc.list';
        if (method === 'GET' && rest === '/identities') return 'isc.identities';
        if (method === 'GET' && /^\/generic-approvals\/[^/]+$/.test(rest)) return 'isc.get';
        const action = /^\/generic-approvals\/[^/]+\/(approve|reject|comments|reassign)$/.exec(rest)?.[1];
        return action && method === 'POST' ? (`isc.${action}` as IscRoute) : undefined;
    }

    handle(route: IscRoute, request: IncomingMessage, url: URL, body: string): IscAnswer {
        if (route === 'isc.token') return this.issueToken(body);
        const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
        const session = token ? this.tokens.get(token) : undefined;
        if (!session || session.expiresAt <= Date.now()) return json({ error: 'JWT validation failed: JWT is expired' }, 401);
        const limited = this.rateLimit(session.clientId);
        if (limited) return limited;
        const id = decodeURIComponent(url.pathname.split('/')[3] ?? '');
        switch (route) {
            case 'isc.list':
                return this.list(url);
            case 'isc.identities':
                return this.findIdentities(url);
            case 'isc.get': {
                const approval = this.approvals.get(id);
                return approval ? json(this.toJson(approval, true, true)) : errorResponse(404, `Approval ${id} not found`);
            }
            default:
                return this.act(route, id, body);
        }
    }

    private issueToken(body: string): IscAnswer {
        const form = new URLSearchParams(body);
        if (form.get('grant_type') !== 'client_credentials') return json({ error: 'unsupported_grant_type' }, 400);
        if (form.get('client_id') !== this.clientId || form.get('client_secret') !== this.clientSecret) return json({ error: 'invalid_client' }, 401);
        const token = `eyJ${randomBytes(24).toString('base64url')}`;
        this.tokens.set(token, { clientId: this.clientId, expiresAt: Date.now() + this.tokenLifetimeSeconds * 1000 });
        return json({ access_token: token, token_type: 'bearer', expires_in: this.tokenLifetimeSeconds, scope: 'idn:access-request-approvals:manage idn:identity:read' });
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
        const headers = url.searchParams.get('count') === 'true' ? { 'X-Total-Count': String(rows.length) } : undefined;
        return json(page.map((row) => this.toJson(row, approvers, comments)), 200, headers);
    }

    private findIdentities(url: URL): IscAnswer {
        const filters = url.searchParams.get('filters') ?? '';
        const clauses = parseIscFilter(filters);
        if (!clauses || clauses.some((clause) => clause.field !== 'email' && clause.field !== 'id')) return errorResponse(400, `Unsupported filter: ${filters}`);
        const rows = [...this.identities.values()].filter((identity) =>
            clauses.every((clause) =>
                clause.values.some((value) => (clause.field === 'email' ? identity.email?.toLowerCase() === value.toLowerCase() : identity.id === value)),
            ),
        );
        return json(rows.map((identity) => ({ id: identity.id, name: identity.name, emailAddress: identity.email ?? null, identityStatus: 'ACTIVE' })));
    }

    private act(route: IscRoute, id: string, body: string): IscAnswer {
        const approval = this.approvals.get(id);
        if (!approval) return errorResponse(404, `Approval ${id} not found`);
        let input: Record<string, unknown>;
        try {
            input = body.trim() === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
        } catch {
            return errorResponse(400, 'The request body could not be read');
        }
        if (approval.status !== 'PENDING') return errorResponse(400, `Approval ${id} is not pending`);
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
        this.actions.push({ approvalId: id, action, body: input, at: now });
        if (comment) approval.comments.push({ authorName: 'Moveworks API client', comment, createdDate: now });
        approval.modifiedDate = now;
        const nextStep = action === 'approve' ? approval.laterSteps?.shift() : undefined;
        if (nextStep) {
            approval.earlierSteps = [...(approval.earlierSteps ?? []), approval.assignedTo];
            approval.assignedTo = nextStep;
        } else if (action === 'approve' || action === 'reject') {
            approval.status = action === 'approve' ? 'APPROVED' : 'REJECTED';
            approval.completedDate = now;
        }
        return action === 'reject' || action === 'reassign' ? noContent() : json(this.toJson(approval, true, true));
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

    /** Every step's approvers, as ISC lists them under `approvers`: earlier, current and later. */
    private everyStep(approval: IscApproval): IscAssignee[] {
        return [...(approval.earlierSteps ?? []).flat(), ...approval.assignedTo, ...(approval.laterSteps ?? []).flat()];
    }

    toJson(approval: IscApproval, withApprovers: boolean, withComments: boolean): Record<string, unknown> {
        const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
        const assigned = approval.status === 'PENDING' ? approval.assignedTo.flatMap((assignee) => this.assignee(assignee) ?? []) : [];
        return {
            id: approval.id,
            tenantId: 'a3a4a5a6-0000-4000-8000-000000000000',
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
            ...(withApprovers ? { approvers: this.everyStep(approval).flatMap((assignee) => this.assignee(assignee) ?? []) } : {}),
            ...(withComments
                ? { comments: approval.comments.map((c) => ({ author: { name: c.authorName, type: 'IDENTITY' }, comment: c.comment, createdDate: iso(c.createdDate) })) }
                : {}),
            requestedTarget: approval.requestedTarget.map((target) => ({ ...target, reauthRequired: false })),
            approvedBy: approval.status === 'APPROVED' ? [{ type: 'IDENTITY', name: 'Moveworks API client', decisionDate: iso(approval.completedDate) }] : [],
            rejectedBy: approval.status === 'REJECTED' ? [{ type: 'IDENTITY', name: 'Moveworks API client', decisionDate: iso(approval.completedDate) }] : [],
        };
    }
}
