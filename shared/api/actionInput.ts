import { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { CommentRequest } from '../approvals/comment';
import { DecisionRequest } from '../approvals/decide';
import { ReassignRequest } from '../approvals/reassign';
import { Config } from '../config';
import { actionBody, connectionBody, retryRefusedBody } from '../contract';
import { isAcceptableApprovalId } from '../approvalId';
import { actingEmail, normalizeEmail, requiredEmail } from '../platform/email';
import { AppError, badRequest, notFound } from '../platform/errors';
import { Decision } from '../model';
import { truncate } from '../platform/text';

/**
 * Action requests -> typed requests. Takes the JSON body `{ approverEmail, comment, reassignToEmail }`, or
 * the guide's query form (`user_email`, `reason`) so a Creator Studio action built from the guide keeps
 * working. The body wins when both are given.
 */

const MAX_BODY_CHARACTERS = 64 * 1024;

interface CommonInput {
    approvalId: string;
    approverEmail: string;
    comment?: string;
    reassignToEmail?: string;
}

/** The JSON body, parsed with `schema`; an empty body is an empty object. A body must say it is JSON. */
async function parseBody<Schema extends z.ZodType<object>>(request: HttpRequest, schema: Schema): Promise<z.infer<Schema>> {
    const text = await request.text();
    // A cross-site form can send text/plain without a preflight; only a page allowed by CORS can send JSON.
    if (text.trim() !== '' && !/^application\/json\s*(;|$)/i.test(request.headers.get('content-type') ?? '')) {
        throw new AppError(415, 'unsupported_media_type', 'Send the body as JSON, with Content-Type: application/json.');
    }
    if (text.length > MAX_BODY_CHARACTERS) throw badRequest('invalid_request', 'The request body is too large.');
    let json: unknown = {};
    if (text.trim() !== '') {
        try {
            json = JSON.parse(text);
        } catch {
            throw badRequest('invalid_json', 'The request body is not valid JSON.');
        }
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw badRequest('invalid_request', parsed.error.issues.map((issue) => issue.message).join('; '));
    return parsed.data;
}

/**
 * `longComment`: a decision or comment longer than MAX_COMMENT_LENGTH is refused, since it is what the
 * approver means to record; a reassignment's note is only a courtesy, so it is cut instead.
 */
async function parseCommon(request: HttpRequest, limits: Config['decisions'], signedEmail: string | undefined, longComment: 'refuse' | 'cut' = 'refuse'): Promise<CommonInput> {
    const approvalId = request.params.approvalId ?? '';
    if (!isAcceptableApprovalId(approvalId)) throw notFound('not_found', 'This app never sent a notification for this approval.');

    const body = await parseBody(request, actionBody);

    const queryEmail = request.query.get('user_email') ?? undefined;
    // With a signed email, every email the request names must be that person's, the query's as well as the body's.
    if (signedEmail) actingEmail(queryEmail, signedEmail, 'user_email');
    const approverEmail = actingEmail(body.approverEmail ?? queryEmail, signedEmail, 'approverEmail');
    let comment = (body.comment ?? request.query.get('reason') ?? '').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
    if (comment.length > limits.maxCommentLength) {
        if (longComment === 'refuse') throw badRequest('comment_too_long', `The comment is longer than ${limits.maxCommentLength} characters.`);
        comment = truncate(comment, limits.maxCommentLength);
    }
    return { approvalId, approverEmail, comment: comment === '' ? undefined : comment, reassignToEmail: body.reassignToEmail };
}

export async function parseDecisionInput(request: HttpRequest, decision: Decision, limits: Config['decisions'], signedEmail?: string): Promise<DecisionRequest> {
    const { approvalId, approverEmail, comment } = await parseCommon(request, limits, signedEmail);
    if (decision === 'reject' && limits.requireRejectReason && !comment) throw badRequest('reason_required', 'A reason is required to reject.');
    return { approvalId, decision, approverEmail, comment };
}

export async function parseCommentInput(request: HttpRequest, limits: Config['decisions'], signedEmail?: string): Promise<CommentRequest> {
    const { approvalId, approverEmail, comment } = await parseCommon(request, limits, signedEmail);
    if (!comment) throw badRequest('comment_required', 'comment is required.');
    return { approvalId, approverEmail, comment };
}

export async function parseReassignInput(request: HttpRequest, limits: Config['decisions'], signedEmail?: string): Promise<ReassignRequest> {
    const { approvalId, approverEmail, comment, reassignToEmail } = await parseCommon(request, limits, signedEmail, 'cut');
    const target = requiredEmail(reassignToEmail, 'reassignToEmail', { missing: 'missing_reassign_email', invalid: 'invalid_reassign_email' });
    if (target === approverEmail) throw badRequest('invalid_reassign_target', 'Reassign to someone other than yourself.');
    return { approvalId, approverEmail, reassignToEmail: target, comment };
}

/** Which refused recipients to send to again: one approval's, one person's, both narrowed, or all when neither. */
export async function parseRetryRefusedInput(request: HttpRequest): Promise<{ approvalId?: string; email?: string }> {
    const body = await parseBody(request, retryRefusedBody);
    if (body.approvalId !== undefined && !isAcceptableApprovalId(body.approvalId)) throw badRequest('invalid_request', 'approvalId is not an approval id.');
    const email = body.email === undefined ? undefined : normalizeEmail(body.email);
    if (body.email !== undefined && !email) throw badRequest('invalid_email', 'email is not a valid email address.');
    return { approvalId: body.approvalId, email };
}

/** `{ approverEmail }` of a connection route; the signed email wins, as for the actions. */
export async function parseConnectionInput(request: HttpRequest, signedEmail?: string): Promise<string> {
    const body = await parseBody(request, connectionBody);
    return actingEmail(body.approverEmail, signedEmail, 'approverEmail');
}
