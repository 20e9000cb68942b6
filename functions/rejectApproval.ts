import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerDecision } from '../shared/decisionFunction';

export async function rejectApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerDecision(request, context, 'reject');
}

app.http('rejectApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/reject',
    handler: rejectApproval,
});
