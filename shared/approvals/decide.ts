import { AppError, conflict, forbidden, notFound, upstream, UpstreamError } from '../errors';
import { errorMessage, Logger } from '../log';
import { ApprovalSource, approverNames, Decision } from '../model';
import { ApprovalRecord, ApprovalStore } from '../store/approvalStore';

/**
 * Approve or reject on behalf of a person: check them against the live approval, claim the row so only
 * one decision goes through, act in the source, record the outcome. A failed write in the source releases
 * the claim so the approver's retry can succeed.
 */

export interface DecisionRequest {
    approvalId: string;
    decision: Decision;
    approverEmail: string;
    comment?: string;
}

export interface DecisionResult {
    status: 'approved' | 'rejected';
    approvalId: string;
    message: string;
}

export interface DecideDependencies {
    sources: ApprovalSource[];
    store: ApprovalStore;
    log: Logger;
    allowSelfApproval: boolean;
    now?: () => number;
}

/** A claim older than this belongs to a caller that died mid-decision; the source is re-read before reuse. */
const STALE_CLAIM_MS = 2 * 60_000;

const pastTense = (decision: Decision) => (decision === 'approve' ? 'approved' : 'rejected');

function alreadyHandled(record: ApprovalRecord): AppError {
    if (record.status === 'decided') {
        return conflict('already_decided', `This approval was already ${pastTense(record.decision ?? 'approve')} through chat${record.decidedBy ? ` by ${record.decidedBy}` : ''}.`);
    }
    return conflict('no_longer_pending', 'This approval is no longer pending: it was completed, withdrawn or expired in SailPoint.');
}

async function findRecord(deps: DecideDependencies, approvalId: string): Promise<{ source: ApprovalSource; record: ApprovalRecord } | undefined> {
    for (const source of deps.sources) {
        if (!source.isApprovalId(approvalId)) continue;
        const record = await deps.store.get(source.name, approvalId);
        if (record) return { source, record };
    }
    return undefined;
}

export async function decide(deps: DecideDependencies, request: DecisionRequest): Promise<DecisionResult> {
    const now = deps.now ?? Date.now;
    const { store, log } = deps;
    const found = await findRecord(deps, request.approvalId);
    if (!found) throw notFound('not_found', 'This app never sent a notification for this approval.');
    const { source } = found;
    let { record } = found;
    if (record.status === 'decided' || record.status === 'closed') throw alreadyHandled(record);
    if (record.status === 'deciding' && now() - (record.decidingSince ?? 0) < STALE_CLAIM_MS) {
        throw conflict('decision_in_progress', 'A decision on this approval is being recorded right now.');
    }

    const viaSource = async <T>(call: () => Promise<T>): Promise<T> => {
        try {
            return await call();
        } catch (error) {
            if (error instanceof AppError) throw error;
            if (error instanceof UpstreamError) throw upstream('source_unavailable', error.message);
            log.error('decide.source_failed', { approvalId: request.approvalId, error: errorMessage(error) });
            throw upstream('source_unavailable', 'SailPoint answered in a way the app could not read; try again, and tell an administrator if it persists.');
        }
    };

    const person = await viaSource(() => source.findPersonByEmail(request.approverEmail));
    const approval = await viaSource(() => source.getApproval(request.approvalId));
    if (!approval || approval.completedState) {
        await store.update({ ...record, status: 'closed', closedReason: 'no longer pending in the source', updatedAt: now() });
        throw alreadyHandled({ ...record, status: 'closed' });
    }
    if (!(await viaSource(() => source.isApprover(approval, person)))) {
        const wasNotified = record.notified.some((entry) => entry.email === request.approverEmail);
        if (wasNotified) throw conflict('reassigned', `This approval was reassigned and now waits for ${approverNames(approval)}.`);
        throw forbidden('not_approver', 'You are not an approver of this request.');
    }
    if (!deps.allowSelfApproval && approval.requestee?.id === person.id) {
        throw forbidden('self_approval', 'You cannot decide a request for your own access.');
    }

    let lostTo: ApprovalRecord | undefined;
    const claimed = await store.modify(record, (latest) => {
        const inProgress = latest.status === 'deciding' && now() - (latest.decidingSince ?? 0) < STALE_CLAIM_MS;
        if (latest.status === 'decided' || latest.status === 'closed' || inProgress) {
            lostTo = latest;
            return undefined;
        }
        return { ...latest, status: 'deciding', decidingSince: now(), updatedAt: now() };
    });
    if (!claimed) {
        if (lostTo && lostTo.status !== 'deciding') throw alreadyHandled(lostTo);
        throw conflict('decision_in_progress', 'A decision on this approval is being recorded right now.');
    }
    record = claimed;

    try {
        await viaSource(() => source.decide(approval, person, request.decision, request.comment));
    } catch (error) {
        const gone = error instanceof AppError && error.code === 'no_longer_pending';
        await store
            .modify(record, (latest) => ({
                ...latest,
                status: gone ? 'closed' : 'open',
                closedReason: gone ? 'no longer pending in the source' : undefined,
                decidingSince: undefined,
                updatedAt: now(),
            }))
            .catch((releaseError: unknown) => log.error('decide.release_failed', { approvalId: record.id, error: errorMessage(releaseError) }));
        log.warn('decide.failed', { approvalId: record.id, decision: request.decision, code: error instanceof AppError ? error.code : 'unknown' });
        throw error;
    }

    const decidedAt = now();
    const saved = await store.modify(record, (latest) => ({
        ...latest,
        status: 'decided',
        decision: request.decision,
        decidedBy: request.approverEmail,
        decidedAt,
        decidingSince: undefined,
        updatedAt: decidedAt,
    }));
    if (!saved) log.error('decide.not_recorded', { approvalId: record.id, decision: request.decision });
    log.info('decide.done', { source: source.name, approvalId: record.id, decision: request.decision, approverId: person.id });
    return { status: pastTense(request.decision), approvalId: record.id, message: `You ${pastTense(request.decision)} the request.` };
}
