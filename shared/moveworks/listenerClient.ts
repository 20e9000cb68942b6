import { createHmac } from 'node:crypto';
import { MoveworksDelivery } from '../config';
import { HttpClient } from '../platform/http';
import { Logger } from '../platform/log';
import { Pacer } from '../platform/pacer';
import type { Notice, Notifier, SendOutcome } from './notifier';
import { isUnavailable, PacedTarget, pacedPost } from './pacedPost';

/** Moveworks takes listener payloads of at most 1 MB; read as 1,000,000 bytes, the smaller of its two meanings. */
const MAX_LISTENER_PAYLOAD_BYTES = 1_000_000;
/**
 * Recipients one POST names, as the Events API takes them: each becomes one `notify` of the plugin's loop,
 * whose limits Moveworks does not document. A notice still over 1 MB is split by halves.
 */
const MAX_RECIPIENTS_PER_POST = 500;

/**
 * An Agent Studio webhook listener (MOVEWORKS_DELIVERY=listener): one JSON POST per notice, with the
 * listener's API key as `Authorization: Bearer`, an HMAC-SHA256 signature of the raw body when a signing
 * secret is set, paced to MOVEWORKS_LISTENER_MAX_PER_SECOND. The listener's plugin decides how to show it.
 */
export class ListenerClient implements Notifier {
    readonly maxRecipients = MAX_RECIPIENTS_PER_POST;
    readonly sendsSummary = true;
    private readonly target: PacedTarget;

    constructor(
        private readonly listener: Extract<MoveworksDelivery, { kind: 'listener' }>,
        http: HttpClient,
        pacer: Pacer,
        private readonly log: Logger,
        private readonly now: () => number = Date.now,
    ) {
        // A listener's limit is per second: a 429 without Retry-After waits one.
        this.target = { system: 'Moveworks listener', http, pacer, now, defaultPauseMs: 1_000 };
    }

    async send(notice: Notice, deadline: number): Promise<SendOutcome> {
        const body = JSON.stringify(toListenerPayload(notice, this.now()));
        if (Buffer.byteLength(body) > MAX_LISTENER_PAYLOAD_BYTES) return { kind: 'too-large', reason: 'the notice is over the listener limit of 1 MB' };
        const headers = listenerHeaders(this.listener, body);
        const answer = await pacedPost(this.target, { url: this.listener.url, body, headers }, deadline, (pauseMs, attempt) =>
            this.log.warn('moveworks.listener_rate_limited', { approvalId: notice.approvalId, pauseMs, attempt }),
        );
        if ('kind' in answer) return answer;
        if (answer.status >= 200 && answer.status < 300) return { kind: 'sent' };
        if (answer.status === 413) return { kind: 'too-large', reason: 'the listener answered 413' };
        if (isUnavailable(answer)) return { kind: 'later', cause: 'unavailable', reason: `the Moveworks listener is unavailable (${answer.status || 'no response'})` };
        if (answer.status === 401 || answer.status === 403) {
            const what = this.listener.signingSecret ? 'MOVEWORKS_LISTENER_KEY, and MOVEWORKS_LISTENER_SIGNING_SECRET with its header' : 'MOVEWORKS_LISTENER_KEY';
            return { kind: 'failed', scope: 'every-message', reason: `the Moveworks listener refused the request (${answer.status}): check ${what}` };
        }
        if (answer.status === 404) return { kind: 'failed', scope: 'every-message', reason: 'nothing answers at MOVEWORKS_LISTENER_URL (404): check the listener\'s webhook URL' };
        // Every notice has the same shape, so a listener that cannot take one (a payload schema, a parse
        // error) takes none: the rest wait for the fix instead of being sent again, poll after poll.
        return { kind: 'failed', scope: 'every-message', reason: `the Moveworks listener refused the notice (${answer.status}): check the listener's payload settings` };
    }
}

/** What every POST to the listener carries: its key as Bearer, and the HMAC-SHA256 of the raw body, in hex, when a signing secret is set. */
export function listenerHeaders(listener: Extract<MoveworksDelivery, { kind: 'listener' }>, body: string): Record<string, string> {
    const headers: Record<string, string> = { Authorization: `Bearer ${listener.key}`, 'Content-Type': 'application/json', Accept: 'application/json' };
    if (listener.signingSecret) headers[listener.signatureHeader] = createHmac('sha256', listener.signingSecret).update(body, 'utf8').digest('hex');
    return headers;
}

/** The listener's JSON: what the trigger filters on (`type`), whom to notify, the message, and the approval in fields. */
export function toListenerPayload(notice: Notice, sentAt: number) {
    return {
        type: notice.type,
        approvalId: notice.approvalId,
        source: notice.source,
        ...(notice.kind ? { kind: notice.kind } : {}),
        recipients: notice.recipients,
        message: notice.message,
        ...(notice.summary ? { summary: notice.summary } : {}),
        sentAt: new Date(sentAt).toISOString(),
    };
}
