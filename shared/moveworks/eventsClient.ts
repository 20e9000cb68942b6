import { z } from 'zod';
import { MoveworksDelivery } from '../config';
import { HttpClient, parseJsonBody } from '../platform/http';
import { Logger } from '../platform/log';
import { Pacer } from '../platform/pacer';
import type { Notice, Notifier, SendOutcome } from './notifier';
import { isUnavailable, PacedTarget, pacedPost } from './pacedPost';

/** Recipients per Events API request (the API's maximum). */
const MAX_RECIPIENTS_PER_MESSAGE = 500;
const moveworksErrorBody = z.object({ error: z.object({ code: z.string().optional(), message: z.string().optional() }) });

/**
 * Moveworks documents no error code for an unknown recipient (the simulator answers "One or more recipients
 * could not be found"); a 4xx whose code or message names recipients is taken as one. Unverified against a
 * real organisation, so anything else is treated as a fault of the request, never of the people in it.
 */
const ABOUT_RECIPIENTS = /recipient|user|employee|email/i;

/** Moveworks Events API: `POST /rest/v1/events/{id}/messages/send`, paced to the organisation's limit. */
export class EventsClient implements Notifier {
    readonly maxRecipients = MAX_RECIPIENTS_PER_MESSAGE;
    readonly sendsSummary = false;
    private readonly url: string;
    private readonly target: PacedTarget;

    constructor(
        baseUrl: string,
        private readonly event: Extract<MoveworksDelivery, { kind: 'events' }>,
        http: HttpClient,
        pacer: Pacer,
        private readonly log: Logger,
        now: () => number = Date.now,
    ) {
        this.url = `${baseUrl}/rest/v1/events/${encodeURIComponent(event.eventId)}/messages/send`;
        // Moveworks recommends waiting 60 s after a 429.
        this.target = { system: 'Moveworks', http, pacer, now, defaultPauseMs: 60_000 };
    }

    /** The notice's message to its recipients, with the approval id as the event's slot; the type and summary are the listener's. */
    async send({ message, recipients, approvalId }: Notice, deadline: number): Promise<SendOutcome> {
        const body = JSON.stringify({ message, recipients, context: { slots: { approval_id: approvalId } } });
        const headers = { Authorization: `Bearer ${this.event.apiKey}`, 'Content-Type': 'application/json', Accept: 'application/json' };
        const answer = await pacedPost(this.target, { url: this.url, body, headers }, deadline, (pauseMs, attempt) =>
            this.log.warn('moveworks.rate_limited', { approvalId, pauseMs, attempt }),
        );
        if ('kind' in answer) return answer;
        if (answer.status >= 200 && answer.status < 300) return { kind: 'sent' };
        if (isUnavailable(answer)) return { kind: 'later', cause: 'unavailable', reason: `Moveworks unavailable (${answer.status || 'no response'})` };
        return toRefusal(answer.status, moveworksError(answer.body));
    }
}

function toRefusal(status: number, { code = 'unknown error', message }: { code?: string; message: string }): SendOutcome {
    const said = `${status} ${code}`;
    if (status === 401 || status === 403) {
        return { kind: 'failed', scope: 'every-message', reason: `Moveworks refused the API key (${said}): check MOVEWORKS_API_KEY and MOVEWORKS_BASE_URL` };
    }
    if (/EVENT/i.test(code) || status === 404) {
        return { kind: 'failed', scope: 'every-message', reason: `Moveworks does not know the event (${said}): check MOVEWORKS_EVENT_ID and that the event is published` };
    }
    if (ABOUT_RECIPIENTS.test(`${code} ${message}`)) return { kind: 'refused', reason: `Moveworks refused the recipients (${said}: ${message})` };
    return { kind: 'failed', scope: 'this-message', reason: `Moveworks refused the message (${said}: ${message})` };
}

/** Moveworks' error body (`{error: {code, message}}`), cut to lengths a log line or a check's cause can quote. */
export function moveworksError(body: string): { code?: string; message: string } {
    const parsed = moveworksErrorBody.safeParse(parseJsonBody(body));
    const error = parsed.success ? parsed.data.error : undefined;
    return { code: error?.code?.slice(0, 80), message: (error?.message ?? '').slice(0, 200) };
}
