import { z } from 'zod';
import { Approval, Reference } from '../model';
import { instant, present } from './approvalJson';

/**
 * ISC `PendingApproval` JSON (GET /access-request-approvals/pending) -> Approval. Every field of the
 * published schema is optional, so each is read as possibly missing or null.
 */

const text = z.string().nullish();
const reference = z.object({ id: text, name: text }).passthrough();
const commentDto = z.object({ comment: text, created: text, author: reference.nullish() }).passthrough();
const criteria = z.object({ criteriaList: z.array(z.object({ id: text, name: text }).passthrough()).nullish() }).passthrough();

const pendingApprovalJson = z
    .object({
        id: text,
        accessRequestId: text,
        name: text,
        created: text,
        modified: text,
        requestType: text,
        requester: reference.nullish(),
        requestedFor: reference.nullish(),
        owner: reference.nullish(),
        requestedObject: z.object({ id: text, name: text, description: text, type: text }).passthrough().nullish(),
        requesterComment: commentDto.nullish(),
        previousReviewersComments: z.array(commentDto).nullish(),
        forwardHistory: z
            .array(z.object({ oldApproverName: text, newApproverName: text, forwarderName: text, comment: text, modified: text }).passthrough())
            .nullish(),
        commentRequiredWhenRejected: z.boolean().nullish(),
        actionInProcess: text,
        startDate: text,
        removeDate: text,
        privilegeLevel: text,
        sodViolationContext: z
            .object({
                violationCheckResult: z
                    .object({
                        violationContexts: z
                            .array(
                                z
                                    .object({
                                        policy: reference.nullish(),
                                        conflictingAccessCriteria: z.object({ leftCriteria: criteria.nullish(), rightCriteria: criteria.nullish() }).passthrough().nullish(),
                                    })
                                    .passthrough(),
                            )
                            .nullish(),
                        violatedPolicies: z.array(reference).nullish(),
                    })
                    .passthrough()
                    .nullish(),
            })
            .passthrough()
            .nullish(),
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
    const entries = history ?? [];
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
    const names = (side: z.infer<typeof criteria> | null | undefined) => (side?.criteriaList ?? []).flatMap((entry) => present(entry.name) ?? present(entry.id) ?? []);
    const policyName = (policy: z.infer<typeof reference> | null | undefined) => present(policy?.name) ?? present(policy?.id) ?? 'an unnamed policy';
    const conflicts = (result?.violationContexts ?? []).map((entry) => ({
        policy: policyName(entry.policy),
        left: names(entry.conflictingAccessCriteria?.leftCriteria),
        right: names(entry.conflictingAccessCriteria?.rightCriteria),
    }));
    // A policy reported as violated without its context still warns the approver.
    for (const policy of result?.violatedPolicies ?? []) {
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
        comments: (approval.previousReviewersComments ?? []).flatMap((comment) =>
            present(comment.comment) ? [{ author: present(comment.author?.name), text: comment.comment as string, date: instant(comment.created) }] : [],
        ),
        inFlight: present(approval.actionInProcess),
        reasonRequiredToReject: approval.commentRequiredWhenRejected === true,
        privilegeLevel: present(approval.privilegeLevel),
        forwarded: latestForward(approval.forwardHistory),
        conflicts: toConflicts(approval.sodViolationContext),
    };
}
