import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/actionFunction';
import { parseCommentInput } from '../shared/actionInput';

export async function commentApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, 'comment', parseCommentInput, (approvals, input) => approvals.comment(input));
}

app.http('commentApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/comment',
    handler: commentApproval,
});
