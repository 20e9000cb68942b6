import { AppError, conflict, decisionUnderWay, forbidden, notFound, upstream, UpstreamError } from '../platform/errors';
import { withDeadline } from '../platform/http';
import { errorMessage, Logger } from '../platform/log';
import { Approval, ApprovalSource, approverNames, Person, SOURCE_TITLES } from '../model';
import { formatInstant } from '../moveworks/message';
import { ApprovalRecord } from '../store/approvalRecord';
import { ApprovalStore } from '../store/approvalStore';
import { closedReasonFor, isClaimInProgress } from './records';

/**
 * What every action on an approval checks first, against live state: the app notified it, it is still
 * pending in its source, and the person is one of its current approvers. Then the row is claimed with its
 * ETag so that of concurrent actions exactly one reaches the source.
 */

export interface ActionDependencies {
    sources: ApprovalSource[];
    store: ApprovalStore;
    log: Logger;
    allowSelfApproval: boolean;
    /** The longest a claimed row's source calls may take (see withinClaim). */
    writeBudgetMs: number;
    /** The longest the checks, the claim and the write of one action may take together (see withinAction). */
    actionBudgetMs: number;
    now?: () => number;
    /** The rows keep the approval's card, for a notifier that sends it (see Notifier.sendsSummary). */
    cards?: boolean;
    /** Tells the requester the outcome (NOTIFY_REQUESTER); failures are logged, never the caller's problem. */
    announce?: (source: ApprovalSource, approval: Approval, decision: 'approve' | 'reject', decidedBy: Person, comment?: string) => Promise<void>;
}

export interface Authorized {
    source: ApprovalSource;
    record: ApprovalRecord;
    person: Person;
    approval: Approval;
}

/**
 * A claim outlives the write it guards by this much; an older claim belongs to a caller that died
 * mid-action, and the source is re-read before the row is used again.
 */
const CLAIM_MARGIN_MS = 60_000;

const pastTense = (decision: string) => (decision === 'approve' ? 'approved' : 'rejected');

const when = (epochMs: number | undefined) => (epochMs ? ` on ${formatInstant(epochMs)}` : '');

function alreadyHandled(record: ApprovalRecord, liveState?: string): AppError {
    if (record.status === 'decided') {
        return conflict(
            'already_decided',
            `This approval was already ${pastTense(record.decision ?? 'approve')} through chat${record.decidedBy ? ` by ${record.decidedBy}` : ''}${when(record.decidedAt)}.`,
        );
    }
    if (liveState) return conflict('no_longer_pending', `This approval is no longer pending: ${SOURCE_TITLES[record.source]} shows it as ${liveState}.`);
    return conflict(
        'no_longer_pending',
        `This approval is no longer pending: it was completed, withdrawn or expired in ${SOURCE_TITLES[record.source]}${record.status === 'closed' ? when(record.updatedAt) : ''}.`,
    );
}

/** How long a claim holds, given the write budget it guards. */
export const claimTtlMs = (writeBudgetMs: number) => writeBudgetMs + CLAIM_MARGIN_MS;

const inProgress = (deps: ActionDependencies, record: ApprovalRecord, now: number) => isClaimInProgress(record, now, claimTtlMs(deps.writeBudgetMs));

/**
 * Runs a claimed row's source calls within the write budget, every retry and token refresh included, so
 * they are over before the claim can lapse: otherwise a second click could claim the row and write again.
 */
export function withinClaim<T>(deps: ActionDependencies, write: () => Promise<T>): Promise<T> {
    return withDeadline(Date.now() + deps.writeBudgetMs, write);
}

/** Bounds an action's checks and write, so a caller gets an answer in time even when every call is slow. */
export function withinAction<T>(deps: ActionDependencies, task: () => Promise<T>): Promise<T> {
    return withDeadline(Date.now() + deps.actionBudgetMs, task);
}

const busy = () => conflict('decision_in_progress', 'Another action on this approval is being recorded right now.');

/** Calls a source, turning its failures into answers a person can act on. */
export async function viaSource<T>(log: Logger, approvalId: string, call: () => Promise<T>): Promise<T> {
    try {
        return await call();
    } catch (error) {
        if (error instanceof AppError) throw error;
        if (error instanceof UpstreamError) throw upstream('source_unavailable', error.message);
        log.error('action.source_failed', { approvalId, error: errorMessage(error) });
        throw upstream('source_unavailable', 'SailPoint answered in a way the app could not read; try again, and tell an administrator if it persists.');
    }
}

export async function findNotified(deps: ActionDependencies, approvalId: string): Promise<{ source: ApprovalSource; record: ApprovalRecord }> {
    for (const source of deps.sources) {
        if (!source.isApprovalId(approvalId)) continue;
        const record = await deps.store.get(source.name, approvalId);
        if (record) return { source, record };
    }
    throw notFound('not_found', 'This app never sent a notification for this approval.');
}

export function notSupported(source: ApprovalSource, what: string): AppError {
    return new AppError(501, 'not_supported_by_source', `${SOURCE_TITLES[source.name]} cannot ${what} through this app.`);
}

export async function authorize(
    deps: ActionDependencies,
    found: { source: ApprovalSource; record: ApprovalRecord },
    approverEmail: string,
    /** `deciding`: the action decides, or chooses who decides (approve, reject, reassign). */
    options: { deciding: boolean },
): Promise<Authorized> {
    const now = deps.now ?? Date.now;
    const { source } = found;
    let { record } = found;
    if (record.status === 'decided') throw alreadyHandled(record);
    if (inProgress(deps, record, now())) throw busy();

    const person = await viaSource(deps.log, record.id, () => source.findPersonByEmail(approverEmail));
    const approval = await viaSource(deps.log, record.id, () => source.getApproval(record));
    if (!approval || approval.completedState) {
        if (record.status !== 'closed') await deps.store.update({ ...record, status: 'closed', closedReason: closedReasonFor(approval), updatedAt: now() });
        throw alreadyHandled({ ...record, status: 'closed', updatedAt: record.status === 'closed' ? record.updatedAt : 0 }, approval?.completedState);
    }
    if (record.status === 'closed') {
        // Closed while the source still has it pending (a listing missed it): the source is the truth.
        record = (await deps.store.modify(record, (latest) => (latest.status === 'closed' ? { ...latest, status: 'open', closedReason: undefined, updatedAt: now() } : undefined))) ?? record;
        deps.log.info('action.reopened', { approvalId: record.id });
    }
    if (!(await viaSource(deps.log, record.id, () => source.isApprover(approval, person)))) {
        // Their part is done (a parallel step, or an earlier serial step) while the approval waits on others.
        const own = approval.decisions?.find((entry) => entry.id === person.id);
        if (own) throw conflict('already_decided', `You already ${pastTense(own.decision)} this request${when(own.at)}; it now waits on ${approverNames(approval)}.`);
        if (record.notified.some((entry) => entry.email === approverEmail)) {
            throw conflict('reassigned', `This approval was reassigned and now waits for ${approverNames(approval)}.`);
        }
        throw forbidden('not_approver', 'You are not an approver of this request.');
    }
    if (approval.inFlight) throw decisionUnderWay(SOURCE_TITLES[source.name], approval.inFlight);
    // Reassigning chooses who decides, so it is held to the self-approval rule as deciding is.
    if (options.deciding && !deps.allowSelfApproval && approval.requestee?.id === person.id) {
        throw forbidden('self_approval', 'You cannot decide or reassign a request for your own access.');
    }
    if (options.deciding && !deps.allowSelfApproval && approval.requester?.id === person.id) {
        throw forbidden('self_approval', 'You cannot decide or reassign a request you made yourself.');
    }
    return { source, record, person, approval };
}

/** How often an action is checked again because its row changed between the check and the claim. */
const MAX_CHECKS = 3;

/**
 * Checks an action against live state and claims its row, as one step: if the row changed between the
 * check and the claim (another action finished on it, say a reassignment that handed the approval to
 * someone else), the check is run again on what is there now, so no action writes on a stale check.
 * Throws 409 when another action holds the row or already finished it.
 */
export async function checkAndClaim<T extends { record: ApprovalRecord }>(deps: ActionDependencies, check: () => Promise<T>): Promise<T & { claimed: ApprovalRecord }> {
    for (let attempt = 1; ; attempt++) {
        const checked = await check();
        const claimed = await claim(deps, checked.record);
        if (claimed) return { ...checked, claimed };
        if (attempt === MAX_CHECKS) throw busy();
    }
}

/** The row claimed for one action; undefined when it changed since `checked` was read; 409 when another action holds it or finished it. */
async function claim(deps: ActionDependencies, checked: ApprovalRecord): Promise<ApprovalRecord | undefined> {
    const now = deps.now ?? Date.now;
    let lostTo: ApprovalRecord | undefined;
    let changed = false;
    const claimed = await deps.store.modify(checked, (latest) => {
        if (latest.status === 'decided' || latest.status === 'closed' || inProgress(deps, latest, now())) {
            lostTo = latest;
            return undefined;
        }
        if (latest.etag !== checked.etag) {
            changed = true;
            return undefined;
        }
        return { ...latest, status: 'deciding', decidingSince: now(), updatedAt: now() };
    });
    if (claimed || changed) return claimed;
    if (lostTo && lostTo.status !== 'deciding') throw alreadyHandled(lostTo);
    throw busy();
}

/** Gives the row back after an action, open again, or closed when the source said it is gone. */
export async function release(deps: ActionDependencies, record: ApprovalRecord, error?: unknown): Promise<void> {
    const now = deps.now ?? Date.now;
    const gone = error instanceof AppError && error.code === 'no_longer_pending';
    await deps.store
        .modify(record, (latest) => ({
            ...latest,
            status: gone ? 'closed' : 'open',
            closedReason: gone ? closedReasonFor() : undefined,
            decidingSince: undefined,
            updatedAt: now(),
        }))
        .catch((releaseError: unknown) => deps.log.error('action.release_failed', { approvalId: record.id, error: errorMessage(releaseError) }));
}
