import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/api/actionFunction';
import { parseCommentInput } from '../shared/api/actionInput';

export async function commentApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, 'comment', parseCommentInput, (approvals, input) => approvals.comment(input));
}

app.http('commentApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/comment',
    handler: commentApproval,
});
