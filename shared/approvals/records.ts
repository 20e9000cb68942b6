import { Approval, approverKey, approverNames } from '../model';
import { toApprovalCard } from '../moveworks/card';
import { describeRequest, toApprovalMessage } from '../moveworks/message';
import { ApprovalRecord, notifiedInStep, OpenRow } from '../store/approvalRecord';

/**
 * How an approval's row follows what the source says: a new row, the same row for new approvers (a
 * reassignment, or the next serial step) or for fewer (the rest of a parallel step), and a finished row
 * opened again because the source still has the approval pending.
 */

/** A sender's hold on a row while it sends: long enough for one paced send with its retries. */
export const SEND_LEASE_MS = 2 * 60_000;

/** `withCard`: the row keeps the approval in fields too, for a notifier that sends them (the listener's summary). */
export interface RowOptions {
    withCard?: boolean;
}

export function toNewRecord(approval: Approval, recipients: string[], at: number, pollId: string, { withCard }: RowOptions = {}): ApprovalRecord {
    return {
        source: approval.source,
        id: approval.id,
        kind: approval.kind,
        status: 'open',
        approverKey: approverKey(approval),
        approverNames: approverNames(approval),
        changedAt: approval.changedAt,
        message: toApprovalMessage(approval),
        card: withCard ? toApprovalCard(approval) : undefined,
        recipients,
        notified: [],
        refused: [],
        summary: describeRequest(approval),
        dueAt: approval.dueAt,
        recommendation: approval.recommendation,
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
export function withCurrentApprovers(record: OpenRow, approval: Approval, recipients: string[], at: number, options: RowOptions & { nextStep?: boolean } = {}): ApprovalRecord {
    // Fewer approvers is not a reassignment: the ones left were told already, and their reminders go on.
    const newApprovers = hasNewApprover(record.approverKey, approval);
    // The source recommends once, when the approval is new (toNewRecord); every later message shows what it said then.
    const recommendation = record.recommendation;
    return {
        ...record,
        approverKey: approverKey(approval),
        approverNames: approverNames(approval),
        changedAt: approval.changedAt,
        message: toApprovalMessage({ ...approval, recommendation }, { reassigned: newApprovers && record.notified.length > 0 && !options.nextStep, nextStep: options.nextStep }),
        card: options.withCard ? toApprovalCard({ ...approval, recommendation }) : undefined,
        recipients,
        summary: describeRequest(approval),
        dueAt: approval.dueAt,
        recommendation,
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
export function reopened(record: OpenRow, approval: Approval, recipients: string[], at: number, options: RowOptions & { nextStep?: boolean } = {}): ApprovalRecord {
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

/** Why a row is closed, given what the source said of its approval: finished there (and how), or gone from its pending list. */
export function closedReasonFor(live?: Approval): string {
    return live?.completedState ? `${live.completedState} in the source` : 'no longer pending in the source';
}

/** Whether the source has the approval at a later serial step than `step`, when both are known. */
export function isLaterStep(step: number | undefined, approval: Approval): boolean {
    return approval.step !== undefined && step !== undefined && approval.step > step;
}

/** Whether the approval waits on someone who is not among the approvers `key` names (see approverKey). */
export function hasNewApprover(key: string, approval: Approval): boolean {
    const earlier = new Set(key.split(','));
    return approval.approvers.some((approver) => !earlier.has(approver.id));
}

/**
 * Whether the approval was handed on to a next step since `before`: its serial step is later, or, where
 * the source does not number steps, someone new waits on it. Fewer approvers at the same step is progress
 * within the step (a parallel step waiting on the rest), so nobody is told again.
 */
export function isHandedOn(before: { sourceStep?: number; approverKey: string }, approval: Approval): boolean {
    if (before.sourceStep !== undefined && approval.step !== undefined) return approval.step > before.sourceStep;
    return hasNewApprover(before.approverKey, approval);
}

/**
 * When the row's current recipients were last messaged in its step, 0 if never: a reassignment starts
 * the clock again with the new approvers' message, while those left after others decided keep theirs.
 */
export function lastNotifiedAt(record: OpenRow): number {
    const current = new Set(record.recipients);
    return Math.max(0, ...notifiedInStep(record.notified, record.step).filter((entry) => current.has(entry.email)).map((entry) => entry.at));
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
