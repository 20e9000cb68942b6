/**
 * What the table holds for one approval, as the use cases see it: the record, its open-row view without
 * the texts, the cursor of a source's polls, and who is still owed a message.
 */

import { ApprovalCard, Decision, Recommendation, SourceName } from '../model';

export type ApprovalStatus = 'open' | 'deciding' | 'decided' | 'closed';

export interface NotifiedRecipient {
    email: string;
    /** The approvers the notification was for (see approverKey). */
    approverKey: string;
    at: number;
    reminder?: boolean;
    /** The serial step it was sent for (see ApprovalRecord.step); absent means 0. */
    step?: number;
}

export interface ApprovalRecord {
    source: SourceName;
    id: string;
    /** The source's kind of approval (see Approval.kind). */
    kind?: string;
    status: ApprovalStatus;
    /** The current approvers (see approverKey), and their names for messages. */
    approverKey: string;
    approverNames: string;
    /** Source clock: when the source last changed the approval. */
    changedAt: number;
    /** The message for the current approvers' recipients. */
    message: string;
    /** The approval in fields, kept only for a notifier that sends it (the listener's summary); absent otherwise. */
    card?: ApprovalCard;
    /** Everyone who should hold a notification for the current approvers. */
    recipients: string[];
    /** Everyone notified so far, under any approvers. */
    notified: NotifiedRecipient[];
    /** Recipients Moveworks refused as unknown; sent to again only after POST /api/refused/retry. */
    refused: string[];
    /** The serial step the row's approvers belong to (0 first); who was notified for an earlier step is owed a message again. */
    step: number;
    /** The source's own step number for it (ISC `serialStep`), when it says: a higher one listed is the next step. */
    sourceStep?: number;
    /** "Amy Cox's request for IT Database Manager", for lists and answers. */
    summary: string;
    /** When the source expires the approval, if it says (source clock). */
    dueAt?: number;
    /** The source's recommendation its message shows, kept so a rewritten message shows it again (see ApprovalSource.recommend). */
    recommendation?: Recommendation;
    remindersSent: number;
    /** Recipients owed the current reminder. */
    reminderOwed: string[];
    /** A sender holds the row until then (local clock); a lapsed lease may be taken over. */
    sendLeaseUntil: number;
    /** Which poll holds the lease. */
    leaseHolder?: string;
    decision?: Decision;
    decidedBy?: string;
    decidedAt?: number;
    /** While status is `deciding`: when the claim was taken (local clock). */
    decidingSince?: number;
    closedReason?: string;
    createdAt: number;
    updatedAt: number;
    /** The recipients the person index holds entries for, as a fingerprint (see personIndex.ts); the store alone sets it. */
    indexedFor?: string;
    etag?: string;
}

export interface SyncCursor {
    source: SourceName;
    /** Source clock: the latest created/modified value seen. */
    watermark?: number;
    /** Local clock: when the last full sweep finished. */
    lastFullSweepAt?: number;
    /** A sweep cut short: when it started (local clock) and where the next poll resumes it (see ApprovalPage.resumeAt). */
    sweep?: { startedAt: number; resumeAt: string };
    etag?: string;
}

/** Notifications sent for one serial step (under any approvers of it: a reassignment is the same step). */
export function notifiedInStep(notified: NotifiedRecipient[], step: number): NotifiedRecipient[] {
    return notified.filter((entry) => (entry.step ?? 0) === step);
}

/**
 * An open row as a poll lists it: everything but the texts of its message, which a poll needs only for
 * the few rows it writes or sends (see listOpenRows, and hasTexts to tell the two apart).
 */
export type OpenRow = Omit<ApprovalRecord, 'message' | 'summary' | 'approverNames' | 'card'>;

export const hasTexts = (row: OpenRow | ApprovalRecord): row is ApprovalRecord => 'message' in row;

/** Recipients still owed a notification for the current approvers. */
export function pendingRecipients(record: Pick<ApprovalRecord, 'recipients' | 'notified' | 'refused' | 'reminderOwed' | 'step'>): string[] {
    const done = new Set([...notifiedInStep(record.notified, record.step).map((entry) => entry.email), ...record.refused]);
    return [...new Set([...record.recipients.filter((email) => !done.has(email)), ...record.reminderOwed])];
}
