import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { isAcceptableApprovalId } from '../approvalId';
import { App, getApp } from '../app';
import { Config } from '../config';
import { ActionResult, AuditEntry } from '../contract';
import { Caller, CallerRefused } from '../callers/callerAuth';
import { AppError } from '../platform/errors';
import { toErrorAnswer } from './httpAnswers';
import { errorMessage, jsonLogger } from '../platform/log';

/** What every action request carries, once parsed. */
export interface ActionInput {
    approvalId: string;
    approverEmail: string;
    comment?: string;
    reassignToEmail?: string;
}

/**
 * The shared body of the action functions: parse, run the action on the app, answer 200 or the error's
 * shape, and write the attempt, allowed or refused, to the audit table.
 */
export async function answerAction<Input extends ActionInput>(
    request: HttpRequest,
    context: InvocationContext,
    action: AuditEntry['action'],
    /** `signedEmail`: who acts, from the verified caller token, when CALLER_USER_EMAIL_CLAIM is set. */
    parse: (request: HttpRequest, limits: Config['decisions'], signedEmail?: string) => Promise<Input>,
    run: (app: App, input: Input) => Promise<ActionResult>,
): Promise<HttpResponseInit> {
    const log = jsonLogger(context, { invocationId: context.invocationId });
    let app: App | undefined;
    let input: Input | undefined;
    let answer: HttpResponseInit;
    let result: string;
    let source: AuditEntry['source'];
    let caller: Caller | undefined;
    let done: ActionResult | undefined;
    try {
        app = getApp();
        caller = await app.authenticate(request.headers.get('authorization'));
        input = await parse(request, app.config.decisions, caller?.email);
        done = await run(app, input);
        answer = { status: 200, jsonBody: done };
        result = done.status;
        source = done.source;
    } catch (error) {
        answer = toErrorAnswer(error, log);
        result = error instanceof AppError ? error.code : 'internal_error';
        // A token refused for its client or role still says who was refused.
        if (error instanceof CallerRefused) caller = error.caller;
    }
    if (app) {
        const approvalId = (input?.approvalId ?? request.params.approvalId ?? '').slice(0, 128);
        // A refused action does not say its source; the table does, when the app notified the approval.
        source ??= isAcceptableApprovalId(approvalId) ? await app.sourceOf(approvalId).catch(() => undefined) : undefined;
        // A refused attempt records the credential too: ISC's own refusal of the approver's token is evidence as well.
        const actedAs = source && input ? await actedAsFor(app, source, input.approverEmail) : {};
        const entry: AuditEntry = {
            at: Date.now(),
            requestId: context.invocationId,
            action,
            approvalId,
            ...(source ? { source } : {}),
            // On an approver_mismatch the signed email is who asked; the request's other email is not recorded as the approver.
            approverEmail: (input?.approverEmail ?? caller?.email ?? request.query.get('user_email') ?? '(not given)').slice(0, 254),
            status: answer.status ?? 200,
            result,
            ...(input?.comment ? { comment: input.comment } : {}),
            ...(input?.reassignToEmail ? { reassignToEmail: input.reassignToEmail } : {}),
            ...(caller?.subject ? { callerSubject: caller.subject.slice(0, 256) } : {}),
            ...(caller?.clientId ? { callerClientId: caller.clientId.slice(0, 256) } : {}),
            ...(caller ? { approverFromClaim: caller.email !== undefined } : {}),
            ...actedAs,
            ...(done?.recommendation ? { recommendation: done.recommendation } : {}),
        };
        await app.audit.append(entry).catch((error: unknown) => log.error('audit.not_written', { approvalId: entry.approvalId, error: errorMessage(error) }));
    }
    return answer;
}

/** Whose credential the source saw or would see: with ISC_DECIDE_AS=user an ISC write is the approver's own, as their connection's identity. */
async function actedAsFor(app: App, source: AuditEntry['source'], email: string): Promise<Pick<AuditEntry, 'actedAs' | 'actedAsIdentityId'>> {
    if (source !== 'isc' || !app.connections) return { actedAs: 'service' };
    const { identityId } = await app.connections.status(email).catch(() => ({ identityId: undefined }));
    return { actedAs: 'user', ...(identityId ? { actedAsIdentityId: identityId } : {}) };
}
