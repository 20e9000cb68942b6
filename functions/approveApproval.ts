import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerDecision } from '../shared/decisionFunction';

export async function approveApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerDecision(request, context, 'approve');
}

app.http('approveApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/approve',
    handler: approveApproval,
});
