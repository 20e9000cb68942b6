import { mapLimited } from '../concurrency';
import { errorMessage, Logger } from '../log';
import { Approval, approverKey, approverNames, ApprovalSource } from '../model';
import { EventsClient, MAX_RECIPIENTS_PER_MESSAGE } from '../moveworks/eventsClient';
import { toApprovalMessage } from '../moveworks/message';
import { ApprovalRecord, ApprovalStore, pendingRecipients } from '../store/approvalStore';

/**
 * One poll of one source: list what is pending (changed since the watermark, or everything on a full
 * sweep), record new and reassigned approvals with the recipients they are owed, close approvals that left
 * the pending list, then send what is owed, paced, until the poll's time budget is spent. What is not sent
 * stays owed in the table for the next poll.
 */

export interface SyncSettings {
    fullSweepMinutes: number;
    overlapSeconds: number;
    budgetSeconds: number;
    concurrency: number;
}

export interface SyncDependencies {
    source: ApprovalSource;
    store: ApprovalStore;
    events: EventsClient;
    log: Logger;
    settings: SyncSettings;
    now?: () => number;
}

export interface SyncReport {
    source: string;
    fullSweep: boolean;
    listed: number;
    skipped: number;
    newApprovals: number;
    reassigned: number;
    closed: number;
    messagesSent: number;
    recipientsNotified: number;
    owedForNextPoll: number;
    listingFailed: boolean;
}

/** A sender's hold on a row while it sends: long enough for one paced send with its retries. */
const SEND_LEASE_MS = 2 * 60_000;
const TABLE_CONCURRENCY = 16;

export async function syncSource(deps: SyncDependencies): Promise<SyncReport> {
    const now = deps.now ?? Date.now;
    const startedAt = now();
    const deadline = startedAt + deps.settings.budgetSeconds * 1000;
    const { source, store, log } = deps;
    const cursor = await store.getCursor(source.name);
    const fullSweep =
        !source.incremental ||
        cursor.watermark === undefined ||
        cursor.lastFullSweepAt === undefined ||
        startedAt - cursor.lastFullSweepAt >= deps.settings.fullSweepMinutes * 60_000;
    const since = fullSweep ? undefined : Math.max(0, (cursor.watermark ?? 0) - deps.settings.overlapSeconds * 1000);
    const report: SyncReport = {
        source: source.name,
        fullSweep,
        listed: 0,
        skipped: 0,
        newApprovals: 0,
        reassigned: 0,
        closed: 0,
        messagesSent: 0,
        recipientsNotified: 0,
        owedForNextPoll: 0,
        listingFailed: false,
    };

    const known = new Map<string, ApprovalRecord>();
    if (fullSweep) for await (const record of store.listOpen(source.name)) known.set(record.id, record);
    const seen = new Set<string>();
    let watermark = cursor.watermark;
    try {
        for await (const page of source.listPending(since)) {
            report.listed += page.approvals.length;
            report.skipped += page.skipped;
            const fresh = page.approvals.filter((approval) => !seen.has(approval.id));
            for (const approval of fresh) {
                seen.add(approval.id);
                watermark = Math.max(watermark ?? 0, approval.changedAt);
            }
            await recordChanges(deps, fresh, known, report, now);
        }
    } catch (error) {
        report.listingFailed = true;
        log.error('sync.listing_failed', { source: source.name, fullSweep, error: errorMessage(error) });
    }

    if (!report.listingFailed) {
        if (fullSweep) {
            for (const record of known.values()) {
                if (!seen.has(record.id)) report.closed += (await closeVanished(store, record, now())) ? 1 : 0;
            }
        }
        const saved = await store.saveCursor({ ...cursor, watermark, lastFullSweepAt: fullSweep ? startedAt : cursor.lastFullSweepAt });
        if (!saved) log.warn('sync.cursor_moved_by_another_poll', { source: source.name });
    }

    await sendOwed(deps, deadline, report, now);
    log.info('sync.done', { ...report, elapsedMs: now() - startedAt });
    return report;
}

async function recordChanges(
    deps: SyncDependencies,
    approvals: Approval[],
    known: Map<string, ApprovalRecord>,
    report: SyncReport,
    now: () => number,
): Promise<void> {
    const { store, source } = deps;
    const records = await mapLimited(approvals, TABLE_CONCURRENCY, async (approval) => known.get(approval.id) ?? store.get(source.name, approval.id));
    const changes = approvals
        .map((approval, index) => ({ approval, record: records[index] }))
        .filter(({ record, approval }) =>
            record === undefined ||
            ((record.status === 'open' || record.status === 'deciding') && (record.approverKey !== approverKey(approval) || record.recipients.length === 0)),
        );
    if (changes.length === 0) return;
    const recipientsByApproval = await source.recipientsFor(changes.map(({ approval }) => approval));
    await mapLimited(changes, TABLE_CONCURRENCY, async ({ approval, record }) => {
        const recipients = recipientsByApproval.get(approval.id) ?? [];
        if (recipients.length === 0) deps.log.warn('sync.no_recipients', { source: source.name, approvalId: approval.id, approvers: approverKey(approval) });
        const at = now();
        if (record === undefined) {
            const inserted = await store.insert({
                source: source.name,
                id: approval.id,
                status: 'open',
                approverKey: approverKey(approval),
                approverNames: approverNames(approval),
                changedAt: approval.changedAt,
                message: toApprovalMessage(approval),
                recipients,
                notified: [],
                refused: [],
                sendLeaseUntil: 0,
                createdAt: at,
                updatedAt: at,
            });
            if (inserted) report.newApprovals++;
            return;
        }
        const reassigned = record.approverKey !== approverKey(approval);
        const updated = await store.update({
            ...record,
            approverKey: approverKey(approval),
            approverNames: approverNames(approval),
            changedAt: approval.changedAt,
            message: toApprovalMessage(approval, { reassigned: reassigned && record.notified.length > 0 }),
            recipients,
            updatedAt: at,
        });
        if (updated && reassigned) {
            report.reassigned++;
            deps.log.info('sync.reassigned', { source: source.name, approvalId: approval.id, from: record.approverKey, to: approverKey(approval) });
        }
    });
}

async function closeVanished(store: ApprovalStore, record: ApprovalRecord, at: number): Promise<boolean> {
    if (record.status === 'deciding') return false;
    return (await store.update({ ...record, status: 'closed', closedReason: 'no longer pending in the source', updatedAt: at })) !== undefined;
}

async function sendOwed(deps: SyncDependencies, deadline: number, report: SyncReport, now: () => number): Promise<void> {
    const owed: ApprovalRecord[] = [];
    for await (const record of deps.store.listOutbox(deps.source.name)) owed.push(record);
    owed.sort((a, b) => a.changedAt - b.changedAt);
    // Once one send is put off (rate limit, outage, budget spent), the rest would be too: leave them untouched.
    let putOff = false;
    await mapLimited(owed, deps.settings.concurrency, async (record) => {
        const outcome = putOff ? ({ kind: 'owed' } as const) : await sendOne(deps, record, deadline, now);
        if (outcome.kind === 'owed') {
            putOff = true;
            report.owedForNextPoll++;
        } else if (outcome.kind === 'sent' && outcome.recipients > 0) {
            report.messagesSent++;
            report.recipientsNotified += outcome.recipients;
        }
    });
}

type SendResult = { kind: 'sent'; recipients: number } | { kind: 'owed' } | { kind: 'held-elsewhere' };

/** Sends what one row is owed, under a lease so that a concurrent poll does not send it too. */
async function sendOne(deps: SyncDependencies, initial: ApprovalRecord, deadline: number, now: () => number): Promise<SendResult> {
    const { store, events, log, source } = deps;
    if (initial.sendLeaseUntil > now()) return { kind: 'held-elsewhere' };
    const record = await store.update({ ...initial, sendLeaseUntil: now() + SEND_LEASE_MS, updatedAt: now() });
    if (!record) return { kind: 'held-elsewhere' };
    const recipients = pendingRecipients(record);
    const sent: string[] = [];
    const refused: string[] = [];
    let owed = false;
    const batches: string[][] = [];
    for (let start = 0; start < recipients.length; start += MAX_RECIPIENTS_PER_MESSAGE) batches.push(recipients.slice(start, start + MAX_RECIPIENTS_PER_MESSAGE));
    while (batches.length > 0 && !owed) {
        const batch = batches.shift()!;
        const outcome = await events.send(record.message, batch, record.id, deadline);
        if (outcome.kind === 'sent') sent.push(...batch);
        else if (outcome.kind === 'refused' && batch.length > 1) {
            // Moveworks refuses a whole request when one recipient is unknown to it: find who, one by one.
            batches.unshift(...batch.map((email) => [email]));
        } else if (outcome.kind === 'refused') {
            refused.push(...batch);
            log.error('sync.message_refused', { source: source.name, approvalId: record.id, recipients: batch.length, reason: outcome.reason });
        } else {
            owed = true;
            log.warn('sync.message_owed', { source: source.name, approvalId: record.id, reason: outcome.reason });
        }
    }
    const at = now();
    const saved = await store.modify(record, (latest) => ({
        ...latest,
        notified: [
            ...latest.notified,
            ...sent.filter((email) => !latest.notified.some((entry) => entry.email === email)).map((email) => ({ email, approverKey: latest.approverKey, at })),
        ],
        refused: [...new Set([...latest.refused, ...refused])],
        sendLeaseUntil: 0,
        updatedAt: at,
    }));
    if (!saved) log.error('sync.notification_not_recorded', { source: source.name, approvalId: initial.id, recipients: sent.length });
    return owed ? { kind: 'owed' } : { kind: 'sent', recipients: sent.length };
}
