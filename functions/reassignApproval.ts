import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerAction } from '../shared/actionFunction';
import { parseReassignInput } from '../shared/actionInput';

export async function reassignApproval(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerAction(request, context, async (approvals, input) => approvals.reassign(await parseReassignInput(input, approvals.config.decisions)));
}

app.http('reassignApproval', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'approvals/{approvalId}/reassign',
    handler: reassignApproval,
});
