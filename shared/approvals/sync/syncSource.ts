import { randomUUID } from 'node:crypto';
import { withDeadline, withOwnDeadline } from '../../platform/http';
import { errorMessage } from '../../platform/log';
import { OpenRow } from '../../store/approvalRecord';
import { detached } from '../../platform/text';
import { closeConfirmedGone, recordChanges, recoverLapsedClaims, usableApprovals } from './record';
import { queueReminders } from './remind';
import { Sender } from './send';
import { SyncDependencies, SyncReport } from './syncContext';

/**
 * One poll of one source: list what is pending (changed since the watermark, or everything on a full
 * sweep), record new and reassigned approvals with the recipients they are owed, reopen finished rows the
 * source still lists for other approvers, close approvals that left the pending list once a live read
 * confirms it, and claim the reminders that are due. Sending starts as soon as rows are recorded,
 * oldest owed first, paced, until the poll's time budget is spent; what is not sent stays owed in the
 * table for the next poll.
 */

/** Rows queued for sending beyond which the listing waits for the sends (see Sender.roomFor). */
const MAX_WAITING_TO_SEND = 500;

/**
 * Writes that record what a poll already did (who was sent a message, how far a sweep got) may run this
 * long past its deadline, so work done just before it is not done again by the next poll. A poll's budget
 * (at most MAX_POLL_BUDGET_SECONDS) and this grace stay under host.json's functionTimeout of 2 minutes.
 */
export const RECORDING_GRACE_MS = 15_000;

/**
 * Every step of the poll runs under its deadline: the token, the listing, the sweep's confirmations,
 * the reminders' live reads and the table calls. Only the writes that record work already done get
 * RECORDING_GRACE_MS more.
 */
export async function syncSource(deps: SyncDependencies): Promise<SyncReport> {
    const budgetMs = deps.settings.budgetSeconds * 1000;
    // The ambient deadline bounds HTTP and table calls on the real clock, whatever clock the poll reads.
    const deadline = Date.now() + budgetMs;
    return withDeadline(deadline, () => sync(deps, budgetMs, deadline));
}

async function sync(deps: SyncDependencies, budgetMs: number, callDeadline: number): Promise<SyncReport> {
    const now = deps.now ?? Date.now;
    const startedAt = now();
    const deadline = startedAt + budgetMs;
    const recording = <T>(write: () => Promise<T>) => withOwnDeadline(callDeadline + RECORDING_GRACE_MS, write);
    const { source, store, log } = deps;
    let cursor = await store.getCursor(source.name);
    const fullSweep =
        !source.incremental ||
        cursor.watermark === undefined ||
        cursor.lastFullSweepAt === undefined ||
        startedAt - cursor.lastFullSweepAt >= deps.settings.fullSweepMinutes * 60_000;
    const since = fullSweep ? undefined : Math.max(0, (cursor.watermark ?? 0) - deps.settings.overlapSeconds * 1000);
    // A sweep an earlier poll could not finish goes on from where it stopped, rather than from the start again.
    const sweep = fullSweep ? (cursor.sweep ?? { startedAt, resumeAt: undefined }) : undefined;
    const report: SyncReport = {
        source: source.name,
        fullSweep,
        listed: 0,
        skipped: 0,
        newApprovals: 0,
        reassigned: 0,
        reopened: 0,
        closed: 0,
        remindersQueued: 0,
        messagesSent: 0,
        recipientsNotified: 0,
        owedForNextPoll: 0,
        listingFailed: false,
    };

    // One query for every open row (instead of a read per listed approval); rows not in it are new.
    const known = new Map<string, OpenRow>();
    for await (const row of store.listOpenRows(source.name)) known.set(row.id, row);
    // Rows the person index does not cover yet (written before it existed) get their entries, a bounded number a
    // poll; a failure leaves them to the next poll and costs only the pending list's view of them meanwhile.
    const indexed = await store.indexUnindexed([...known.values()]).catch((error: unknown) => {
        log.warn('sync.index_not_written', { source: source.name, error: errorMessage(error) });
        return [];
    });
    for (const row of indexed) known.set(row.id, row);
    const pollId = randomUUID();
    // What earlier polls left owed goes first; new and reassigned approvals join the queue as they are recorded.
    const sender = new Sender(deps, deadline, report, now, pollId, recording);
    // The open rows already hold what is owed: the sender queues those with recipients still pending.
    for (const record of [...known.values()].sort((x, y) => x.changedAt - y.changedAt)) sender.enqueue(record);
    // Beside the listing and the sends: its live reads must not hold back messages already owed.
    const recovering = recoverLapsedClaims(deps, known, report, now, sender);
    const seen = new Set<string>();
    let watermark = cursor.watermark;
    /** Saves how far the sweep got once a page is recorded, so a poll cut short after it resumes there. */
    let savingProgress = sweep !== undefined;
    const saveProgress = async (resumeAt: string | undefined) => {
        if (!savingProgress || !sweep || resumeAt === undefined) return;
        const saved = await recording(() => store.saveCursor({ ...cursor, sweep: { startedAt: sweep.startedAt, resumeAt } })).catch((error: unknown) => {
            log.warn('sync.progress_not_saved', { source: source.name, error: errorMessage(error) });
            return undefined;
        });
        if (saved) cursor = saved;
        else savingProgress = false;
    };
    // A page is recorded while the next one is fetched, two at most, and only while the sends keep up, so a
    // sweep holds a few pages rather than every approval it lists.
    let recorded: Promise<string | undefined> = Promise.resolve(undefined);
    let recordingFailed: { error: unknown } | undefined;
    try {
        for await (const page of source.listPending(since, sweep?.resumeAt)) {
            report.listed += page.approvals.length;
            report.skipped += page.skipped;
            const fresh = usableApprovals(deps, page.approvals, report).filter((approval) => !seen.has(approval.id));
            // Listed as pending, usable or not: a row whose id a changed setting now refuses is not vanished.
            for (const approval of page.approvals) seen.add(detached(approval.id));
            for (const approval of fresh) watermark = Math.max(watermark ?? 0, approval.changedAt);
            const previous = recorded;
            await sender.roomFor(MAX_WAITING_TO_SEND, deadline);
            // The sweep may resume after this page only once it is recorded, and only while every page before it was.
            recorded = recordChanges(deps, fresh, known, report, now, pollId, sender).then(
                () => (report.listingFailed ? undefined : page.resumeAt),
                (error: unknown) => {
                    recordingFailed ??= { error };
                    return undefined;
                },
            );
            await saveProgress(await previous);
            if (recordingFailed) throw recordingFailed.error;
        }
        await saveProgress(await recorded);
        if (recordingFailed) throw recordingFailed.error;
    } catch (error) {
        report.listingFailed = true;
        log.error('sync.listing_failed', { source: source.name, fullSweep, resumed: sweep?.resumeAt !== undefined, error: errorMessage(error) });
    }
    // Still recording when the listing failed: its rows are queued before the sender is told to finish, and
    // the sweep resumes after them.
    await saveProgress(await recorded);
    await recovering;

    if (!report.listingFailed) {
        if (sweep) await closeConfirmedGone(deps, known, seen, report, now, pollId, sender);
        const finished = { ...cursor, watermark, lastFullSweepAt: sweep ? sweep.startedAt : cursor.lastFullSweepAt, sweep: undefined };
        const saved = await recording(() => store.saveCursor(finished));
        if (!saved) log.warn('sync.cursor_moved_by_another_poll', { source: source.name });
    }

    if (Date.now() < callDeadline) await queueReminders(deps, known, seen, sender, report, now);
    await sender.finish();
    log.info('sync.done', { ...report, elapsedMs: now() - startedAt });
    return report;
}
