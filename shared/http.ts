import { AsyncLocalStorage } from 'node:async_hooks';
import axios, { AxiosInstance } from 'axios';
import { UpstreamError } from './errors';
import { Logger } from './log';

/**
 * The one HTTP client set-up: a total deadline per attempt and per request, a response size cap, and
 * bounded retries with jittered exponential backoff that honour Retry-After. Hand-written on axios rather
 * than axios-retry because the retry rule depends on whether a request may safely be repeated (a
 * SailPoint decision must not be sent twice) and because a long Retry-After must be handed back to the
 * caller, not slept through.
 */

export type RetryPolicy =
    /** Safe to repeat: retried on network errors, timeouts, 429 and 5xx. */
    | 'idempotent'
    /**
     * Must not happen twice: retried only when the server surely did not act (429, refused connection).
     * Never on 503, which a gateway may answer while the server behind it goes on acting.
     */
    | 'not-idempotent';

export interface HttpRequest {
    system: string;
    method: 'GET' | 'POST' | 'PUT';
    url: string;
    headers?: Record<string, string>;
    body?: string;
    retry: RetryPolicy;
    /**
     * Epoch ms by which the call is over: no attempt starts or runs past it. The earlier of this and
     * withDeadline's applies; with neither, the time the attempts and their backoff alone would take.
     */
    deadline?: number;
}

export interface HttpAnswer {
    status: number;
    body: string;
    headers: Record<string, string>;
}

export interface HttpSettings {
    timeoutMs: number;
    maxRetries: number;
    maxResponseBytes: number;
    /** Longest Retry-After the client waits out itself; a longer one is answered to the caller. */
    maxRetryAfterMs?: number;
}

const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN', 'ECONNREFUSED']);

/** Room for the backoff sleeps in the deadline of a call that was given none. */
const BACKOFF_ALLOWANCE_MS = 5_000;

/** Fixed wording per failure code: axios's own messages name hosts, addresses and ports. */
const UNREACHABLE_REASONS = new Map([
    ['ECONNREFUSED', 'connection refused'],
    ['ETIMEDOUT', 'timed out'],
    ['ECONNRESET', 'connection reset'],
    ['ENOTFOUND', 'name not resolved'],
    ['EAI_AGAIN', 'name not resolved'],
]);

export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
    if (!header) return undefined;
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(header);
    return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A URL with each query value encoded by encodeURIComponent (spaces as %20, never "+"). */
export function withQuery(url: string, query: Record<string, string | number | undefined | (string | number)[]>): string {
    const parts: string[] = [];
    for (const [name, value] of Object.entries(query)) {
        for (const item of Array.isArray(value) ? value : [value]) {
            if (item !== undefined) parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(item))}`);
        }
    }
    return parts.length === 0 ? url : `${url}${url.includes('?') ? '&' : '?'}${parts.join('&')}`;
}

// Ambient, so a use case bounds every call made on its behalf without each adapter passing a deadline along.
const ambientDeadline = new AsyncLocalStorage<number>();

/** Runs `task` with every HTTP call inside it over by `deadline` (epoch ms); an earlier outer deadline still wins. */
export function withDeadline<T>(deadline: number, task: () => Promise<T>): Promise<T> {
    const outer = ambientDeadline.getStore();
    return ambientDeadline.run(outer === undefined ? deadline : Math.min(outer, deadline), task);
}

/** The deadline withDeadline set around the current call, if any. */
export function currentDeadline(): number | undefined {
    return ambientDeadline.getStore();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The retry delay, or undefined when the next attempt could not start before the deadline. */
const delayBefore = (deadline: number, delay: number | undefined) => (delay !== undefined && Date.now() + delay < deadline ? delay : undefined);

type Outcome = { answer: HttpAnswer; failure?: undefined } | { answer?: undefined; failure: { code: string } };

export class HttpClient {
    private readonly axios: AxiosInstance;
    private readonly maxRetryAfterMs: number;

    constructor(
        private readonly settings: HttpSettings,
        private readonly log: Logger,
    ) {
        this.maxRetryAfterMs = settings.maxRetryAfterMs ?? 10_000;
        this.axios = axios.create({
            maxContentLength: settings.maxResponseBytes,
            maxBodyLength: settings.maxResponseBytes,
            maxRedirects: 0,
            responseType: 'text',
            transformResponse: (data) => data,
            validateStatus: () => true,
        });
    }

    /** Answers the final response whatever its status; throws UpstreamError when no response came. */
    async send(request: HttpRequest): Promise<HttpAnswer> {
        const path = new URL(request.url).pathname;
        const deadline = this.deadlineOf(request);
        for (let attempt = 0; ; attempt++) {
            const started = Date.now();
            const { answer, failure } = await this.attempt(request, Math.min(this.settings.timeoutMs, deadline - started));
            const elapsedMs = Date.now() - started;
            const delay = delayBefore(deadline, this.retryDelay(request.retry, attempt, answer, failure));
            const failed = failure !== undefined || answer.status >= 400;
            if (failed || attempt > 0) this.log[failed ? 'warn' : 'info']('http.call', {
                system: request.system,
                method: request.method,
                path,
                status: answer?.status,
                failure: failure?.code,
                attempt,
                elapsedMs,
                retryInMs: delay,
            });
            if (delay === undefined) {
                if (answer) return answer;
                throw unreachable(request.system, failure.code);
            }
            await sleep(delay);
        }
    }

    private deadlineOf(request: HttpRequest): number {
        const given = [request.deadline, currentDeadline()].filter((deadline) => deadline !== undefined);
        if (given.length > 0) return Math.min(...given);
        return Date.now() + this.settings.timeoutMs * (this.settings.maxRetries + 1) + BACKOFF_ALLOWANCE_MS;
    }

    /** One attempt, aborted after `budgetMs` in all: axios's own timeout counts only idle time. */
    private async attempt(request: HttpRequest, budgetMs: number): Promise<Outcome> {
        if (budgetMs <= 0) return { failure: { code: 'ETIMEDOUT' } };
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), budgetMs);
        try {
            const response = await this.axios.request<string>({
                method: request.method,
                url: request.url,
                headers: request.headers,
                data: request.body,
                signal: controller.signal,
            });
            return {
                answer: {
                    status: response.status,
                    body: typeof response.data === 'string' ? response.data : String(response.data ?? ''),
                    headers: Object.fromEntries(
                        Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), String(value)]),
                    ),
                },
            };
        } catch (error) {
            return { failure: { code: failureCode(error) } };
        } finally {
            clearTimeout(timer);
        }
    }

    private retryDelay(
        policy: RetryPolicy,
        attempt: number,
        answer: HttpAnswer | undefined,
        failure: { code: string } | undefined,
    ): number | undefined {
        if (attempt >= this.settings.maxRetries) return undefined;
        const backoff = Math.round(Math.random() * Math.min(5_000, 200 * 2 ** attempt));
        if (failure) {
            if (failure.code === 'ERR_RESPONSE_TOO_LARGE') return undefined;
            if (policy === 'not-idempotent' && failure.code !== 'ECONNREFUSED') return undefined;
            return RETRYABLE_NETWORK_CODES.has(failure.code) ? backoff : undefined;
        }
        if (!answer) return undefined;
        const retryable =
            answer.status === 429 ||
            (policy === 'idempotent' && answer.status >= 500 && answer.status !== 501);
        if (!retryable) return undefined;
        const asked = retryAfterMs(answer.headers['retry-after']);
        if (asked === undefined) return backoff;
        return asked <= this.maxRetryAfterMs ? asked : undefined;
    }
}

function failureCode(error: unknown): string {
    // The attempt's deadline is the only thing that cancels a request.
    if (axios.isCancel(error)) return 'ETIMEDOUT';
    if (!axios.isAxiosError(error)) return 'ERR_UNKNOWN';
    if (error.message.includes('maxContentLength')) return 'ERR_RESPONSE_TOO_LARGE';
    if (error.code === 'ECONNABORTED') return 'ETIMEDOUT';
    return error.code ?? 'ERR_NETWORK';
}

function unreachable(system: string, code: string): UpstreamError {
    if (code === 'ERR_RESPONSE_TOO_LARGE') {
        return new UpstreamError(system, `${system} could not be reached (the response was larger than MAX_RESPONSE_BYTES)`, undefined, true);
    }
    return new UpstreamError(system, `${system} could not be reached (${UNREACHABLE_REASONS.get(code) ?? 'network error'})`);
}

/** A response body as JSON, or undefined when it is not JSON (the caller's schema then refuses it). */
export function parseJsonBody(body: string): unknown {
    try {
        return JSON.parse(body);
    } catch {
        return undefined;
    }
}
