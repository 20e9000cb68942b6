import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { isAcceptableApprovalId } from '../approvalId';
import { App, getApp } from '../app';
import { Config } from '../config';
import { ActionResult, AuditEntry } from '../contract';
import { Caller, CallerRefused } from '../callers/callerAuth';
import { AppError } from '../platform/errors';
import { toActionAnswer } from './httpAnswers';
import { idempotencyKeyOf, idempotently } from './idempotency';
import { errorMessage, jsonLogger } from '../platform/log';

/** What every action request carries, once parsed. */
export interface ActionInput {
    approvalId: string;
    approverEmail: string;
    comment?: string;
    reassignToEmail?: string;
}

/**
 * The shared body of the action functions: authenticate, parse, run the action on the app once per
 * Idempotency-Key (see idempotency.ts), answer 200 or the error's shape (or, with ACTION_REFUSALS_AS=body,
 * a refusal as 200 `{ outcome, message }`), and write the attempt, allowed, refused or replayed, to the audit table.
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
    let caller: Caller | undefined;
    let done: ActionResult | undefined;
    let failure: unknown;
    let replayed = false;
    try {
        app = getApp();
        const acting = app;
        caller = await acting.authenticate(request.headers.get('authorization'));
        // A key is touched only once the caller is authenticated and the request parsed: neither can poison nor read one.
        const key = idempotencyKeyOf(request);
        input = await parse(request, acting.config.decisions, caller?.email);
        const parsed = input;
        const keyed = { route: action, approvalId: parsed.approvalId, approverEmail: parsed.approverEmail };
        ({ answer, replayed } = await idempotently(acting, key, keyed, log, async () => {
            try {
                done = await run(acting, parsed);
                return { status: 200, jsonBody: done };
            } catch (error) {
                failure = error;
                return toActionAnswer(error, acting.config.refusalsAs, log);
            }
        }));
    } catch (error) {
        failure = error;
        answer = toActionAnswer(error, app?.config.refusalsAs, log);
        // A token refused for its client or role still says who was refused.
        if (error instanceof CallerRefused) caller = error.caller;
    }
    const result = replayed ? 'replayed' : done ? done.status : failure instanceof AppError ? failure.code : 'internal_error';
    let source: AuditEntry['source'] = done?.source;
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
