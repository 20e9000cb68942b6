import { z } from 'zod';
import { Approval, ApprovalLine, Approver, Reference } from '../model';

/**
 * ISC v2025 generic approval JSON -> Approval. Every field of the published schema is optional, and older
 * tenants answer `approvalId` and `status` where newer ones answer `id` and no status, so both are read.
 */

const text = z.string().nullish();
const localized = z.array(z.object({ value: text, locale: text }).passthrough()).nullish();
const member = z.object({ id: text, name: text, email: text }).passthrough();
const identity = z
    .object({ identityID: text, id: text, name: text, email: text, type: text, members: z.array(member).nullish() })
    .passthrough();

const approvalJson = z
    .object({
        id: text,
        approvalId: text,
        type: text,
        status: text,
        priority: text,
        name: localized,
        description: localized,
        createdDate: text,
        modifiedDate: text,
        dueDate: text,
        completedDate: text,
        requester: identity.nullish(),
        requestee: identity.nullish(),
        assignedTo: z.array(identity).nullish(),
        comments: z.array(z.object({ author: identity.nullish(), comment: text, createdDate: text }).passthrough()).nullish(),
        serialStep: z.union([z.number(), z.string()]).nullish(),
        requestedTarget: z.array(z.object({ id: text, name: text, targetType: text, requestType: text }).passthrough()).nullish(),
        approvedBy: z.array(z.unknown()).nullish(),
        rejectedBy: z.array(z.unknown()).nullish(),
        referenceData: z.array(z.object({ id: text, type: text }).passthrough()).nullish(),
    })
    .passthrough();

type IdentityJson = z.infer<typeof identity>;

export const instant = (value: string | null | undefined) => {
    const parsed = value ? Date.parse(value) : Number.NaN;
    return Number.isNaN(parsed) ? undefined : parsed;
};

/** ISC's int64 fields, sent as numbers or as text. */
const wholeNumber = (value: number | string | null | undefined) => (value === null || value === undefined || value === '' || !Number.isInteger(Number(value)) ? undefined : Number(value));

export const present = (value: string | null | undefined) => (value === null || value === undefined || value.trim() === '' ? undefined : value);

/** The English value of a localized text, or the first one there is. */
function pickLocale(values: z.infer<typeof localized>): string | undefined {
    const usable = (values ?? []).filter((entry) => present(entry.value));
    const english = usable.find((entry) => /^en/i.test(entry.locale ?? '')) ?? usable[0];
    return present(english?.value);
}

function toReference(person: IdentityJson | null | undefined): Reference | undefined {
    const id = present(person?.identityID) ?? present(person?.id);
    return id ? { id, name: present(person?.name) ?? id, email: present(person?.email) } : undefined;
}

function toApprover(person: IdentityJson): Approver | undefined {
    const reference = toReference(person);
    if (!reference) return undefined;
    const members = (person.members ?? []).flatMap((entry) => {
        const id = present(entry.id);
        return id ? [{ id, name: present(entry.name) ?? id, email: present(entry.email) }] : [];
    });
    return { ...reference, ...(members.length > 0 || person.type === 'GOVERNANCE_GROUP' ? { members } : {}) };
}

export function fromIscApproval(json: unknown): Approval | undefined {
    const parsed = approvalJson.safeParse(json);
    if (!parsed.success) return undefined;
    const approval = parsed.data;
    const id = present(approval.id) ?? present(approval.approvalId);
    if (!id) return undefined;
    // `approvers` names every step of a serial approval; only `assignedTo` says who may decide now.
    const current = approval.assignedTo ?? [];
    const createdAt = instant(approval.createdDate);
    const status = present(approval.status);
    const finishedAs = (approval.rejectedBy?.length ?? 0) > 0 ? 'REJECTED' : (approval.approvedBy?.length ?? 0) > 0 ? 'APPROVED' : 'COMPLETED';
    const completedState = status && status.toUpperCase() !== 'PENDING' ? status : present(approval.completedDate) ? finishedAs : undefined;
    return {
        source: 'isc',
        id,
        name: pickLocale(approval.name),
        type: present(approval.type),
        description: pickLocale(approval.description),
        approvers: current.flatMap((person) => toApprover(person) ?? []),
        requester: toReference(approval.requester),
        requestee: toReference(approval.requestee),
        createdAt,
        changedAt: instant(approval.modifiedDate) ?? createdAt ?? 0,
        dueAt: instant(approval.dueDate),
        priority: present(approval.priority),
        lines: (approval.requestedTarget ?? []).map(
            (target): ApprovalLine => ({ operation: present(target.requestType), attribute: present(target.targetType), value: present(target.name) ?? present(target.id) }),
        ),
        comments: (approval.comments ?? []).flatMap((comment) =>
            present(comment.comment) ? [{ author: present(comment.author?.name), text: comment.comment as string, date: instant(comment.createdDate) }] : [],
        ),
        completedState,
        step: wholeNumber(approval.serialStep),
        kind: 'generic',
        // Reference types are spelled `AccessRequestId` in examples and `accessRequestId` in filters.
        requestId: present((approval.referenceData ?? []).find((reference) => reference.type?.toLowerCase() === 'accessrequestid')?.id),
    };
}
