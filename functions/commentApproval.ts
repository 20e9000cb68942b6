import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/actionFunction';
import { parseCommentInput } from '../shared/actionInput';

export async function commentApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, async (approvals, input) => approvals.comment(await parseCommentInput(input, approvals.config.decisions)));
}

app.http('commentApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/comment',
    handler: commentApproval,
});
