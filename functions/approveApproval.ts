import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/actionFunction';
import { parseDecisionInput } from '../shared/actionInput';

export async function approveApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, async (approvals, input) => approvals.decide(await parseDecisionInput(input, 'approve', approvals.config.decisions)));
}

app.http('approveApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/approve',
    handler: approveApproval,
});
