import { Logger } from '../../platform/log';
import { ApprovalSource } from '../../model';
import { Notifier } from '../../moveworks/notifier';
import { ApprovalRecord, OpenRow } from '../../store/approvalRecord';
import { ApprovalStore } from '../../store/approvalStore';

/** What every step of one source's poll is given, and what it reports. */

export interface SyncSettings {
    remindAfterHours: number;
    remindMax: number;
    fullSweepMinutes: number;
    overlapSeconds: number;
    budgetSeconds: number;
    concurrency: number;
    /** How long an action's claim on a row holds (see authorize.ts). */
    claimTtlMs: number;
}

export interface SyncDependencies {
    source: ApprovalSource;
    store: ApprovalStore;
    /** Moveworks, through the event or the listener (MOVEWORKS_DELIVERY). */
    notifier: Notifier;
    log: Logger;
    settings: SyncSettings;
    now?: () => number;
    /** ISC_DECIDE_AS=user: the connect link of a recipient who has not connected their account, undefined for one who has. */
    connectLinkFor?: (email: string) => Promise<string | undefined>;
}

export interface SyncReport {
    source: string;
    fullSweep: boolean;
    listed: number;
    skipped: number;
    newApprovals: number;
    reassigned: number;
    reopened: number;
    closed: number;
    remindersQueued: number;
    messagesSent: number;
    recipientsNotified: number;
    owedForNextPoll: number;
    listingFailed: boolean;
}

/** Where a step hands a row that is owed a message (see send.ts). */
export interface SendQueue {
    enqueue(record: OpenRow | ApprovalRecord): void;
}

/** Table calls of one step in flight at once. */
export const TABLE_CONCURRENCY = 16;
