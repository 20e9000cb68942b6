import { z } from 'zod';
import { ACCESS_ITEM_TYPES, Approval, Reference } from '../model';
import { date, given, instant, lenient, listOf, present, text } from './lenientJson';

/**
 * ISC `PendingApproval` JSON (GET /access-request-approvals/pending) -> Approval. Every field of the
 * published schema is optional, so each is read as possibly missing or null.
 */

const reference = z.object({ id: text, name: text }).passthrough();
const commentDto = z.object({ comment: text, created: date, author: lenient(reference) }).passthrough();
const criteria = z.object({ criteriaList: listOf(z.object({ id: text, name: text }).passthrough()) }).passthrough();

const pendingApprovalJson = z
    .object({
        id: text,
        accessRequestId: text,
        name: text,
        created: date,
        modified: date,
        requestType: text,
        requester: lenient(reference),
        requestedFor: lenient(reference),
        owner: lenient(reference),
        requestedObject: lenient(z.object({ id: text, name: text, description: text, type: text }).passthrough()),
        // A bare string stands for the comment itself.
        requesterComment: lenient(z.union([commentDto, z.string().transform((comment) => ({ comment, created: undefined, author: undefined }))])),
        previousReviewersComments: listOf(commentDto),
        forwardHistory: listOf(z.object({ oldApproverName: text, newApproverName: text, forwarderName: text, comment: text, modified: date }).passthrough()),
        commentRequiredWhenRejected: lenient(z.union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')])),
        actionInProcess: text,
        startDate: date,
        removeDate: date,
        privilegeLevel: lenient(z.union([z.string(), z.number().transform(String)])),
        sodViolationContext: lenient(
            z
                .object({
                    violationCheckResult: lenient(
                        z
                            .object({
                                violationContexts: listOf(
                                    z
                                        .object({
                                            policy: lenient(reference),
                                            conflictingAccessCriteria: lenient(z.object({ leftCriteria: lenient(criteria), rightCriteria: lenient(criteria) }).passthrough()),
                                        })
                                        .passthrough(),
                                ),
                                violatedPolicies: listOf(reference),
                            })
                            .passthrough(),
                    ),
                })
                .passthrough(),
        ),
    })
    .passthrough();

type PendingApprovalJson = z.infer<typeof pendingApprovalJson>;

const REQUEST_TYPES: Record<string, string> = { GRANT_ACCESS: 'Grant', REVOKE_ACCESS: 'Revoke', MODIFY_ACCESS: 'Modify' };
const OBJECT_TYPES: Record<string, string> = { ACCESS_PROFILE: 'Access profile', ROLE: 'Role', ENTITLEMENT: 'Entitlement' };

/** A known code in words; an unknown one as ISC sent it, since a new value should still reach the approver. */
const inWords = (words: Record<string, string>, code: string | null | undefined) => (present(code) ? (words[code as string] ?? code ?? undefined) : undefined);

function toReference(person: z.infer<typeof reference> | null | undefined): Reference | undefined {
    const id = present(person?.id);
    return id ? { id, name: present(person?.name) ?? id } : undefined;
}

function latestForward(history: PendingApprovalJson['forwardHistory']): Approval['forwarded'] {
    const entries = given(history);
    if (entries.length === 0) return undefined;
    // The schema does not say the history is ordered, so the latest is the one modified last.
    const latest = entries.reduce((best, entry) => ((instant(entry.modified) ?? 0) >= (instant(best.modified) ?? 0) ? entry : best));
    return {
        from: present(latest.oldApproverName),
        to: present(latest.newApproverName),
        by: present(latest.forwarderName),
        at: instant(latest.modified),
        comment: present(latest.comment),
    };
}

function toConflicts(context: PendingApprovalJson['sodViolationContext']): Approval['conflicts'] {
    const result = context?.violationCheckResult;
    const names = (side: z.infer<typeof criteria> | null | undefined) => given(side?.criteriaList).flatMap((entry) => present(entry.name) ?? present(entry.id) ?? []);
    const policyName = (policy: z.infer<typeof reference> | null | undefined) => present(policy?.name) ?? present(policy?.id) ?? 'an unnamed policy';
    const conflicts = given(result?.violationContexts).map((entry) => ({
        policy: policyName(entry.policy),
        left: names(entry.conflictingAccessCriteria?.leftCriteria),
        right: names(entry.conflictingAccessCriteria?.rightCriteria),
    }));
    // A policy reported as violated without its context still warns the approver.
    for (const policy of given(result?.violatedPolicies)) {
        if (!conflicts.some((conflict) => conflict.policy === policyName(policy))) conflicts.push({ policy: policyName(policy), left: [], right: [] });
    }
    return conflicts.length > 0 ? conflicts : undefined;
}

export function fromIscPendingApproval(json: unknown): Approval | undefined {
    const parsed = pendingApprovalJson.safeParse(json);
    if (!parsed.success) return undefined;
    const approval = parsed.data;
    const id = present(approval.id);
    if (!id) return undefined;
    const owner = toReference(approval.owner);
    const requested = approval.requestedObject;
    const createdAt = instant(approval.created);
    return {
        source: 'isc',
        kind: 'access-request',
        id,
        requestId: present(approval.accessRequestId),
        name: present(approval.name),
        description: present(requested?.description),
        approvers: owner ? [owner] : [],
        requester: toReference(approval.requester),
        requestee: toReference(approval.requestedFor),
        createdAt,
        changedAt: Math.max(instant(approval.modified) ?? 0, createdAt ?? 0),
        lines: [
            {
                operation: inWords(REQUEST_TYPES, approval.requestType),
                attribute: inWords(OBJECT_TYPES, requested?.type),
                value: present(requested?.name) ?? present(requested?.id) ?? present(approval.name),
                requesterComment: present(approval.requesterComment?.comment),
                startDate: instant(approval.startDate),
                endDate: instant(approval.removeDate),
            },
        ],
        comments: given(approval.previousReviewersComments).flatMap((comment) =>
            present(comment.comment) ? [{ author: present(comment.author?.name), text: comment.comment as string, date: instant(comment.created) }] : [],
        ),
        inFlight: present(approval.actionInProcess),
        reasonRequiredToReject: approval.commentRequiredWhenRejected === true,
        privilegeLevel: present(approval.privilegeLevel),
        forwarded: latestForward(approval.forwardHistory),
        conflicts: toConflicts(approval.sodViolationContext),
        accessItem: toAccessItem(requested, approval.requestType),
    };
}

/**
 * The requested access as Identity AI takes it (an id, and one of the types it knows), for a request to grant
 * it: Identity AI says whether the person should have the access, which answers a revocation the other way round.
 */
function toAccessItem(requested: PendingApprovalJson['requestedObject'], requestType: PendingApprovalJson['requestType']): Approval['accessItem'] {
    if (present(requestType) && requestType !== 'GRANT_ACCESS') return undefined;
    const id = present(requested?.id);
    const type = ACCESS_ITEM_TYPES.find((known) => known === requested?.type);
    return id && type ? { id, type } : undefined;
}
