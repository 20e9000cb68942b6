import { Approval, approverKey, approverNames } from '../model';
import { describeRequest, toApprovalMessage } from '../moveworks/message';
import { ApprovalRecord, OpenRow } from '../store/approvalStore';

/**
 * How an approval's row follows what the source says: a new row, the same row for new approvers (a
 * reassignment, or the next serial step), and a finished row opened again because the source still has
 * the approval pending.
 */

/** A sender's hold on a row while it sends: long enough for one paced send with its retries. */
export const SEND_LEASE_MS = 2 * 60_000;

export function toNewRecord(approval: Approval, recipients: string[], at: number, pollId: string): ApprovalRecord {
    return {
        source: approval.source,
        id: approval.id,
        kind: approval.kind,
        status: 'open',
        approverKey: approverKey(approval),
        approverNames: approverNames(approval),
        changedAt: approval.changedAt,
        message: toApprovalMessage(approval),
        recipients,
        notified: [],
        refused: [],
        summary: describeRequest(approval),
        dueAt: approval.dueAt,
        remindersSent: 0,
        reminderOwed: [],
        step: 0,
        sourceStep: approval.step,
        // The poll that records it sends it next, without another write to take the lease.
        sendLeaseUntil: at + SEND_LEASE_MS,
        leaseHolder: pollId,
        createdAt: at,
        updatedAt: at,
    };
}

/**
 * The row brought up to date with the approval's current approvers and content; the status is kept. The
 * texts are written anew, so a row listed without them (OpenRow) needs no read first.
 */
export function withCurrentApprovers(record: OpenRow, approval: Approval, recipients: string[], at: number, options: { nextStep?: boolean } = {}): ApprovalRecord {
    const newApprovers = record.approverKey !== approverKey(approval);
    return {
        ...record,
        approverKey: approverKey(approval),
        approverNames: approverNames(approval),
        changedAt: approval.changedAt,
        message: toApprovalMessage(approval, { reassigned: newApprovers && record.notified.length > 0 && !options.nextStep, nextStep: options.nextStep }),
        recipients,
        summary: describeRequest(approval),
        dueAt: approval.dueAt,
        sourceStep: approval.step,
        // New approvers, or a new step, start over: reminders count again from their notification.
        ...(newApprovers || options.nextStep ? { remindersSent: 0, reminderOwed: [] } : {}),
        updatedAt: at,
    };
}

/**
 * A decided or closed row whose approval the source still lists as pending: open again for its current
 * approvers. `nextStep` when an earlier step's decision handed it on.
 */
export function reopened(record: OpenRow, approval: Approval, recipients: string[], at: number, options: { nextStep?: boolean } = {}): ApprovalRecord {
    return {
        ...withCurrentApprovers(record, approval, recipients, at, options),
        ...(options.nextStep ? { step: record.step + 1 } : {}),
        status: 'open',
        decision: undefined,
        decidedBy: undefined,
        decidedAt: undefined,
        decidingSince: undefined,
        closedReason: undefined,
    };
}

/** Whether the source has the approval at a later serial step than `step`, when both are known. */
export function isLaterStep(step: number | undefined, approval: Approval): boolean {
    return approval.step !== undefined && step !== undefined && approval.step > step;
}

/** Whether an action holds the row's claim right now; an older claim belongs to a caller that died. */
export function isClaimInProgress(record: OpenRow, now: number, claimTtlMs: number): boolean {
    return record.status === 'deciding' && now - (record.decidingSince ?? 0) < claimTtlMs;
}

/** Whether a finished row should open again, given the approval the source lists as pending. */
export function shouldReopen(record: ApprovalRecord, approval: Approval): boolean {
    if (record.status === 'closed') return true;
    return record.status === 'decided' && (record.approverKey !== approverKey(approval) || isLaterStep(record.sourceStep, approval));
}
