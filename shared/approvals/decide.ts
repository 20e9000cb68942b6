import { ActionResult } from '../contract';
import { AppError, badRequest } from '../platform/errors';
import { withDeadline } from '../platform/http';
import { errorMessage } from '../platform/log';
import { Approval, ApprovalSource, approverKey, approverNames, Decision } from '../model';
import { ApprovalRecord } from '../store/approvalRecord';
import { movesOnSentence, outcomeSentence, recordedSentence } from '../moveworks/message';
import { isHandedOn, reopened } from './records';
import { ActionDependencies, authorize, Authorized, checkAndClaim, findNotified, release, viaSource, withinAction, withinClaim } from './authorize';

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

export async function decide(deps: ActionDependencies, request: DecisionRequest): Promise<ActionResult> {
    const { claimed: record, ...authorized } = await withinAction(deps, () =>
        checkAndClaim(deps, async () => {
            const checked = await authorize(deps, await findNotified(deps, request.approvalId), request.approverEmail, { deciding: true });
            if (request.decision === 'reject' && !request.comment && checked.approval.reasonRequiredToReject) {
                throw badRequest('comment_required', 'This request needs a reason to be rejected: add a comment saying why, then reject again.');
            }
            return checked;
        }),
    );
    const { source, person, approval } = authorized;
    try {
        await withinClaim(deps, () => viaSource(deps.log, record.id, () => source.decide(approval, person, request.decision, request.comment)));
    } catch (error) {
        await release(deps, record, error);
        deps.log.warn('decide.failed', { approvalId: record.id, decision: request.decision, code: error instanceof AppError ? error.code : 'unknown' });
        throw error;
    }
    // The source has the decision: what follows only records it, so none of it may turn the answer into a failure.
    return recordDecision(deps, request, { ...authorized, record });
}

async function recordDecision(deps: ActionDependencies, request: DecisionRequest, { source, record, person, approval }: Authorized): Promise<ActionResult> {
    const now = deps.now ?? Date.now;
    const status = request.decision === 'approve' ? 'approved' : 'rejected';
    const shown = record.recommendation ? { recommendation: record.recommendation.verdict } : {};
    const answer = (message: string): ActionResult => ({ status, approvalId: record.id, source: source.name, message, ...shown });
    const after: Aftermath = source.stepsAfterDecision ? await aftermath(deps, source, approval) : { kind: 'complete' };
    if (after.kind === 'next-step' || after.kind === 'same-step') {
        const { live } = after;
        // A failed look-up leaves the recipients empty, and the next poll fills them in.
        const recipients = await withDeadline(Date.now() + deps.writeBudgetMs, () => source.recipientsFor([live])).then(
            (byId) => byId.get(live.id) ?? [],
            (error: unknown) => {
                deps.log.warn('decide.next_step_lookup_failed', { approvalId: record.id, error: errorMessage(error) });
                return [];
            },
        );
        const nextStep = after.kind === 'next-step';
        await saveDecision(deps, record, (latest) => reopened(latest, live, recipients, now(), { nextStep, withCard: deps.cards }));
        deps.log.info('decide.done', {
            source: source.name,
            approvalId: record.id,
            decision: request.decision,
            approverId: person.id,
            [nextStep ? 'nextStep' : 'stillWaitingOn']: approverKey(live),
            sinceNotifiedMs: sinceNotified(record, now()),
        });
        return answer(nextStep ? movesOnSentence(approval, approverNames(live)) : recordedSentence(approval, request.decision, approverNames(live)));
    }
    if (after.kind === 'unknown') {
        // Not decided until the source says so: open again, the others' buttons work and the next poll catches up.
        await release(deps, record);
        deps.log.info('decide.done', { source: source.name, approvalId: record.id, decision: request.decision, approverId: person.id, outcome: 'unknown' });
        return answer(recordedSentence(approval, request.decision));
    }

    await saveDecision(deps, record, (latest) => ({
        ...latest,
        status: 'decided',
        decision: request.decision,
        decidedBy: request.approverEmail,
        decidedAt: now(),
        decidingSince: undefined,
        updatedAt: now(),
    }));
    deps.log.info('decide.done', { source: source.name, approvalId: record.id, decision: request.decision, approverId: person.id, sinceNotifiedMs: sinceNotified(record, now()) });
    await deps.announce?.(source, approval, request.decision, person, request.comment);
    return answer(outcomeSentence(approval, request.decision));
}

/**
 * How long the deciding approvers had their message: since the first notification of the current
 * approvers and step, not since the row was made, so a reassignment, a later step or a message held back
 * by an outage does not count against them. Undefined while that message is still owed.
 */
export function sinceNotified(record: ApprovalRecord, now: number): number | undefined {
    const current = new Set(record.recipients);
    const first = record.notified
        .filter((entry) => !entry.reminder && current.has(entry.email) && (entry.step ?? 0) === record.step)
        .reduce<number | undefined>((earliest, entry) => (earliest === undefined || entry.at < earliest ? entry.at : earliest), undefined);
    return first === undefined ? undefined : now - first;
}

/** Writes the decision to the row; a table failure is logged, never answered: the source already decided. */
async function saveDecision(deps: ActionDependencies, record: ApprovalRecord, change: (latest: ApprovalRecord) => ApprovalRecord): Promise<void> {
    const saved = await deps.store.modify(record, change).catch((error: unknown) => {
        deps.log.error('decide.not_recorded', { approvalId: record.id, error: errorMessage(error) });
        return null;
    });
    if (saved === undefined) deps.log.error('decide.not_recorded', { approvalId: record.id, error: 'the row kept changing' });
}

/**
 * Where a decision left an approval that may stay pending after it: complete; handed on to a next step;
 * at the same step with fewer approvers, the rest of a parallel step still needed; or unknown, when the
 * read after it failed and others may still be needed.
 */
type Aftermath = { kind: 'complete' } | { kind: 'next-step' | 'same-step'; live: Approval } | { kind: 'unknown' };

/**
 * Reads the approval again after the decision. A failed read is left to the next poll: an approval that
 * waited on one approver (or group) is taken as decided, and the poll reopens it if the source still
 * lists it; one that waited on several is left open for them.
 */
async function aftermath(deps: ActionDependencies, source: ApprovalSource, decided: Approval): Promise<Aftermath> {
    const read = await withDeadline(Date.now() + deps.writeBudgetMs, () => source.getApproval(decided)).then(
        (live) => ({ live }),
        (error: unknown) => {
            deps.log.warn('decide.reread_failed', { approvalId: decided.id, error: errorMessage(error) });
            return undefined;
        },
    );
    if (!read) return decided.approvers.length > 1 ? { kind: 'unknown' } : { kind: 'complete' };
    const { live } = read;
    if (!live || live.completedState || live.inFlight || live.approvers.length === 0) return { kind: 'complete' };
    if (isHandedOn({ sourceStep: decided.step, approverKey: approverKey(decided) }, live)) return { kind: 'next-step', live };
    // The same approvers at the same step: the read does not show the decision yet, which the source took.
    return approverKey(live) === approverKey(decided) ? { kind: 'complete' } : { kind: 'same-step', live };
}
