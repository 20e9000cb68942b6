import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getApp } from './app';
import { parseDecisionInput } from './decisionInput';
import { toErrorAnswer } from './httpAnswers';
import { jsonLogger } from './log';
import { Decision } from './model';

/** The shared body of the approve and reject functions: parse, decide, answer. */
export async function answerDecision(request: HttpRequest, context: InvocationContext, decision: Decision): Promise<HttpResponseInit> {
    try {
        const app = getApp();
        const input = await parseDecisionInput(request, decision, app.config.decisions);
        return { status: 200, jsonBody: await app.decide(input) };
    } catch (error) {
        return toErrorAnswer(error, jsonLogger(context, { invocationId: context.invocationId }));
    }
}
