import { z } from 'zod';
import { Approval, ApprovalLine, Approver, Decision, Reference } from '../model';
import { date, given, instant, lenient, listOf, present, text } from './lenientJson';

/**
 * ISC v2025 generic approval JSON -> Approval. Every field of the published schema is optional, and older
 * tenants answer `approvalId` and `status` where newer ones answer `id` and no status, so both are read.
 */

const localized = listOf(z.object({ value: text, locale: text }).passthrough());
const member = z.object({ id: text, name: text, email: text }).passthrough();
const decisionRecord = z.object({ identityID: text, decisionDate: date }).passthrough();
const identity = z.object({ identityID: text, id: text, name: text, email: text, type: text, members: listOf(member) }).passthrough();

const approvalJson = z
    .object({
        id: text,
        approvalId: text,
        type: text,
        status: text,
        priority: text,
        name: localized,
        description: localized,
        createdDate: date,
        modifiedDate: date,
        dueDate: date,
        completedDate: date,
        requester: lenient(identity),
        requestee: lenient(identity),
        assignedTo: listOf(identity),
        comments: listOf(z.object({ author: lenient(identity), comment: text, createdDate: date }).passthrough()),
        serialStep: lenient(z.union([z.number(), z.string()])),
        requestedTarget: listOf(z.object({ id: text, name: text, targetType: text, requestType: text }).passthrough()),
        approvedBy: listOf(decisionRecord),
        rejectedBy: listOf(decisionRecord),
        referenceData: listOf(z.object({ id: text, type: text }).passthrough()),
    })
    .passthrough();

type IdentityJson = z.infer<typeof identity>;

/** ISC's int64 fields, sent as numbers or as text. */
const wholeNumber = (value: number | string | null | undefined) => (value === null || value === undefined || value === '' || !Number.isInteger(Number(value)) ? undefined : Number(value));

/** The English value of a localized text, or the first one there is. */
function pickLocale(values: z.infer<typeof localized>): string | undefined {
    const usable = given(values).filter((entry) => present(entry.value));
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
    const members = given(person.members).flatMap((entry) => {
        const id = present(entry.id);
        return id ? [{ id, name: present(entry.name) ?? id, email: present(entry.email) }] : [];
    });
    return { ...reference, ...(members.length > 0 || person.type === 'GOVERNANCE_GROUP' ? { members } : {}) };
}

/** Decisions by a named identity; one made by an admin for nobody in particular names none. */
function decisionsOf(records: z.infer<typeof approvalJson>['approvedBy'], decision: Decision): NonNullable<Approval['decisions']> {
    return given(records).flatMap((record) => {
        const id = present(record.identityID);
        return id ? [{ id, decision, at: instant(record.decisionDate) }] : [];
    });
}

/**
 * How a completed approval ended: a parallel one may list rejections below the threshold beside the
 * approvals that completed it (or the reverse), so the latest decision tells.
 */
function finalDecision(approvedBy: z.infer<typeof approvalJson>['approvedBy'], rejectedBy: z.infer<typeof approvalJson>['rejectedBy']): string {
    const latest = (records: typeof approvedBy) => Math.max(-1, ...given(records).map((record) => instant(record.decisionDate) ?? 0));
    if ((approvedBy?.length ?? 0) === 0 && (rejectedBy?.length ?? 0) === 0) return 'COMPLETED';
    return latest(rejectedBy) >= latest(approvedBy) ? 'REJECTED' : 'APPROVED';
}

export function fromIscApproval(json: unknown): Approval | undefined {
    const parsed = approvalJson.safeParse(json);
    if (!parsed.success) return undefined;
    const approval = parsed.data;
    const id = present(approval.id) ?? present(approval.approvalId);
    if (!id) return undefined;
    // `approvers` names every step of a serial approval; only `assignedTo` says who may decide now.
    const current = given(approval.assignedTo);
    const createdAt = instant(approval.createdDate);
    const status = present(approval.status);
    const finishedAs = finalDecision(approval.approvedBy, approval.rejectedBy);
    const completed = typeof approval.completedDate === 'number' || present(approval.completedDate) !== undefined;
    const completedState = status && status.toUpperCase() !== 'PENDING' ? status : completed ? finishedAs : undefined;
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
        lines: given(approval.requestedTarget).map(
            (target): ApprovalLine => ({ operation: present(target.requestType), attribute: present(target.targetType), value: present(target.name) ?? present(target.id) }),
        ),
        comments: given(approval.comments).flatMap((comment) =>
            present(comment.comment) ? [{ author: present(comment.author?.name), text: comment.comment as string, date: instant(comment.createdDate) }] : [],
        ),
        completedState,
        step: wholeNumber(approval.serialStep),
        decisions: [...decisionsOf(approval.approvedBy, 'approve'), ...decisionsOf(approval.rejectedBy, 'reject')],
        kind: 'generic',
        // Reference types are spelled `AccessRequestId` in examples and `accessRequestId` in filters.
        requestId: present(given(approval.referenceData).find((reference) => reference.type?.toLowerCase() === 'accessrequestid')?.id),
    };
}
