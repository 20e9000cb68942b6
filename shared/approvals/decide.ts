import { ActionResult } from '../contract';
import { AppError } from '../errors';
import { errorMessage } from '../log';
import { Approval, ApprovalSource, approverKey, Decision } from '../model';
import { movesOnSentence, outcomeSentence } from '../moveworks/message';
import { reopened } from './records';
import { ActionDependencies, authorize, Authorized, claim, findNotified, release, viaSource, withinClaim } from './authorize';

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
    const { source, record, person, approval } = await authorize(deps, await findNotified(deps, request.approvalId), request.approverEmail, { deciding: true });
    const claimed = await claim(deps, record);
    return withinClaim(deps, () => decideClaimed(deps, request, { source, record: claimed, person, approval }));
}

async function decideClaimed(deps: ActionDependencies, request: DecisionRequest, { source, record, person, approval }: Authorized): Promise<ActionResult> {
    const now = deps.now ?? Date.now;
    try {
        await viaSource(deps.log, record.id, () => source.decide(approval, person, request.decision, request.comment));
    } catch (error) {
        await release(deps, record, error);
        deps.log.warn('decide.failed', { approvalId: record.id, decision: request.decision, code: error instanceof AppError ? error.code : 'unknown' });
        throw error;
    }

    const status = request.decision === 'approve' ? 'approved' : 'rejected';
    const next = request.decision === 'approve' && source.stepsAfterDecision ? await nextStep(deps, source, approval) : undefined;
    if (next) {
        // The decision is made: a failed look-up leaves the recipients empty, and the next poll fills them in.
        const recipients = await source.recipientsFor([next]).then(
            (byId) => byId.get(next.id) ?? [],
            (error: unknown) => {
                deps.log.warn('decide.next_step_lookup_failed', { approvalId: record.id, error: errorMessage(error) });
                return [];
            },
        );
        const saved = await deps.store.modify(record, (latest) => reopened(latest, next, recipients, now(), { nextStep: true }));
        if (!saved) deps.log.error('decide.next_step_not_recorded', { approvalId: record.id });
        deps.log.info('decide.done', { source: source.name, approvalId: record.id, decision: request.decision, approverId: person.id, nextStep: approverKey(next) });
        return { status, approvalId: record.id, source: source.name, message: movesOnSentence(approval, next) };
    }

    const decidedAt = now();
    const saved = await deps.store.modify(record, (latest) => ({
        ...latest,
        status: 'decided',
        decision: request.decision,
        decidedBy: request.approverEmail,
        decidedAt,
        decidingSince: undefined,
        updatedAt: decidedAt,
    }));
    if (!saved) deps.log.error('decide.not_recorded', { approvalId: record.id, decision: request.decision });
    deps.log.info('decide.done', { source: source.name, approvalId: record.id, decision: request.decision, approverId: person.id });
    await deps.announce?.(source, approval, request.decision, person, request.comment);
    return { status, approvalId: record.id, source: source.name, message: outcomeSentence(approval, request.decision) };
}

/**
 * A serial approval keeps its id and stays pending while it moves to the next step's approvers. Read it
 * again after the decision: still pending for other approvers means it moves on. A failed read is left to
 * the next poll, which reopens a decided row the source still lists for other approvers.
 */
async function nextStep(deps: ActionDependencies, source: ApprovalSource, decided: Approval): Promise<Approval | undefined> {
    const live = await source.getApproval(decided.id).catch((error: unknown) => {
        deps.log.warn('decide.reread_failed', { approvalId: decided.id, error: errorMessage(error) });
        return undefined;
    });
    if (!live || live.completedState || live.approvers.length === 0 || approverKey(live) === approverKey(decided)) return undefined;
    return live;
}
