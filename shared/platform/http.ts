import axios, { AxiosResponseHeaders, RawAxiosResponseHeaders } from 'axios';
import { AsyncLocalStorage } from 'node:async_hooks';
import { globalAgent as httpAgent } from 'node:http';
import { globalAgent as httpsAgent } from 'node:https';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { UpstreamError } from './errors';
import { Logger } from './log';

/**
 * The one HTTP client set-up: axios on keep-alive connections, a total deadline per attempt and per
 * request, a response size cap counted after decoding, and bounded retries with jittered exponential
 * backoff that honour Retry-After. The retries are written here because the rule depends on whether a
 * request may safely be repeated (a SailPoint decision must not be sent twice) and because a long
 * Retry-After must be handed back to the caller, not slept through. axios owns the wire: content coding,
 * the size cap, TLS, and the proxy named by HTTP_PROXY/HTTPS_PROXY/NO_PROXY (an https target through a
 * CONNECT tunnel, so the proxy sees its host and port, never a token or a body). It follows no redirect,
 * throws on no status and parses nothing: every status reaches the caller, which reads the body through
 * its own schema.
 */

export type RetryPolicy =
    /** Safe to repeat: retried on network errors, timeouts, 429 and 5xx. */
    | 'idempotent'
    /**
     * Must not happen twice: retried only when the server surely did not act (429, a refused connection, a
     * kept-alive connection reset before any byte of the answer).
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
    /** The caller paces itself against a shared limit (Moveworks): a 429 is answered at once, never retried here. */
    rateLimitsToCaller?: boolean;
}

const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'EAI_AGAIN', 'ECONNREFUSED']);

/** Room for the backoff sleeps in the deadline of a call that was given none. */
const BACKOFF_ALLOWANCE_MS = 5_000;

/** Fixed wording per failure code: Node's own messages name hosts, addresses and ports. */
const UNREACHABLE_REASONS = new Map([
    ['ECONNREFUSED', 'connection refused'],
    ['ETIMEDOUT', 'timed out'],
    ['ECONNRESET', 'connection reset'],
    ['ENOTFOUND', 'name not resolved'],
    ['EAI_AGAIN', 'name not resolved'],
    ['EPROTO', 'TLS handshake failed'],
]);

/** OpenSSL's verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE for a certificate of an unknown internal CA) and Node's TLS ones. */
const isCertificateFailure = (code: string) => /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET_ISSUER)|ERR_TLS|ERR_SSL/.test(code);

/**
 * Sent with every request, so SailPoint's large pages may come compressed. Not deflate: servers send it
 * raw or with its zlib header alike, and only the latter is what it names (axios reads both, unasked).
 */
const DEFAULT_HEADERS = { 'accept-encoding': 'gzip, br', 'user-agent': 'sailpoint-moveworks-approvals' };

/**
 * Node's global agents, which keep connections alive since Node 19 (an idle one closed after 5 s).
 * Named because axios builds the CONNECT tunnel to a proxy from the https agent's options, keep-alive
 * included, and takes the tunnelled origin's TLS options (a CA added for the process) from it.
 */
const transport = axios.create({
    httpAgent,
    httpsAgent,
    // A 3xx is answered as it came (the preflight names it): following it could carry a token elsewhere.
    maxRedirects: 0,
    validateStatus: () => true,
    decompress: true,
    responseType: 'stream',
    // The body goes out byte for byte; the answer is parsed by the caller, through its schema.
    transformRequest: [],
    transformResponse: [],
});

/**
 * What each pooled socket had read when it went back to its agent. A server closes an idle kept-alive
 * connection when it likes; a request sent on it as it does is reset before any byte of an answer, and
 * the server never took it in. Any other reset may follow its act.
 */
const readWhenFreed = new WeakMap<Socket, number>();
for (const agent of [httpAgent, httpsAgent]) agent.on('free', (socket: Socket) => readWhenFreed.set(socket, socket.bytesRead));

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

/**
 * Runs `task` under `deadline` in place of the surrounding one, even a later one: for the writes that
 * record work already done (a message sent), which must not be cut off with the work that led to them.
 */
export function withOwnDeadline<T>(deadline: number, task: () => Promise<T>): Promise<T> {
    return ambientDeadline.run(deadline, task);
}

/**
 * Runs `task` under no surrounding deadline, bounded by the client's own per-call one: for work that
 * several callers share (a token fetch), which must not end with the caller that happened to start it.
 */
export function withoutDeadline<T>(task: () => Promise<T>): Promise<T> {
    return ambientDeadline.exit(task);
}

/** The deadline withDeadline set around the current call, if any. */
export function currentDeadline(): number | undefined {
    return ambientDeadline.getStore();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The retry delay, or undefined when the next attempt could not start before the deadline. */
const delayBefore = (deadline: number, delay: number | undefined) => (delay !== undefined && Date.now() + delay < deadline ? delay : undefined);

/** `unsent`: the request never reached the server (see attempt), so even a write that must not happen twice may go again. */
type Failure = { code: string; unsent?: boolean };
type Outcome = { answer: HttpAnswer; failure?: undefined } | { answer?: undefined; failure: Failure };

export class HttpClient {
    private readonly maxRetryAfterMs: number;

    constructor(
        private readonly settings: HttpSettings,
        private readonly log: Logger,
    ) {
        this.maxRetryAfterMs = settings.maxRetryAfterMs ?? 10_000;
    }

    /** Answers the final response whatever its status; throws UpstreamError when no response came. */
    async send(request: HttpRequest): Promise<HttpAnswer> {
        const url = new URL(request.url);
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
                path: url.pathname,
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

    /**
     * One attempt, over after `budgetMs` in all, reading the answer included (axios's own `timeout` stops
     * counting once the headers are in). The answer comes as a stream so that a length declared over the
     * cap is refused at once, not after a body that may come slowly or never.
     */
    private async attempt(request: HttpRequest, budgetMs: number): Promise<Outcome> {
        if (budgetMs <= 0) return { failure: { code: 'ETIMEDOUT' } };
        const overdue = new AbortController();
        const timer = setTimeout(() => overdue.abort(), budgetMs);
        try {
            const response = await transport.request<Readable>({
                url: request.url,
                method: request.method,
                headers: { ...DEFAULT_HEADERS, ...request.headers },
                data: request.body,
                maxContentLength: this.settings.maxResponseBytes,
                signal: overdue.signal,
            });
            if (Number(response.headers['content-length'] ?? 0) > this.settings.maxResponseBytes) {
                // Ends the request as the deadline would, closing its connection.
                overdue.abort();
                return { failure: { code: 'ERR_RESPONSE_TOO_LARGE' } };
            }
            // As text by the WHATWG decoder, which drops a leading byte order mark: JSON.parse refuses one.
            return { answer: { status: response.status, body: await text(response.data), headers: flattened(response.headers) } };
        } catch (error) {
            return { failure: failureOf(error) };
        } finally {
            clearTimeout(timer);
        }
    }

    private retryDelay(
        policy: RetryPolicy,
        attempt: number,
        answer: HttpAnswer | undefined,
        failure: Failure | undefined,
    ): number | undefined {
        if (attempt >= this.settings.maxRetries) return undefined;
        const backoff = Math.round(Math.random() * Math.min(5_000, 200 * 2 ** attempt));
        if (failure) {
            if (failure.code === 'ERR_RESPONSE_TOO_LARGE') return undefined;
            if (policy === 'not-idempotent' && failure.code !== 'ECONNREFUSED' && !failure.unsent) return undefined;
            return RETRYABLE_NETWORK_CODES.has(failure.code) ? backoff : undefined;
        }
        if (!answer) return undefined;
        const retryable =
            (answer.status === 429 && !this.settings.rateLimitsToCaller) ||
            (policy === 'idempotent' && answer.status >= 500 && answer.status !== 501);
        if (!retryable) return undefined;
        const asked = retryAfterMs(answer.headers['retry-after']);
        if (asked === undefined) return backoff;
        return asked <= this.maxRetryAfterMs ? asked : undefined;
    }
}

/** The response's headers as one string each (several Set-Cookie joined), as the callers read them. */
function flattened(headers: RawAxiosResponseHeaders | AxiosResponseHeaders): Record<string, string> {
    return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value ?? '')]));
}

function failureOf(error: unknown): Failure {
    const code = failureCode(error);
    const sent = axios.isAxiosError(error) ? (error.request as { reusedSocket?: boolean; socket?: Socket | null } | undefined) : undefined;
    const unsent = code === 'ECONNRESET' && sent?.reusedSocket === true && !!sent.socket && readWhenFreed.get(sent.socket) === sent.socket.bytesRead;
    return unsent ? { code, unsent } : { code };
}

function failureCode(error: unknown): string {
    const code = (error as { code?: unknown } | undefined)?.code;
    switch (code) {
        // The attempt's own deadline (the only signal given) or axios's timeout.
        case 'ERR_CANCELED':
        case 'ECONNABORTED':
        case 'ABORT_ERR':
            return 'ETIMEDOUT';
        // axios's code for an answer over maxContentLength, which it names only in its message.
        case 'ERR_BAD_RESPONSE':
            return (error as Error).message.startsWith('maxContentLength') ? 'ERR_RESPONSE_TOO_LARGE' : code;
        default:
            // A stream error while the answer is read (a connection closed before its end) comes as Node's own.
            return typeof code === 'string' ? code : 'ERR_NETWORK';
    }
}

function unreachable(system: string, code: string): UpstreamError {
    if (code === 'ERR_RESPONSE_TOO_LARGE') {
        return new UpstreamError(system, `${system} could not be reached (the response was larger than MAX_RESPONSE_BYTES)`, undefined, true);
    }
    const reason = UNREACHABLE_REASONS.get(code) ?? (isCertificateFailure(code) ? 'its TLS certificate was not accepted' : 'network error');
    return new UpstreamError(system, `${system} could not be reached (${reason})`);
}

/** A response body as JSON, or undefined when it is not JSON (the caller's schema then refuses it). */
export function parseJsonBody(body: string): unknown {
    try {
        return JSON.parse(body);
    } catch {
        return undefined;
    }
}
