import { HttpAnswer, HttpClient, retryAfterMs } from '../platform/http';
import { Pacer } from '../platform/pacer';
import type { SendOutcome } from './notifier';

/** How one Moveworks endpoint is reached and paced: the Events API or a listener. */
export interface PacedTarget {
    /** The name log lines and reasons give it. */
    system: string;
    http: HttpClient;
    pacer: Pacer;
    now: () => number;
    /** How long a 429 without Retry-After pauses the pacer. */
    defaultPauseMs: number;
}

const MAX_ATTEMPTS = 3;

/**
 * One POST a Moveworks endpoint must not see twice, paced to its limit: a 429 pauses the pacer (Retry-After,
 * else `defaultPauseMs`) and is tried again, three attempts in all. Answers the first other answer (status 0
 * when none came), or `later` when the pacing or the 429s leave nothing within the deadline.
 */
export async function pacedPost(
    target: PacedTarget,
    request: { url: string; body: string; headers: Record<string, string> },
    deadline: number,
    /** Told of each 429, for the caller's log. */
    onRateLimited: (pauseMs: number, attempt: number) => void,
): Promise<HttpAnswer | Extract<SendOutcome, { kind: 'later' }>> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        if (!(await target.pacer.acquire(deadline))) return { kind: 'later', cause: 'rate-limit', reason: `poll time budget spent waiting for the rate limit (${target.system})` };
        const answer = await target.http
            .send({ system: target.system, method: 'POST', ...request, retry: 'not-idempotent' })
            .catch((error: Error) => ({ status: 0, body: '', headers: {} as Record<string, string>, failure: error.message }));
        if (answer.status !== 429) return answer;
        const pauseMs = retryAfterMs(answer.headers['retry-after']) ?? target.defaultPauseMs;
        target.pacer.pause(target.now() + pauseMs);
        onRateLimited(pauseMs, attempt);
    }
    return { kind: 'later', cause: 'rate-limit', reason: `${target.system} kept answering 429` };
}

/** No answer, or a 5xx: owed for the next poll. */
export const isUnavailable = (answer: HttpAnswer) => answer.status === 0 || answer.status >= 500;
