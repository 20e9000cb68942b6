import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { App, getApp } from './app';
import { ActionResult } from './approvals/decide';
import { toErrorAnswer } from './httpAnswers';
import { jsonLogger } from './log';

/** The shared body of the action functions: run the action on the app, answer 200 or the error's shape. */
export async function answerAction(
    request: HttpRequest,
    context: InvocationContext,
    act: (app: App, request: HttpRequest) => Promise<ActionResult>,
): Promise<HttpResponseInit> {
    try {
        return { status: 200, jsonBody: await act(getApp(), request) };
    } catch (error) {
        return toErrorAnswer(error, jsonLogger(context, { invocationId: context.invocationId }));
    }
}
