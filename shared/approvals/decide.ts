import { ActionResult } from '../contract';
import { AppError } from '../errors';
import { Decision } from '../model';
import { outcomeSentence } from '../moveworks/message';
import { ActionDependencies, authorize, claim, findNotified, release, viaSource } from './authorize';

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
    const now = deps.now ?? Date.now;
    const { source, record, person, approval } = await authorize(deps, await findNotified(deps, request.approvalId), request.approverEmail, { deciding: true });
    const claimed = await claim(deps, record);
    try {
        await viaSource(deps.log, record.id, () => source.decide(approval, person, request.decision, request.comment));
    } catch (error) {
        await release(deps, claimed, error);
        deps.log.warn('decide.failed', { approvalId: record.id, decision: request.decision, code: error instanceof AppError ? error.code : 'unknown' });
        throw error;
    }

    const decidedAt = now();
    const saved = await deps.store.modify(claimed, (latest) => ({
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
    return { status: request.decision === 'approve' ? 'approved' : 'rejected', approvalId: record.id, source: source.name, message: outcomeSentence(approval, request.decision) };
}
