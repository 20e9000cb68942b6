import { mapLimited } from '../../platform/concurrency';
import { errorMessage } from '../../platform/log';
import { detached } from '../../platform/text';
import { isAcceptableApprovalId } from '../../approvalId';
import { Approval, approverKey, Recommendation } from '../../model';
import { ApprovalRecord, hasTexts, OpenRow } from '../../store/approvalRecord';
import { ApprovalStore } from '../../store/approvalStore';
import { isRowRefused } from '../../store/rowEntity';
import { closedReasonFor, hasNewApprover, isClaimInProgress, isHandedOn, isLaterStep, reopened, shouldReopen, toNewRecord, withCurrentApprovers } from '../records';
import { SendQueue, SyncDependencies, SyncReport, TABLE_CONCURRENCY } from './syncContext';

/**
 * The record step of a poll: what the source lists becomes table rows (new approvals, new approvers, a
 * next step, a finished row listed again), rows the source no longer has are closed once it confirms, and
 * claims that lapsed are settled. Every row that ends up owed a message is handed to the send queue.
 */

/**
 * A row an action claimed and never gave back (its worker died, or the table write after the decision
 * failed) is open again once the claim has lapsed: closed when the source no longer has it pending,
 * open for its approvers otherwise. Read live first, so a decision the source took is not offered again.
 */
export async function recoverLapsedClaims(deps: SyncDependencies, known: Map<string, OpenRow>, report: SyncReport, now: () => number, sender: SendQueue): Promise<void> {
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

/** Ids that fit the source's pattern and the one approval id rule; anything else is set aside, not stored. */
export function usableApprovals(deps: SyncDependencies, approvals: Approval[], report: SyncReport): Approval[] {
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

export async function recordChanges(
    deps: SyncDependencies,
    approvals: Approval[],
    known: Map<string, OpenRow>,
    report: SyncReport,
    now: () => number,
    pollId: string,
    sender: SendQueue,
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
    // The source's recommendations for the new approvals are asked beside the recipients, so they add no wait of their own.
    const added = changes.flatMap(({ approval, record }) => (record === undefined ? [approval] : []));
    const recommending = source.recommend && added.length > 0 ? source.recommend(added) : Promise.resolve(new Map<string, Recommendation>());
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
    const recommendations = await recommending;
    const at = now();
    const fresh: ApprovalRecord[] = [];
    await mapLimited(changes, TABLE_CONCURRENCY, async ({ approval, record }) => {
        if (record === undefined) {
            fresh.push(toNewRecord({ ...approval, recommendation: recommendations.get(approval.id) }, recipientsOf(approval), at, pollId, { withCard: deps.notifier.sendsSummary }));
            return;
        }
        await perRow(deps, approval.id, async () => {
            // A step approved inside the source: the next step's approvers are all owed a message.
            const nextStep = isLaterStep(record.sourceStep, approval);
            // Written on the listed row's ETag: the texts are rewritten from the approval, so the row needs no read.
            const updated = await store.update(
                nextStep
                    ? reopened(record, approval, recipientsOf(approval), at, { nextStep, withCard: deps.notifier.sendsSummary })
                    : withCurrentApprovers(record, approval, recipientsOf(approval), at, { withCard: deps.notifier.sendsSummary }),
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
    sender: SendQueue,
): Promise<void> {
    const record = await deps.store.get(deps.source.name, approval.id);
    if (!record || !shouldReopen(record, approval)) return;
    // A decided row listed again was handed on, unless only approvers of its step are left (a parallel step).
    const nextStep = record.status === 'decided' ? isHandedOn(record, approval) : isLaterStep(record.sourceStep, approval);
    const saved = await deps.store.update(reopened(record, approval, recipientsOf(approval), now(), { nextStep, withCard: deps.notifier.sendsSummary }));
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
export async function closeConfirmedGone(
    deps: SyncDependencies,
    known: Map<string, OpenRow>,
    seen: Set<string>,
    report: SyncReport,
    now: () => number,
    pollId: string,
    sender: SendQueue,
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

export async function closeVanished(store: ApprovalStore, row: OpenRow, at: number): Promise<boolean> {
    if (row.status === 'deciding') return false;
    const whole = await asListed(store, row);
    return whole !== undefined && (await store.update({ ...whole, status: 'closed', closedReason: closedReasonFor(), updatedAt: at })) !== undefined;
}

/**
 * The whole row for a write: an open row was listed without its texts, so it is read again, and answers
 * undefined when it changed since, as the write conditional on the listed ETag would have lost.
 */
export async function asListed(store: ApprovalStore, row: OpenRow | ApprovalRecord): Promise<ApprovalRecord | undefined> {
    if (hasTexts(row)) return row;
    const record = await store.get(row.source, row.id);
    return record?.etag === row.etag ? record : undefined;
}
