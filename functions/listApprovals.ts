import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { toErrorAnswer } from '../shared/api/httpAnswers';
import { jsonLogger } from '../shared/platform/log';
import { parsePendingQuery } from '../shared/api/queryInput';

export async function listApprovals(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    try {
        const app = getApp();
        const caller = await app.authenticate(request.headers.get('authorization'));
        const { approverEmail, limit, offset } = parsePendingQuery(request, caller?.email);
        return { status: 200, jsonBody: await app.pendingFor(approverEmail, limit, offset) };
    } catch (error) {
        return toErrorAnswer(error, jsonLogger(context));
    }
}

app.http('listApprovals', {
    methods: ['GET'],
    authLevel: 'function',
    route: 'approvals',
    handler: listApprovals,
});
