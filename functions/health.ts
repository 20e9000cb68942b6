import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { toErrorAnswer } from '../shared/httpAnswers';
import { jsonLogger } from '../shared/log';

export async function health(_request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    try {
        return { status: 200, jsonBody: getApp().health() };
    } catch (error) {
        return toErrorAnswer(error, jsonLogger(context));
    }
}

app.http('health', {
    methods: ['GET'],
    authLevel: 'anonymous',
    route: 'health',
    handler: health,
});
