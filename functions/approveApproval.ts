import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/actionFunction';
import { parseDecisionInput } from '../shared/actionInput';

export async function approveApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, 'approve', (input, limits) => parseDecisionInput(input, 'approve', limits), (approvals, input) => approvals.decide(input));
}

app.http('approveApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/approve',
    handler: approveApproval,
});
