import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/api/actionFunction';
import { parseReassignInput } from '../shared/api/actionInput';

export async function reassignApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, 'reassign', parseReassignInput, (approvals, input) => approvals.reassign(input));
}

app.http('reassignApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/reassign',
    handler: reassignApproval,
});
