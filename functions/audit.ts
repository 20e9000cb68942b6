import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { toErrorAnswer } from '../shared/api/httpAnswers';
import { jsonLogger } from '../shared/platform/log';
import { parseAuditQuery } from '../shared/api/queryInput';

export async function audit(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    try {
        return { status: 200, jsonBody: await getApp().audit.page(parseAuditQuery(request)) };
    } catch (error) {
        return toErrorAnswer(error, jsonLogger(context));
    }
}

app.http('audit', {
    methods: ['GET'],
    authLevel: 'admin',
    route: 'audit',
    handler: audit,
});
