import { ActionDependencies, authorize, findNotified, notSupported, viaSource, withinAction } from './authorize';
import { ActionResult } from '../contract';

/** Adds a comment to a pending approval as one of its approvers, without deciding it. */

export interface CommentRequest {
    approvalId: string;
    approverEmail: string;
    comment: string;
}

export function comment(deps: ActionDependencies, request: CommentRequest): Promise<ActionResult> {
    return withinAction(deps, () => addComment(deps, request));
}

async function addComment(deps: ActionDependencies, request: CommentRequest): Promise<ActionResult> {
    const found = await findNotified(deps, request.approvalId);
    const write = found.source.comment?.bind(found.source);
    // Answered before any look-up: no live read can make a comment possible.
    if (!write || found.source.canComment?.(found.record) === false) {
        throw notSupported(found.source, 'add a comment to this approval without deciding it; add it when you approve or reject');
    }
    const { source, record, person, approval } = await authorize(deps, found, request.approverEmail, { deciding: false });
    await viaSource(deps.log, record.id, () => write(approval, person, request.comment));
    deps.log.info('comment.done', { source: source.name, approvalId: record.id, approverId: person.id });
    return { status: 'commented', approvalId: record.id, source: source.name, message: 'Your comment was added to the request.' };
}
