import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/api/actionFunction';
import { parseDecisionInput } from '../shared/api/actionInput';

export async function approveApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, 'approve', (input, limits, signedEmail) => parseDecisionInput(input, 'approve', limits, signedEmail), (approvals, input) => approvals.decide(input));
}

app.http('approveApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/approve',
    handler: approveApproval,
});
