import { Config } from '../config';
import { HttpClient, retryAfterMs } from '../http';
import { Logger } from '../log';
import { Pacer } from '../pacer';

/** Recipients per Events API request (the API's maximum). */
export const MAX_RECIPIENTS_PER_MESSAGE = 500;
const DEFAULT_RATE_LIMIT_PAUSE_MS = 60_000;
const MAX_ATTEMPTS = 3;

export type SendOutcome =
    | { kind: 'sent' }
    /** Not sent now (rate limit, outage, deadline); the caller keeps it for the next poll. */
    | { kind: 'later'; reason: string }
    /** Moveworks refused the message itself; sending it again would fail the same way. */
    | { kind: 'refused'; reason: string };

/** Moveworks Events API: `POST /rest/v1/events/{id}/messages/send`, paced to the organisation's limit. */
export class EventsClient {
    private readonly url: string;

    constructor(
        private readonly config: Config['moveworks'],
        private readonly http: HttpClient,
        private readonly pacer: Pacer,
        private readonly log: Logger,
        private readonly now: () => number = Date.now,
    ) {
        this.url = `${config.baseUrl}/rest/v1/events/${encodeURIComponent(config.eventId)}/messages/send`;
    }

    async send(message: string, recipients: string[], approvalId: string, deadline: number): Promise<SendOutcome> {
        const body = JSON.stringify({ message, recipients, context: { slots: { approval_id: approvalId } } });
        for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            if (!(await this.pacer.acquire(deadline))) return { kind: 'later', reason: 'poll time budget spent waiting for the Moveworks rate limit' };
            const answer = await this.http
                .send({
                    system: 'Moveworks',
                    method: 'POST',
                    url: this.url,
                    body,
                    retry: 'not-idempotent',
                    headers: { Authorization: `Bearer ${this.config.apiKey}`, 'Content-Type': 'application/json' },
                })
                .catch((error: Error) => ({ status: 0, body: '', headers: {} as Record<string, string>, failure: error.message }));
            if (answer.status >= 200 && answer.status < 300) return { kind: 'sent' };
            if (answer.status === 429) {
                const pauseMs = retryAfterMs(answer.headers['retry-after']) ?? DEFAULT_RATE_LIMIT_PAUSE_MS;
                this.pacer.pause(this.now() + pauseMs);
                this.log.warn('moveworks.rate_limited', { approvalId, pauseMs, attempt });
                continue;
            }
            if (answer.status === 0 || answer.status >= 500) return { kind: 'later', reason: `Moveworks unavailable (${answer.status || 'no response'})` };
            if (answer.status === 401 || answer.status === 403) {
                return { kind: 'later', reason: `Moveworks refused the API key (${answer.status}): check MOVEWORKS_API_KEY and MOVEWORKS_BASE_URL` };
            }
            return { kind: 'refused', reason: `Moveworks refused the message (${answer.status} ${moveworksErrorCode(answer.body)})` };
        }
        return { kind: 'later', reason: 'Moveworks kept answering 429' };
    }
}

function moveworksErrorCode(body: string): string {
    try {
        const parsed = JSON.parse(body) as { error?: { code?: unknown } };
        return typeof parsed.error?.code === 'string' ? parsed.error.code.slice(0, 80) : 'unknown error';
    } catch {
        return 'unknown error';
    }
}
