import { AsyncLocalStorage } from 'node:async_hooks';
import { IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { UpstreamError } from './errors';
import { Logger } from './log';

/**
 * The one HTTP client set-up: a total deadline per attempt and per request, a response size cap, and
 * bounded retries with jittered exponential backoff that honour Retry-After. The retries are hand-written
 * because the rule depends on whether a request may safely be repeated (a SailPoint decision must not be
 * sent twice) and because a long Retry-After must be handed back to the caller, not slept through. The
 * transport is node:http itself (its default keep-alive agent): a poll sends hundreds of small requests,
 * and axios cost about three times the CPU per request for features this client turns off (redirects,
 * transforms, proxies from the environment).
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
 * Sent with every request; the answer is decoded here, so SailPoint's large pages may come compressed.
 * Not deflate: servers send it raw or with its zlib header alike, and only the latter is what it names.
 */
const DEFAULT_HEADERS = { 'accept-encoding': 'gzip, br', 'user-agent': 'sailpoint-moveworks-approvals' };

/** Statuses that never have a body, whatever their headers say. */
const WITHOUT_BODY = new Set([204, 304]);

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
            const { answer, failure } = await this.attempt(request, url, Math.min(this.settings.timeoutMs, deadline - started));
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

    /** One attempt, over after `budgetMs` in all, reading the answer included: a socket timeout counts only idle time. */
    private attempt(request: HttpRequest, url: URL, budgetMs: number): Promise<Outcome> {
        if (budgetMs <= 0) return Promise.resolve({ failure: { code: 'ETIMEDOUT' } });
        return new Promise((resolve) => {
            let settled = false;
            const settle = (outcome: Outcome) => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                outgoing?.destroy();
                resolve(outcome);
            };
            const timer = setTimeout(() => settle({ failure: { code: 'ETIMEDOUT' } }), budgetMs);
            let outgoing: ReturnType<typeof httpRequest> | undefined;
            try {
                // A string body goes out in the same write as the headers; a Buffer would take a writev of its own.
                const body = request.body;
                const sent = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
                    method: request.method,
                    headers: { ...DEFAULT_HEADERS, ...request.headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
                });
                outgoing = sent;
                // A server closes an idle kept-alive connection when it likes; a request sent as it does is reset
                // before any byte of an answer, and the server never took it in. Any other reset may follow its act.
                let unanswered = () => false;
                sent.on('socket', (socket) => {
                    const readBefore = socket.bytesRead;
                    unanswered = () => sent.reusedSocket && socket.bytesRead === readBefore;
                });
                sent.on('error', (error) => {
                    const code = failureCode(error);
                    settle({ failure: code === 'ECONNRESET' && unanswered() ? { code, unsent: true } : { code } });
                });
                sent.on('response', (response) => {
                    readAnswer(response, this.settings.maxResponseBytes).then(
                        (answer) => {
                            // Not destroyed once read: that would close the socket the agent keeps for the next request.
                            outgoing = undefined;
                            settle({ answer });
                        },
                        (error: unknown) => settle({ failure: { code: failureCode(error) } }),
                    );
                });
                sent.end(body);
            } catch (error) {
                settle({ failure: { code: failureCode(error) } });
            }
        });
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
            answer.status === 429 ||
            (policy === 'idempotent' && answer.status >= 500 && answer.status !== 501);
        if (!retryable) return undefined;
        const asked = retryAfterMs(answer.headers['retry-after']);
        if (asked === undefined) return backoff;
        return asked <= this.maxRetryAfterMs ? asked : undefined;
    }
}

class ResponseTooLarge extends Error {
    readonly code = 'ERR_RESPONSE_TOO_LARGE';
}

/**
 * The whole answer, decoded; a ResponseTooLarge as soon as it passes `maxBytes` (declared or read), and a
 * connection reset when the server closes before the end. Read by events: an async iterator per answer
 * cost a poll of hundreds of calls measurable CPU.
 */
function readAnswer(response: IncomingMessage, maxBytes: number): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
        if (Number(response.headers['content-length'] ?? 0) > maxBytes) return reject(new ResponseTooLarge());
        const body = decoded(response);
        const chunks: Buffer[] = [];
        let bytes = 0;
        let received = 0;
        response.on('data', (chunk: Buffer) => (received += chunk.length));
        const answer = () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
                status: response.statusCode ?? 0,
                // As axios did: a byte order mark is not part of the text, and JSON.parse refuses one.
                body: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text,
                headers: Object.fromEntries(
                    Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value ?? '')]),
                ),
            });
        };
        body.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes <= maxBytes) return void chunks.push(chunk);
            reject(new ResponseTooLarge());
            body.destroy();
        });
        // An empty body labelled as compressed is empty: a decoder refuses to decode nothing.
        body.on('error', (error) => (received === 0 && response.complete ? answer() : reject(error)));
        // After 'end' this changes nothing: a promise settles once.
        body.on('close', () => reject(connectionReset()));
        body.on('end', answer);
    });
}

const connectionReset = () => Object.assign(new Error('the server closed the connection before the end of the answer'), { code: 'ECONNRESET' });

/** The body as sent before its content coding; a coding this client did not ask for is passed on as it came. */
function decoded(response: IncomingMessage): Readable {
    if (WITHOUT_BODY.has(response.statusCode ?? 0)) return response;
    const coding = String(response.headers['content-encoding'] ?? '').trim().toLowerCase();
    const decoder = coding === 'gzip' || coding === 'x-gzip' ? createGunzip() : coding === 'deflate' ? createInflate() : coding === 'br' ? createBrotliDecompress() : undefined;
    if (!decoder) return response;
    response.on('error', (error) => decoder.destroy(error));
    response.on('close', () => {
        if (!response.complete) decoder.destroy(connectionReset());
    });
    return response.pipe(decoder);
}

function failureCode(error: unknown): string {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (code === 'ECONNABORTED' || code === 'ABORT_ERR') return 'ETIMEDOUT';
    return typeof code === 'string' ? code : 'ERR_NETWORK';
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
