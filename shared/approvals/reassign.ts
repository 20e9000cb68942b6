import { AppError, badRequest } from '../platform/errors';
import { ActionDependencies, authorize, checkAndClaim, findNotified, notSupported, release, viaSource, withinAction, withinClaim } from './authorize';
import { ActionResult } from '../contract';

/**
 * Hands an approver's part of a pending approval to another person. The row is claimed while ISC acts so
 * a decision cannot cross it; the next poll sees the new approver and notifies them.
 */

export interface ReassignRequest {
    approvalId: string;
    approverEmail: string;
    reassignToEmail: string;
    comment?: string;
}

export async function reassign(deps: ActionDependencies, request: ReassignRequest): Promise<ActionResult> {
    const { source, record, person, target, handOver, approval, claimed } = await withinAction(deps, () => checkAndClaim(deps, () => checkReassign(deps, request)));
    try {
        await withinClaim(deps, () => viaSource(deps.log, record.id, () => handOver(approval, person, target, request.comment)));
    } catch (error) {
        await release(deps, claimed, error);
        throw error;
    }
    await release(deps, claimed);
    deps.log.info('reassign.done', { source: source.name, approvalId: record.id, approverId: person.id, targetId: target.id });
    return { status: 'reassigned', approvalId: record.id, source: source.name, message: `The request now waits for ${target.name}.` };
}

async function checkReassign(deps: ActionDependencies, request: ReassignRequest) {
    const found = await findNotified(deps, request.approvalId);
    const handOver = found.source.reassign?.bind(found.source);
    if (!handOver) throw notSupported(found.source, 'reassign (forward) an approval');
    const { source, record, person, approval } = await authorize(deps, found, request.approverEmail, { deciding: true });
    const target = await viaSource(deps.log, record.id, () => source.findPersonByEmail(request.reassignToEmail)).catch((error: unknown) => {
        if (error instanceof AppError && error.status === 403) {
            throw badRequest('invalid_reassign_target', `${request.reassignToEmail} must match exactly one identity: ${error.message}`);
        }
        throw error;
    });
    if (target.id === person.id) throw badRequest('invalid_reassign_target', 'Reassign to someone other than yourself.');
    // Handing the approval to the person it is for, or to the one who asked, would route around the self-approval rule.
    if (!deps.allowSelfApproval && target.id === approval.requestee?.id) {
        throw badRequest('invalid_reassign_target', `${target.name} is the person this access is for, so they cannot approve it.`);
    }
    if (!deps.allowSelfApproval && target.id === approval.requester?.id) {
        throw badRequest('invalid_reassign_target', `${target.name} asked for this access, so they cannot approve it.`);
    }
    return { source, record, person, target, handOver, approval };
}
