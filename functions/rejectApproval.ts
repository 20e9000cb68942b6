import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/api/actionFunction';
import { parseDecisionInput } from '../shared/api/actionInput';

export async function rejectApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, 'reject', (input, limits, signedEmail) => parseDecisionInput(input, 'reject', limits, signedEmail), (approvals, input) => approvals.decide(input));
}

app.http('rejectApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/reject',
    handler: rejectApproval,
});
