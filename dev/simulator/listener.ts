import { createHmac, timingSafeEqual } from 'node:crypto';
import { IncomingMessage } from 'node:http';

/**
 * The Moveworks Agent Studio webhook listener the app notifies when MOVEWORKS_DELIVERY=listener, as Moveworks
 * documents it ("Listener Configuration", and "Send a webhook to a webhook listener":
 * `POST /webhooks/v1/listeners/{listener_id}/notify`): credential verification (a Moveworks API key as
 * `Authorization: Bearer`), optional signature verification (HMAC-SHA256 of the raw body, lowercase hex, in a
 * header the listener's settings name), payloads up to 1 MB, and the org-wide limit of a secured listener
 * (5 requests a second). The app's preflight (`type: "preflight"`), which the ambient agent's trigger filter
 * would drop, is kept apart from the notices the agent would act on.
 */

export type ListenerRoute = 'moveworks.listener';

/** Moveworks gives each listener a UUID. */
export const DEFAULT_LISTENER_ID = '00000000-0000-4000-8000-000000000002';
export const DEFAULT_LISTENER_KEY = 'listener-key-0123456789';
export const DEFAULT_LISTENER_SIGNATURE_HEADER = 'X-Signature';
export const DEFAULT_LISTENER_MAX_BYTES = 1_048_576;
export const DEFAULT_LISTENER_PER_SECOND = 5;

const LISTENER_PATH = /^\/webhooks\/v1\/listeners\/([^/]+)\/notify$/;

export const listenerPath = (listenerId: string) => `/webhooks/v1/listeners/${encodeURIComponent(listenerId)}/notify`;

export interface ListenerNotice {
    /** The parsed JSON; `any` so specs read the app's fields (`approvalId`, `recipients`...) without casts. */
    body: any;
    /** The body exactly as received, the bytes a signature covers. */
    raw: string;
    /** The request's headers, names in lowercase as Node gives them. */
    headers: Record<string, string>;
    at: number;
}

/** The listener's settings and records, which the simulator keeps as its own public fields. */
export interface ListenerSide {
    readonly listenerId: string;
    readonly listenerKey: string;
    readonly listenerSigningSecret?: string;
    readonly listenerSignatureHeader: string;
    readonly listenerMaxBytes: number;
    readonly listenerPerSecond: number;
    readonly listenerNotices: ListenerNotice[];
    readonly listenerPreflights: ListenerNotice[];
    readonly listenerRateLimited: number[];
}

export interface ListenerAnswer {
    status: number;
    contentType: string;
    body: string;
    retryAfter?: string;
}

const json = (value: unknown, status = 200): ListenerAnswer => ({ status, contentType: 'application/json', body: JSON.stringify(value) });
const failure = (status: number, code: string, message: string): ListenerAnswer => json({ error: { code, message } }, status);

export function listenerRouteOf(method: string, path: string): ListenerRoute | undefined {
    return method === 'POST' && LISTENER_PATH.test(path) ? 'moveworks.listener' : undefined;
}

export class WebhookListener {
    /** When each request that passed credential verification arrived, within the last second. */
    private readonly starts: number[] = [];

    constructor(
        private readonly side: ListenerSide,
        private readonly onNotice?: (notice: ListenerNotice) => void,
    ) {}

    async handle(request: IncomingMessage, url: URL): Promise<ListenerAnswer> {
        const side = this.side;
        const raw = await readLimited(request, side.listenerMaxBytes);
        // Moveworks documents this 404 with an empty body.
        if (decodeURIComponent(LISTENER_PATH.exec(url.pathname)?.[1] ?? '') !== side.listenerId) return { status: 404, contentType: 'application/json', body: '' };
        if (!sameText(request.headers.authorization ?? '', `Bearer ${side.listenerKey}`)) return failure(401, 'UNAUTHORIZED', 'Token validation failed');
        const now = Date.now();
        while (this.starts.length > 0 && this.starts[0] <= now - 1000) this.starts.shift();
        if (this.starts.length >= side.listenerPerSecond) {
            side.listenerRateLimited.push(now);
            return { ...failure(429, 'RATE_LIMIT_EXCEEDED', 'Rate limit exceeded'), retryAfter: '1' };
        }
        this.starts.push(now);
        // The real listener takes a larger request but drops its body, so the trigger filter never matches it:
        // refusing it instead lets the app see the loss.
        if (raw === undefined) return failure(413, 'PAYLOAD_TOO_LARGE', `The payload is over ${side.listenerMaxBytes} bytes`);
        if (side.listenerSigningSecret && !this.signed(request, raw, side.listenerSigningSecret)) {
            return failure(401, 'ErrorSignatureVerificationFailed', 'Signature verification failed');
        }
        const text = raw.toString('utf8');
        let body: unknown;
        try {
            body = JSON.parse(text);
        } catch {
            return failure(400, 'BAD_REQUEST', 'Parsing of json payload failed');
        }
        // Moveworks documents the payload as a JSON object.
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return failure(400, 'BAD_REQUEST', 'The payload must be a JSON object');
        const notice: ListenerNotice = { body, raw: text, headers: headersOf(request), at: now };
        if ((body as { type?: unknown }).type === 'preflight') {
            side.listenerPreflights.push(notice);
        } else {
            side.listenerNotices.push(notice);
            this.onNotice?.(notice);
        }
        // Moveworks documents the success body only as optional `status` and `message` strings, not their values.
        return json({ status: 'accepted', message: 'Event received' });
    }

    private signed(request: IncomingMessage, raw: Buffer, secret: string): boolean {
        const given = request.headers[this.side.listenerSignatureHeader.toLowerCase()];
        return typeof given === 'string' && sameText(given, createHmac('sha256', secret).update(raw).digest('hex'));
    }
}

/** Constant time for equal lengths, so a forger learns nothing from how long a wrong guess takes. */
function sameText(given: string, expected: string): boolean {
    const [a, b] = [Buffer.from(given), Buffer.from(expected)];
    return a.length === b.length && timingSafeEqual(a, b);
}

function headersOf(request: IncomingMessage): Record<string, string> {
    return Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]])));
}

/**
 * The raw body, or undefined when it runs past `limit` bytes. An oversized body is still read to its end (and
 * dropped) so that a client still sending receives the 413 rather than a reset connection.
 */
async function readLimited(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
        size += (chunk as Buffer).length;
        if (size <= limit) chunks.push(chunk as Buffer);
    }
    return size > limit ? undefined : Buffer.concat(chunks);
}
