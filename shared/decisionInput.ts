import { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { DecisionRequest } from './approvals/decide';
import { Config } from './config';
import { normalizeEmail } from './email';
import { badRequest, notFound } from './errors';
import { Decision } from './model';

/**
 * An approve/reject request -> a typed DecisionRequest. Takes the JSON body `{ approverEmail, comment }`,
 * or the guide's query form (`user_email`, `reason`) so a Creator Studio action built from the guide keeps
 * working. The body wins when both are given.
 */

const MAX_BODY_CHARACTERS = 64 * 1024;
/** Ids that can name an approval of any source; anything else was never notified. */
const APPROVAL_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const body = z.object({
    approverEmail: z.string({ error: 'approverEmail must be a string' }).optional(),
    comment: z.string({ error: 'comment must be a string' }).nullish(),
});

export async function parseDecisionInput(request: HttpRequest, decision: Decision, limits: Config['decisions']): Promise<DecisionRequest> {
    const approvalId = request.params.approvalId ?? '';
    if (!APPROVAL_ID.test(approvalId)) throw notFound('not_found', 'This app never sent a notification for this approval.');

    const text = await request.text();
    if (text.length > MAX_BODY_CHARACTERS) throw badRequest('invalid_request', 'The request body is too large.');
    let fromBody: z.infer<typeof body> = {};
    if (text.trim() !== '') {
        let json: unknown;
        try {
            json = JSON.parse(text);
        } catch {
            throw badRequest('invalid_json', 'The request body is not valid JSON.');
        }
        const parsed = body.safeParse(json);
        if (!parsed.success) throw badRequest('invalid_request', parsed.error.issues.map((issue) => issue.message).join('; '));
        fromBody = parsed.data;
    }

    const givenEmail = fromBody.approverEmail ?? request.query.get('user_email') ?? undefined;
    if (givenEmail === undefined || givenEmail.trim() === '') throw badRequest('missing_email', 'approverEmail is required.');
    const approverEmail = normalizeEmail(givenEmail);
    if (!approverEmail) throw badRequest('invalid_email', 'approverEmail is not a valid email address.');

    const comment = (fromBody.comment ?? request.query.get('reason') ?? '').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
    if (comment.length > limits.maxCommentLength) {
        throw badRequest('comment_too_long', `The comment is longer than ${limits.maxCommentLength} characters.`);
    }
    if (decision === 'reject' && limits.requireRejectReason && comment === '') {
        throw badRequest('reason_required', 'A reason is required to reject.');
    }
    return { approvalId, decision, approverEmail, comment: comment === '' ? undefined : comment };
}
