import axios, { AxiosInstance } from 'axios';
import { UpstreamError } from './errors';
import { Logger } from './log';

/**
 * The one HTTP client set-up: timeouts, a response size cap, and bounded retries with jittered
 * exponential backoff that honour Retry-After. Hand-written on axios rather than axios-retry because the
 * retry rule depends on whether a request may safely be repeated (a SailPoint decision must not be sent
 * twice) and because a long Retry-After must be handed back to the caller, not slept through.
 */

export type RetryPolicy =
    /** Safe to repeat: retried on network errors, timeouts, 429 and 5xx. */
    | 'idempotent'
    /** Must not happen twice: retried only when the server surely did not act (429, 503, refused connection). */
    | 'not-idempotent';

export interface HttpRequest {
    system: string;
    method: 'GET' | 'POST' | 'PUT';
    url: string;
    headers?: Record<string, string>;
    body?: string;
    retry: RetryPolicy;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class HttpClient {
    private readonly axios: AxiosInstance;
    private readonly maxRetryAfterMs: number;

    constructor(
        private readonly settings: HttpSettings,
        private readonly log: Logger,
    ) {
        this.maxRetryAfterMs = settings.maxRetryAfterMs ?? 10_000;
        this.axios = axios.create({
            timeout: settings.timeoutMs,
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
        for (let attempt = 0; ; attempt++) {
            const started = Date.now();
            let answer: HttpAnswer | undefined;
            let failure: { code: string; message: string } | undefined;
            try {
                const response = await this.axios.request<string>({
                    method: request.method,
                    url: request.url,
                    headers: request.headers,
                    data: request.body,
                });
                answer = {
                    status: response.status,
                    body: typeof response.data === 'string' ? response.data : String(response.data ?? ''),
                    headers: Object.fromEntries(
                        Object.entries(response.headers).map(([name, value]) => [name.toLowerCase(), String(value)]),
                    ),
                };
            } catch (error) {
                failure = describeFailure(error);
            }
            const elapsedMs = Date.now() - started;
            const delay = this.retryDelay(request.retry, attempt, answer, failure);
            const failed = failure !== undefined || answer === undefined || answer.status >= 400;
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
                throw new UpstreamError(request.system, `${request.system} could not be reached (${failure?.message})`);
            }
            await sleep(delay);
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
            answer.status === 503 ||
            (policy === 'idempotent' && answer.status >= 500 && answer.status !== 501);
        if (!retryable) return undefined;
        const asked = retryAfterMs(answer.headers['retry-after']);
        if (asked === undefined) return backoff;
        return asked <= this.maxRetryAfterMs ? asked : undefined;
    }
}

function describeFailure(error: unknown): { code: string; message: string } {
    if (axios.isAxiosError(error)) {
        if (error.message.includes('maxContentLength')) {
            return { code: 'ERR_RESPONSE_TOO_LARGE', message: 'the response was larger than MAX_RESPONSE_BYTES' };
        }
        const code = error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT' ? 'ETIMEDOUT' : (error.code ?? 'ERR_NETWORK');
        return { code, message: code === 'ETIMEDOUT' ? 'timed out' : error.message };
    }
    return { code: 'ERR_UNKNOWN', message: error instanceof Error ? error.message : String(error) };
}

/** A response body as JSON, or undefined when it is not JSON (the caller's schema then refuses it). */
export function parseJsonBody(body: string): unknown {
    try {
        return JSON.parse(body);
    } catch {
        return undefined;
    }
}
