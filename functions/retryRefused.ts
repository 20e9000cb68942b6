import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { parseRetryRefusedInput } from '../shared/api/actionInput';
import { getApp } from '../shared/app';
import { toErrorAnswer } from '../shared/api/httpAnswers';
import { jsonLogger } from '../shared/platform/log';

export async function retryRefused(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    try {
        return { status: 200, jsonBody: await getApp().retryRefused(await parseRetryRefusedInput(request)) };
    } catch (error) {
        return toErrorAnswer(error, jsonLogger(context));
    }
}

app.http('retryRefused', {
    methods: ['POST'],
    authLevel: 'admin',
    route: 'refused/retry',
    handler: retryRefused,
});
