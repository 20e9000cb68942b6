import { createHash } from 'node:crypto';
import { HttpRequest, HttpResponseInit } from '@azure/functions';
import { App } from '../app';
import { AppError, badRequest, conflict } from '../platform/errors';
import { errorMessage, Logger, LogProperties } from '../platform/log';
import { IdempotencyClaim, IdempotencyStore, KEY_LIFETIME_MS, MAX_STORED_BODY_CHARACTERS } from '../store/idempotencyStore';

/**
 * `Idempotency-Key` on the action and connection routes (Moveworks Agent Studio sends its
 * `action_instance_id`): the first request with a key claims it in the state table, acts, and stores its
 * answer on the claim; a retry with the same key, route, approval and approver within KEY_LIFETIME_MS
 * replays that answer without acting again, on any instance. The same key with anything else answers
 * 422 idempotency_key_reused. Callers authenticate and the body is parsed before a key is touched, so an
 * unauthenticated or malformed request can neither read nor claim one.
 */

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Set on an answer that is a replay of the first one. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** How long a retry waits for the first request still acting before answering 409 idempotency_key_in_progress. */
const WAIT_FOR_ANSWER_MS = 5_000;
const WAIT_STEP_MS = 250;
/** The least a claim is kept before another request may take it over: its request is taken to have died. */
const MIN_CLAIM_LAPSE_MS = 2 * 60_000;

/** What a key binds: the route, the approval (none on a connection route), and the approver the request resolved to. */
interface KeyedRequest {
    route: string;
    approvalId?: string;
    approverEmail: string;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
/** The key's RowKey: its SHA-256, so the table never holds the key, whatever it carries or whichever characters. */
export const keyDigest = (key: string) => sha256(key);
/** What a key is bound to, as stored beside it. */
export const fingerprintOf = (keyed: KeyedRequest) => sha256(JSON.stringify([keyed.route, keyed.approvalId ?? '', keyed.approverEmail]));

/** The request's key, checked: 1 to 255 visible ASCII characters; undefined without the header. */
export function idempotencyKeyOf(request: HttpRequest): string | undefined {
    const key = request.headers.get(IDEMPOTENCY_HEADER);
    if (key === null) return undefined;
    if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw badRequest('invalid_request', `${IDEMPOTENCY_HEADER} must be 1 to 255 visible ASCII characters.`);
    return key;
}

/**
 * A claim is older than any action can take (its look-ups and write get 4 × HTTP_TIMEOUT_MS) by a minute,
 * and never younger than two minutes.
 */
const claimLapseMs = (httpTimeoutMs: number) => Math.max(MIN_CLAIM_LAPSE_MS, 4 * httpTimeoutMs + 60_000);

const reused = () => new AppError(422, 'idempotency_key_reused', `This ${IDEMPOTENCY_HEADER} was already used for another request (another route, approval or approver); send a new key for a new request.`);
const stillRunning = () => conflict('idempotency_key_in_progress', `The first request with this ${IDEMPOTENCY_HEADER} is still being carried out; try again in a few seconds.`);

/**
 * Answers with `act` once per key: without a key, `act` runs as it always did. `act` answers its own
 * errors. Its answer is stored when it is final (see isStorable), and the claim released otherwise, so a
 * retry can act.
 */
export async function idempotently(
    app: App,
    key: string | undefined,
    keyed: KeyedRequest,
    log: Logger,
    act: () => Promise<HttpResponseInit>,
): Promise<{ answer: HttpResponseInit; replayed: boolean }> {
    if (key === undefined) return { answer: await act(), replayed: false };
    const store = app.idempotency;
    const digest = keyDigest(key);
    const fingerprint = fingerprintOf(keyed);
    const facts = { route: keyed.route, approvalId: keyed.approvalId };
    const begun = await begin(store, digest, fingerprint, claimLapseMs(app.config.http.timeoutMs), log, facts);
    if ('replay' in begun) {
        log.info('idempotency.replayed', { ...facts, status: begun.replay.status });
        return { answer: { status: begun.replay.status, jsonBody: JSON.parse(begun.replay.body) as unknown, headers: { [REPLAYED_HEADER]: 'true' } }, replayed: true };
    }
    let answer: HttpResponseInit;
    try {
        answer = await act();
    } catch (error) {
        // Not expected (act answers its own errors), but a claim is never left behind for a retry to wait on.
        await store.release(begun.claim).catch(() => undefined);
        throw error;
    }
    await settle(store, begun.claim, answer, log, facts);
    return { answer, replayed: false };
}

type Begun = { claim: IdempotencyClaim } | { replay: { status: number; body: string } };

/** Claims the key, or finds its answer (waiting a few seconds for one still being made), or refuses it. */
async function begin(store: IdempotencyStore, digest: string, fingerprint: string, lapseMs: number, log: Logger, facts: LogProperties): Promise<Begun> {
    const deadline = Date.now() + WAIT_FOR_ANSWER_MS;
    for (let attempt = 0; ; attempt++) {
        if (attempt > 0 && Date.now() > deadline) throw stillRunning();
        const claim = await store.claim(digest, fingerprint, Date.now());
        if (claim) return { claim };
        const row = await store.read(digest);
        // Released between the two calls (its request failed): claim it again.
        if (!row) continue;
        const now = Date.now();
        if (row.claimedAt <= now - KEY_LIFETIME_MS) {
            const taken = await store.takeOver(row, fingerprint, now);
            if (taken) return { claim: taken };
            continue;
        }
        if (row.fingerprint !== fingerprint) throw reused();
        if (row.answer) return { replay: row.answer };
        if (row.claimedAt <= now - lapseMs) {
            const taken = await store.takeOver(row, fingerprint, now);
            if (taken) {
                log.warn('idempotency.claim_lapsed', { ...facts, claimedAt: row.claimedAt });
                return { claim: taken };
            }
            continue;
        }
        if (now + WAIT_STEP_MS > deadline) throw stillRunning();
        await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    }
}

/**
 * Which answers a key keeps: the request's own business, 2xx and 4xx, final whatever the retry. Not 5xx (the
 * source or the store failed: nothing was decided, and a retry may succeed), nor decision_in_progress, as
 * a 409 or an outcome (another action on the approval was under way: a retry gets its outcome).
 */
function isStorable(answer: HttpResponseInit): boolean {
    const status = answer.status ?? 200;
    const body = answer.jsonBody as { error?: { code?: unknown }; outcome?: unknown } | undefined;
    // The refusal's code, as an error or, with ACTION_REFUSALS_AS=body, as an outcome.
    const code = body?.error?.code ?? body?.outcome;
    return status < 500 && code !== 'decision_in_progress';
}

async function settle(store: IdempotencyStore, claim: IdempotencyClaim, answer: HttpResponseInit, log: Logger, facts: LogProperties): Promise<void> {
    const body = JSON.stringify(answer.jsonBody ?? null);
    try {
        if (isStorable(answer) && body.length <= MAX_STORED_BODY_CHARACTERS) {
            // Taken over meanwhile (this request outlived its claim): the request that took it stores its own answer.
            if (!(await store.answer(claim, { status: answer.status ?? 200, body }, Date.now()))) log.warn('idempotency.claim_lost', facts);
        } else {
            await store.release(claim);
        }
    } catch (error) {
        // The action's answer stands; an unsettled claim lapses, and a retry then acts again (the action's own checks answer it).
        log.warn('idempotency.not_settled', { ...facts, error: errorMessage(error) });
    }
}
