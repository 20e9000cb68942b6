import { z } from 'zod';
import { RECOMMENDATION_VERDICTS } from './model';

/**
 * The HTTP contract: the request and answer shapes of every function, in zod. The functions parse and
 * answer with these, and openapi.ts generates the OpenAPI document from the same schemas.
 */

export const errorBody = z.object({
    error: z.object({
        code: z.string(),
        message: z.string(),
        /** With `connect_required` (ISC_DECIDE_AS=user): where the approver connects their SailPoint account. */
        connectUrl: z.string().optional(),
    }),
});

export const actionBody = z.object({
    approverEmail: z.string({ error: 'approverEmail must be a string' }).optional(),
    comment: z.string({ error: 'comment must be a string' }).nullish(),
    reassignToEmail: z.string({ error: 'reassignToEmail must be a string' }).optional(),
});

export const actionResult = z.object({
    status: z.enum(['approved', 'rejected', 'commented', 'reassigned']),
    approvalId: z.string(),
    source: z.enum(['iiq', 'isc']),
    /** A sentence a chat bot can show as is. */
    message: z.string(),
    /** On a decision: SailPoint Identity AI's recommendation that the approver's message showed (ISC access requests). */
    recommendation: z.enum(RECOMMENDATION_VERDICTS).optional(),
});

/**
 * ACTION_REFUSALS_AS=body: the refusals that are the approver's business (the approval moved on, they may not
 * act on it, or they must add a comment or connect first), answered 200 with an ActionOutcome instead of
 * their error status, so a compound action, which reads only the status of an error, can show the sentence.
 */
export const REFUSAL_OUTCOMES = [
    'already_decided',
    'no_longer_pending',
    'decision_in_progress',
    'reassigned',
    'not_approver',
    'self_approval',
    'unknown_approver',
    'comment_required',
    'reason_required',
    'comment_too_long',
    'connect_required',
] as const;

export const actionOutcome = z.object({
    /** The refusal's code, as the error answer would carry it. */
    outcome: z.enum(REFUSAL_OUTCOMES),
    /** A sentence a chat bot can show as is. */
    message: z.string(),
    /** With `connect_required`: where the approver connects their SailPoint account. */
    connectUrl: z.string().optional(),
});

export const healthBody = z.object({
    status: z.literal('ok'),
    sources: z.object({
        iiq: z.object({ configured: z.boolean() }),
        isc: z.object({
            configured: z.boolean(),
            apiVersion: z.string().optional(),
            /** Which kinds of ISC approval are brought into chat (ISC_APPROVAL_KINDS). */
            kinds: z.array(z.enum(['access-requests', 'generic'])).optional(),
        }),
    }),
    /** MOVEWORKS_DELIVERY: through the Classic event (`baseUrl`, `maxPerMinute` apply) or to an Agent Studio listener. */
    moveworks: z.object({ delivery: z.enum(['events', 'listener']), baseUrl: z.string(), maxPerMinute: z.number() }),
});

/** One preflight check: ok, or failed with what went wrong and what to change (a setting, a role, a scope, a plugin). */
export const checkResult = z.object({ name: z.string(), ok: z.boolean(), cause: z.string().optional(), fix: z.string().optional() });

/** GET /api/health?deep=true: every configured dependency tried, read-only; `failed` when any check failed. */
export const deepHealthBody = z.object({ status: z.enum(['ok', 'failed']), checks: z.array(checkResult) });

export const pendingApproval = z.object({
    approvalId: z.string(),
    source: z.enum(['iiq', 'isc']),
    summary: z.string(),
    approvers: z.string(),
    /** When this person was last notified (epoch ms). */
    notifiedAt: z.number().optional(),
    /** When the source expires the approval (epoch ms), if it says. */
    dueAt: z.number().optional(),
    /** SailPoint Identity AI's recommendation for an ISC access request, when it gave one. */
    recommendation: z.enum(RECOMMENDATION_VERDICTS).optional(),
});

export const pendingList = z.object({ approvals: z.array(pendingApproval), total: z.number(), nextOffset: z.number().optional() });

export const auditEntry = z.object({
    at: z.number(),
    requestId: z.string(),
    action: z.enum(['approve', 'reject', 'comment', 'reassign']),
    approvalId: z.string(),
    /** The approval's source, when the app knows the approval. */
    source: z.enum(['iiq', 'isc']).optional(),
    approverEmail: z.string(),
    status: z.number(),
    /** The answer's status (approved, ...), its error or outcome code, or `replayed` for an Idempotency-Key's replay of the first answer. */
    result: z.string(),
    comment: z.string().optional(),
    reassignToEmail: z.string().optional(),
    /** The verified caller token's `sub` and client (`azp` or `appid`), when caller tokens are on. */
    callerSubject: z.string().optional(),
    callerClientId: z.string().optional(),
    /** True when the approver came from the token's signed email claim rather than from the request. */
    approverFromClaim: z.boolean().optional(),
    /** Whose credential the source saw or would see: the approver's own (`user`, ISC_DECIDE_AS=user) or the app's (`service`). */
    actedAs: z.enum(['user', 'service']).optional(),
    /** The ISC identity the write was made as, with `user`. */
    actedAsIdentityId: z.string().optional(),
    /** On a decision: the recommendation the approver's message showed, to find decisions made against it. */
    recommendation: z.enum(RECOMMENDATION_VERDICTS).optional(),
});

export const auditPage = z.object({ entries: z.array(auditEntry), nextPageToken: z.string().optional() });

export const retryRefusedBody = z.object({
    approvalId: z.string({ error: 'approvalId must be a string' }).optional(),
    email: z.string({ error: 'email must be a string' }).optional(),
});

/** How many open approvals had refused recipients cleared, and how many recipients in all. */
export const retryRefusedResult = z.object({ approvals: z.number(), recipients: z.number() });

export type RetryRefusedResult = z.infer<typeof retryRefusedResult>;
export type ActionResult = z.infer<typeof actionResult>;
export type ActionOutcome = z.infer<typeof actionOutcome>;
export type HealthReport = z.infer<typeof healthBody>;
export type CheckResult = z.infer<typeof checkResult>;
export type DeepHealthReport = z.infer<typeof deepHealthBody>;
export type PendingList = z.infer<typeof pendingList>;
export type AuditEntry = z.infer<typeof auditEntry>;
export type AuditPage = z.infer<typeof auditPage>;

/** `POST /api/connections/isc/link` and `/disconnect` (ISC_DECIDE_AS=user). */
export const connectionBody = z.object({ approverEmail: z.string({ error: 'approverEmail must be a string' }).optional() });

export const connectLink = z.object({
    /** Opened in the approver's browser: it leads to SailPoint's sign-in and back. */
    connectUrl: z.string(),
    expiresAt: z.number(),
});

export const connectionStatus = z.object({ connected: z.boolean(), identityId: z.string().optional(), connectedAt: z.number().optional() });
