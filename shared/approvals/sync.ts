import { randomUUID } from 'node:crypto';
import { createLimiter, mapLimited } from '../platform/concurrency';
import { withDeadline, withOwnDeadline } from '../platform/http';
import { batchesOf } from '../platform/paging';
import { errorMessage, Logger } from '../platform/log';
import { isAcceptableApprovalId } from '../approvalId';
import { Approval, approverKey, ApprovalSource } from '../model';
import { EventsClient, MAX_RECIPIENTS_PER_MESSAGE } from '../moveworks/eventsClient';
import { toReminderMessage } from '../moveworks/message';
import { ApprovalRecord, ApprovalStore, hasTexts, isRowRefused, notifiedInStep, OpenRow, pendingRecipients } from '../store/approvalStore';
import { closedReasonFor, hasNewApprover, isClaimInProgress, isHandedOn, isLaterStep, lastNotifiedAt, reopened, SEND_LEASE_MS, shouldReopen, toNewRecord, withCurrentApprovers } from './records';

/**
 * One poll of one source: list what is pending (changed since the watermark, or everything on a full
 * sweep), record new and reassigned approvals with the recipients they are owed, reopen finished rows the
 * source still lists for other approvers, close approvals that left the pending list once a live read
 * confirms it, and claim the reminders that are due. Sending starts as soon as rows are recorded,
 * oldest owed first, paced, until the poll's time budget is spent; what is not sent stays owed in the
 * table for the next poll.
 */

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
    reopened: number;
    closed: number;
    remindersQueued: number;
    messagesSent: number;
    recipientsNotified: number;
    owedForNextPoll: number;
    listingFailed: boolean;
}

const TABLE_CONCURRENCY = 16;
/** Rows queued for sending beyond which the listing waits for the sends (see Sender.roomFor). */
const MAX_WAITING_TO_SEND = 500;
const UNAVAILABLE_IN_A_ROW_IS_AN_OUTAGE = 3;

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

/**
 * A row an action claimed and never gave back (its worker died, or the table write after the decision
 * failed) is open again once the claim has lapsed: closed when the source no longer has it pending,
 * open for its approvers otherwise. Read live first, so a decision the source took is not offered again.
 */
async function recoverLapsedClaims(deps: SyncDependencies, known: Map<string, OpenRow>, report: SyncReport, now: () => number, sender: Sender): Promise<void> {
    const lapsed = [...known.values()].filter((row) => row.status === 'deciding' && !isClaimInProgress(row, now(), deps.settings.claimTtlMs));
    await mapLimited(lapsed, TABLE_CONCURRENCY, async (row) => {
        try {
            const live = await deps.source.getApproval(row);
            const whole = await asListed(deps.store, row);
            if (!whole) return;
            const gone = !live || live.completedState !== undefined;
            const saved = await deps.store.update({
                ...whole,
                status: gone ? 'closed' : 'open',
                closedReason: gone ? closedReasonFor(live) : undefined,
                decidingSince: undefined,
                updatedAt: now(),
            });
            if (!saved) return;
            if (gone) {
                report.closed++;
                known.delete(row.id);
            } else {
                known.set(row.id, saved);
                sender.enqueue(saved);
            }
            deps.log.warn('sync.claim_lapsed', { source: deps.source.name, approvalId: row.id, now: saved.status });
        } catch (error) {
            deps.log.warn('sync.claim_lapsed_check_failed', { source: deps.source.name, approvalId: row.id, error: errorMessage(error) });
        }
    });
}

/**
 * A copy of an id kept for the whole poll: an id parsed out of a listed page may be a slice of it, and V8
 * keeps a slice's whole source alive, so a set of such ids would hold every page of a sweep.
 */
const detached = (id: string) => Buffer.from(id).toString();

/** Ids that fit the source's pattern and the one approval id rule; anything else is set aside, not stored. */
function usableApprovals(deps: SyncDependencies, approvals: Approval[], report: SyncReport): Approval[] {
    return approvals.filter((approval) => {
        if (deps.source.isApprovalId(approval.id) && isAcceptableApprovalId(approval.id)) return true;
        report.skipped++;
        deps.log.warn('sync.unusable_id', { source: deps.source.name, approvalId: approval.id.slice(0, 200) });
        return false;
    });
}

/** One row's table write; a row the table refuses (bad key, too large) is logged and set aside, not fatal to the poll. */
async function perRow(deps: SyncDependencies, approvalId: string, write: () => Promise<void>): Promise<void> {
    try {
        await write();
    } catch (error) {
        if (!isRowRefused(error)) throw error;
        deps.log.warn('sync.row_refused', { source: deps.source.name, approvalId, error: errorMessage(error) });
    }
}

async function recordChanges(
    deps: SyncDependencies,
    approvals: Approval[],
    known: Map<string, OpenRow>,
    report: SyncReport,
    now: () => number,
    pollId: string,
    sender: Sender,
): Promise<void> {
    const { store, source, log } = deps;
    // A row claimed by an action in progress is left to it: the action records what the source did, and a
    // poll that moved its approvers meanwhile could have the decision recorded against the wrong step.
    // A decision the source is already carrying out is nobody's to act on: nobody is told of it.
    const changes = approvals
        .filter((approval) => !approval.inFlight)
        .map((approval) => ({ approval, record: known.get(approval.id) }))
        .filter(({ record, approval }) =>
            record === undefined ||
            ((record.status === 'open' || (record.status === 'deciding' && !isClaimInProgress(record, now(), deps.settings.claimTtlMs))) &&
                (record.approverKey !== approverKey(approval) || record.recipients.length === 0 || isLaterStep(record.sourceStep, approval))),
        );
    if (changes.length === 0) return;
    let recipientsByApproval: Map<string, string[]>;
    try {
        recipientsByApproval = await source.recipientsFor(changes.map(({ approval }) => approval));
    } catch (error) {
        // Left as they are, these approvals are looked up again by the next poll, which this one neither closes
        // rows for nor moves the watermark past; the rest of the list goes on.
        log.error('sync.recipients_failed', { source: source.name, approvals: changes.length, error: errorMessage(error) });
        report.listingFailed = true;
        return;
    }
    const recipientsOf = (approval: Approval) => {
        const recipients = recipientsByApproval.get(approval.id) ?? [];
        if (recipients.length === 0) log.warn('sync.no_recipients', { source: source.name, approvalId: approval.id, approvers: approverKey(approval) });
        return recipients;
    };
    const at = now();
    const fresh: ApprovalRecord[] = [];
    await mapLimited(changes, TABLE_CONCURRENCY, async ({ approval, record }) => {
        if (record === undefined) {
            fresh.push(toNewRecord(approval, recipientsOf(approval), at, pollId));
            return;
        }
        await perRow(deps, approval.id, async () => {
            // A step approved inside the source: the next step's approvers are all owed a message.
            const nextStep = isLaterStep(record.sourceStep, approval);
            // Written on the listed row's ETag: the texts are rewritten from the approval, so the row needs no read.
            const updated = await store.update(
                nextStep ? reopened(record, approval, recipientsOf(approval), at, { nextStep }) : withCurrentApprovers(record, approval, recipientsOf(approval), at),
            );
            if (!updated) return;
            sender.enqueue(updated);
            if (nextStep) log.info('sync.next_step', { source: source.name, approvalId: approval.id, step: approval.step });
            // Fewer approvers is the rest of a parallel step, not a reassignment.
            if (nextStep || !hasNewApprover(record.approverKey, approval)) return;
            report.reassigned++;
            log.info('sync.reassigned', { source: source.name, approvalId: approval.id, from: record.approverKey, to: approverKey(approval) });
        });
    });
    const existing: string[] = [];
    for await (const written of store.insertMany(fresh, deps.settings.concurrency)) {
        for (const row of written.inserted) {
            report.newApprovals++;
            sender.enqueue(row);
        }
        existing.push(...written.existing);
        for (const { id, error } of written.refused) log.warn('sync.row_refused', { source: source.name, approvalId: id, error: errorMessage(error) });
    }
    // Rows that exist but were not open: decided or closed through this app, or closed by a sweep.
    const listed = new Map(changes.map(({ approval }) => [approval.id, approval]));
    await mapLimited(existing, TABLE_CONCURRENCY, (id) => perRow(deps, id, () => reopenIfPending(deps, listed.get(id)!, recipientsOf, report, now, sender)));
}

/**
 * The source lists as pending an approval whose row is finished: a serial approval's next step (decided,
 * now for other approvers), or a row closed because an earlier listing missed it. Open it again.
 */
async function reopenIfPending(
    deps: SyncDependencies,
    approval: Approval,
    recipientsOf: (approval: Approval) => string[],
    report: SyncReport,
    now: () => number,
    sender: Sender,
): Promise<void> {
    const record = await deps.store.get(deps.source.name, approval.id);
    if (!record || !shouldReopen(record, approval)) return;
    // A decided row listed again was handed on, unless only approvers of its step are left (a parallel step).
    const nextStep = record.status === 'decided' ? isHandedOn(record, approval) : isLaterStep(record.sourceStep, approval);
    const saved = await deps.store.update(reopened(record, approval, recipientsOf(approval), now(), { nextStep }));
    if (!saved) return;
    report.reopened++;
    deps.log.info('sync.reopened', { source: deps.source.name, approvalId: approval.id, was: record.status, approvers: approverKey(approval) });
    sender.enqueue(saved);
}

/**
 * A sweep that did not see an open row asks the source before closing it: a list that shifts while it is
 * paged (an item completed on page 1 moves the first of page 2 onto page 1), a page cap, or a shrinking
 * total can hide an approval that is still pending. What the source still has is recorded as listed.
 */
async function closeConfirmedGone(
    deps: SyncDependencies,
    known: Map<string, OpenRow>,
    seen: Set<string>,
    report: SyncReport,
    now: () => number,
    pollId: string,
    sender: Sender,
): Promise<void> {
    const unseen = [...known.values()].filter((record) => !seen.has(record.id) && record.status === 'open');
    if (unseen.length === 0) return;
    let stillPending: Approval[];
    try {
        const confirmed = await deps.source.confirmPending(unseen);
        // Still pending (whatever a setting now says of its id), or too large to read even alone: the
        // source did not say it is gone, so the row stays open.
        for (const id of [...confirmed.pending.map((approval) => approval.id), ...confirmed.undetermined]) seen.add(detached(id));
        stillPending = usableApprovals(deps, confirmed.pending, report);
    } catch (error) {
        deps.log.warn('sync.confirm_failed', { source: deps.source.name, unseen: unseen.length, error: errorMessage(error) });
        return;
    }
    if (stillPending.length > 0) deps.log.info('sync.unseen_still_pending', { source: deps.source.name, count: stillPending.length });
    await recordChanges(deps, stillPending, known, report, now, pollId, sender);
    const gone = unseen.filter((record) => !seen.has(record.id));
    await mapLimited(gone, TABLE_CONCURRENCY, (record) =>
        perRow(deps, record.id, async () => {
            report.closed += (await closeVanished(deps.store, record, now())) ? 1 : 0;
        }),
    );
}

/**
 * Approvals still pending `remindAfterHours` after their approvers' last message (or halfway to their due
 * date, when that comes sooner) get a reminder, at most `remindMax` times. The ETag-guarded claim of the
 * step (remindersSent + 1) is what keeps two polls from reminding twice.
 */
async function queueReminders(
    deps: SyncDependencies,
    known: Map<string, OpenRow>,
    seen: Set<string>,
    sender: Sender,
    report: SyncReport,
    now: () => number,
): Promise<void> {
    const { remindAfterHours, remindMax } = deps.settings;
    if (remindMax === 0) return;
    const after = remindAfterHours * 3_600_000;
    const due = [...known.values()].filter((record) => {
        if (record.status !== 'open' || record.remindersSent >= remindMax || pendingRecipients(record).length > 0) return false;
        if (!deps.source.incremental && !seen.has(record.id)) return false;
        const last = lastNotifiedAt(record);
        if (last === 0) return false;
        const halfwayToDue = record.dueAt !== undefined && record.dueAt > last ? last + (record.dueAt - last) / 2 : Infinity;
        return now() >= Math.min(last + after, halfwayToDue) && (record.dueAt === undefined || now() < record.dueAt);
    });
    await mapLimited(due, TABLE_CONCURRENCY, async (record) => {
        // Reminders are rare: read the approval live first, so nobody is reminded of one that was completed
        // or reassigned inside the source since the last listing.
        const live = await deps.source.getApproval(record).then(
            (approval) => ({ approval }),
            (error: unknown) => {
                deps.log.warn('sync.reminder_check_failed', { source: deps.source.name, approvalId: record.id, error: errorMessage(error) });
                return undefined;
            },
        );
        if (!live) return;
        if (!live.approval || live.approval.completedState) {
            report.closed += (await closeVanished(deps.store, record, now())) ? 1 : 0;
            return;
        }
        if (approverKey(live.approval) !== record.approverKey || live.approval.inFlight) return;
        const whole = await asListed(deps.store, record);
        if (!whole) return;
        // Recipients Moveworks refused are owed nothing until an administrator asks for them again (refused/retry).
        const refused = new Set(whole.refused);
        const reminderOwed = whole.recipients.filter((email) => !refused.has(email));
        if (reminderOwed.length === 0) return;
        const claimed = await deps.store.update({ ...whole, remindersSent: whole.remindersSent + 1, reminderOwed, updatedAt: now() });
        if (!claimed) return;
        report.remindersQueued++;
        sender.enqueue(claimed);
    });
}

async function closeVanished(store: ApprovalStore, row: OpenRow, at: number): Promise<boolean> {
    if (row.status === 'deciding') return false;
    const whole = await asListed(store, row);
    return whole !== undefined && (await store.update({ ...whole, status: 'closed', closedReason: closedReasonFor(), updatedAt: at })) !== undefined;
}

/**
 * The whole row for a write: an open row was listed without its texts, so it is read again, and answers
 * undefined when it changed since, as the write conditional on the listed ETag would have lost.
 */
async function asListed(store: ApprovalStore, row: OpenRow | ApprovalRecord): Promise<ApprovalRecord | undefined> {
    if (hasTexts(row)) return row;
    const record = await store.get(row.source, row.id);
    return record?.etag === row.etag ? record : undefined;
}

/**
 * Sends what rows are owed, oldest first, as they are queued, at most `concurrency` at once. Once one send
 * is put off (rate limit, outage, budget spent) the rest would be too, so they are left untouched. What was
 * sent is recorded after the send gives up its place, so the next one starts while the table writes, and
 * the records of sends finishing together share a table transaction.
 */
class Sender {
    private readonly run: ReturnType<typeof createLimiter>;
    private readonly latest = new Map<string, OpenRow | ApprovalRecord>();
    private readonly handled = new Set<string>();
    private readonly sending: Promise<void>[] = [];
    private readonly untouched: ApprovalRecord[] = [];
    private putOff = false;
    private unavailableInARow = 0;
    private room?: { below: number; open: () => void };

    constructor(
        private readonly deps: SyncDependencies,
        private readonly deadline: number,
        private readonly report: SyncReport,
        private readonly now: () => number,
        private readonly pollId: string,
        /** Runs a write that records work already done, past the poll's deadline if need be. */
        private readonly recording: <T>(write: () => Promise<T>) => Promise<T>,
    ) {
        this.run = createLimiter(deps.settings.concurrency);
    }

    /** Queues a row, or refreshes the queued copy of it (a later write changed its ETag). */
    enqueue(record: OpenRow | ApprovalRecord): void {
        if (this.handled.has(record.id) || pendingRecipients(record).length === 0) return;
        const queued = this.latest.has(record.id);
        this.latest.set(record.id, record);
        // Handled from the moment it is queued: a send that fails while later pages are still listed must not
        // become an unhandled rejection, which would end the worker process and any action running in it.
        if (!queued) this.sending.push(this.send(record.id).catch((error: unknown) => this.failed(record.id, error)));
    }

    /**
     * Resolves once fewer than `below` rows wait for their turn, or at `deadline`, after which sends wind
     * down and the listing must still finish.
     */
    async roomFor(below: number, deadline: number): Promise<void> {
        if (this.latest.size < below) return;
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((open) => {
            this.room = { below, open };
            timer = setTimeout(open, Math.max(0, deadline - this.now()));
        });
        clearTimeout(timer);
        this.room = undefined;
    }

    private failed(id: string, error: unknown): void {
        this.report.owedForNextPoll++;
        this.deps.log.error('sync.send_failed', { source: this.deps.source.name, approvalId: id, error: errorMessage(error) });
    }

    async finish(): Promise<void> {
        await Promise.all(this.sending);
        // Leases this poll took when it recorded new approvals must not keep the next poll from sending them.
        await this.recording(() =>
            Promise.all(
                this.untouched.map((record) =>
                    this.deps.store.modifyBatched(record, (latest) => (latest.leaseHolder === this.pollId ? { ...latest, sendLeaseUntil: 0, leaseHolder: undefined } : undefined)),
                ),
            ),
        );
    }

    private async send(id: string): Promise<void> {
        const delivery = await this.run(() => this.deliver(id));
        if (!delivery) return;
        await this.recording(() => recordDelivery(this.deps, delivery, this.now));
        if (delivery.owed) this.report.owedForNextPoll++;
        else if (delivery.sent.length > 0) {
            this.report.messagesSent++;
            this.report.recipientsNotified += delivery.sent.length;
        }
    }

    private async deliver(id: string): Promise<Delivery | undefined> {
        // Only the id stays once a row is taken up, so a large backlog is not held in memory twice.
        const record = this.latest.get(id)!;
        this.latest.delete(id);
        this.handled.add(detached(id));
        if (this.room && this.latest.size < this.room.below) this.room.open();
        if (this.putOff) {
            if (hasTexts(record) && record.leaseHolder === this.pollId) this.untouched.push(record);
            this.report.owedForNextPoll++;
            return undefined;
        }
        const delivery = await deliver(this.deps, record, this.deadline, this.now, this.pollId);
        if (delivery?.owed) {
            // A rate limit, a spent budget, a bad key or event would put off every other send too; one
            // unavailable answer may be a blip (a write is not retried after it), several in a row an
            // outage; a message refused for itself says nothing about the others.
            if (delivery.owed === 'every-message') this.putOff = true;
            if (delivery.owed === 'maybe-every-message' && ++this.unavailableInARow >= UNAVAILABLE_IN_A_ROW_IS_AN_OUTAGE) this.putOff = true;
        } else this.unavailableInARow = 0;
        return delivery;
    }
}

/** What an owed message says of the others: they would be put off too, maybe (Moveworks unavailable), or not. */
type OwedScope = 'every-message' | 'maybe-every-message' | 'this-message';

/** One row's messages: who got one and who was refused, under the lease taken for them; `owed` when some stay owed. */
interface Delivery {
    record: ApprovalRecord;
    reminders: Set<string>;
    sent: string[];
    refused: string[];
    owed?: OwedScope;
}

/** Sends what one row is owed, under a lease so that a concurrent poll does not send it too; undefined when another holds it. */
async function deliver(deps: SyncDependencies, queued: OpenRow | ApprovalRecord, deadline: number, now: () => number, pollId: string): Promise<Delivery | undefined> {
    const { store, events, log, source } = deps;
    const ours = queued.leaseHolder === pollId && queued.sendLeaseUntil > now();
    if (!ours && queued.sendLeaseUntil > now()) return undefined;
    const initial = await asListed(store, queued);
    if (!initial) return undefined;
    const record = ours ? initial : await store.update({ ...initial, sendLeaseUntil: now() + SEND_LEASE_MS, leaseHolder: pollId, updatedAt: now() });
    if (!record) return undefined;
    const reminders = new Set(record.reminderOwed);
    const recipients = pendingRecipients(record);
    const delivery: Delivery = { record, reminders, sent: [], refused: [] };
    const batches: { message: string; emails: string[] }[] = [];
    for (const [message, emails] of [
        [record.message, recipients.filter((email) => !reminders.has(email))],
        [toReminderMessage(record.message), recipients.filter((email) => reminders.has(email))],
    ] as const) {
        for (const batch of batchesOf(emails, MAX_RECIPIENTS_PER_MESSAGE)) batches.push({ message, emails: batch });
    }
    while (batches.length > 0 && !delivery.owed) {
        const { message, emails: batch } = batches.shift()!;
        const outcome = await events.send(message, batch, record.id, deadline);
        if (outcome.kind === 'sent') delivery.sent.push(...batch);
        else if (outcome.kind === 'refused' && batch.length > 1) {
            // Moveworks refuses a whole request when one recipient is unknown to it: find who by halves, so
            // one unknown member of a group of 500 costs 19 requests (one, then two per halving) rather than 500.
            const half = Math.ceil(batch.length / 2);
            batches.unshift({ message, emails: batch.slice(0, half) }, { message, emails: batch.slice(half) });
        } else if (outcome.kind === 'refused') {
            delivery.refused.push(...batch);
            log.error('sync.message_refused', { source: source.name, approvalId: record.id, recipients: batch.length, reason: outcome.reason });
        } else if (outcome.kind === 'failed') {
            delivery.owed = outcome.scope;
            log.error('sync.message_failed', { source: source.name, approvalId: record.id, reason: outcome.reason });
        } else {
            delivery.owed = outcome.cause === 'unavailable' ? 'maybe-every-message' : 'every-message';
            log.warn('sync.message_owed', { source: source.name, approvalId: record.id, reason: outcome.reason });
        }
    }
    return delivery;
}

/** Records who was sent to or refused and gives the lease up; throws, leaving the message owed, when the table write fails. */
async function recordDelivery(deps: SyncDependencies, { record, reminders, sent, refused }: Delivery, now: () => number): Promise<void> {
    const at = now();
    const sentOrRefused = new Set([...sent, ...refused]);
    const saved = await deps.store.modifyBatched(record, (latest) => {
        // Recorded for the step and approvers the message was written for, even if the row moved on meanwhile;
        // once only, when a write that timed out had recorded it already.
        const inStep = notifiedInStep(latest.notified, record.step);
        const alreadyNotified = new Set(inStep.map((entry) => entry.email));
        const alreadyRecorded = new Set(inStep.filter((entry) => entry.at === at).map((entry) => entry.email));
        return {
            ...latest,
            notified: [
                ...latest.notified,
                ...sent
                    .filter((email) => !alreadyRecorded.has(email) && (reminders.has(email) || !alreadyNotified.has(email)))
                    .map((email) => ({ email, approverKey: record.approverKey, at, ...(reminders.has(email) ? { reminder: true } : {}), ...(record.step ? { step: record.step } : {}) })),
            ],
            reminderOwed: latest.reminderOwed.filter((email) => !sentOrRefused.has(email)),
            refused: [...new Set([...latest.refused, ...refused])],
            sendLeaseUntil: 0,
            leaseHolder: undefined,
            updatedAt: at,
        };
    });
    if (!saved) deps.log.error('sync.notification_not_recorded', { source: deps.source.name, approvalId: record.id, recipients: sent.length });
}
