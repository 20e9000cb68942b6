import { Config, MoveworksDelivery } from '../config';
import { CheckResult } from '../contract';
import { notifierFor } from '../moveworks/delivery';
import { moveworksError } from '../moveworks/eventsClient';
import { listenerHeaders } from '../moveworks/listenerClient';
import { UpstreamError } from '../platform/errors';
import { currentDeadline, HttpClient } from '../platform/http';
import { errorMessage, Logger } from '../platform/log';
import { attempt, CheckFailure, Explain, explainCommon } from './checks';

/**
 * The preflight's Moveworks checks, for the delivery MOVEWORKS_DELIVERY names: the Events API key with
 * `GET /rest/v1/auth/test`, which Moveworks documents for it, or the listener with a POST of
 * `type: "preflight"`, which the shipped trigger filter ignores. `--send-test` sends one real notice.
 */

/** The slot the test message carries: a valid slot value that matches neither source's id pattern, so a click on it changes nothing. */
const TEST_APPROVAL_ID = 'preflight-test';
const testMessage = (settings: string) =>
    `<b>Test message</b> from the SailPoint approvals app (<i>npm run check --send-test</i>): it proves that ${settings} work. No approval is waiting for you; ignore any buttons.`;

const KEY_FIX =
    'check MOVEWORKS_API_KEY (the raw key, without "Bearer ", of an active service account) and MOVEWORKS_BASE_URL (your organisation\'s data-center host, as Moveworks\' table of regional hosts lists it; a wrong one answers 401 too)';
const EVENT_FIX = 'set MOVEWORKS_EVENT_ID to the id of the event, and publish the event in Agent Studio (Classic)';
const LISTENER_FIX = 'check MOVEWORKS_LISTENER_URL (the listener\'s webhook URL) and MOVEWORKS_LISTENER_KEY (the API key the listener verifies, without "Bearer ")';
const SIGNATURE_FIX = 'check MOVEWORKS_LISTENER_SIGNING_SECRET and MOVEWORKS_LISTENER_SIGNATURE_HEADER against the listener\'s signature verification (HMAC-SHA256, hex)';

export async function moveworksChecks(moveworks: Config['moveworks'], http: HttpClient, log: Logger, budgetMs: number, sendTestTo?: string): Promise<CheckResult[]> {
    const { delivery } = moveworks;
    const listener = delivery.kind === 'listener';
    const explain: Explain = (error, timedOut) =>
        explainCommon('Moveworks', listener ? 'MOVEWORKS_LISTENER_URL' : 'MOVEWORKS_BASE_URL', budgetMs, error, timedOut) ?? { cause: errorMessage(error), fix: listener ? LISTENER_FIX : KEY_FIX };
    const checks = [
        delivery.kind === 'listener'
            ? await attempt('Moveworks listener: URL, key and signature', budgetMs, explain, () => probeListener(delivery, http))
            : await attempt('Moveworks: API key and host (not the event id: --send-test proves it)', budgetMs, explain, () => probeEventsKey(moveworks.baseUrl, delivery, http)),
    ];
    if (sendTestTo !== undefined) {
        checks.push(await attempt(`Moveworks: send one test message to ${sendTestTo}`, budgetMs, explain, () => sendTestMessage(moveworks, http, log, sendTestTo)));
    }
    return checks;
}

/** `GET /rest/v1/auth/test`: 200 proves the key and the data-center host; the event is proved only by a send. */
async function probeEventsKey(baseUrl: string, events: Extract<MoveworksDelivery, { kind: 'events' }>, http: HttpClient): Promise<void> {
    const answer = await http.send({
        system: 'Moveworks',
        method: 'GET',
        url: `${baseUrl}/rest/v1/auth/test`,
        retry: 'idempotent',
        headers: { Authorization: `Bearer ${events.apiKey}`, Accept: 'application/json' },
    });
    if (answer.status >= 200 && answer.status < 300) return;
    if (answer.status === 429 || answer.status >= 500) throw new UpstreamError('Moveworks', `Moveworks answered ${answer.status}`, answer.status);
    const code = moveworksError(answer.body).code;
    if (answer.status === 401 || answer.status === 403) throw new CheckFailure({ cause: `Moveworks refused the API key (${answer.status}${code ? ` ${code}` : ''})`, fix: KEY_FIX });
    if (answer.status === 404) {
        throw new CheckFailure({ cause: 'nothing at MOVEWORKS_BASE_URL answers as the Moveworks API (404)', fix: 'set MOVEWORKS_BASE_URL to your organisation\'s Moveworks API host, as Moveworks\' table of regional hosts lists it' });
    }
    throw new CheckFailure({ cause: `Moveworks answered ${answer.status}`, fix: KEY_FIX });
}

/** A POST the listener verifies like any notice (key, signature) and its trigger filter drops (`type: "preflight"`). */
async function probeListener(listener: Extract<MoveworksDelivery, { kind: 'listener' }>, http: HttpClient): Promise<void> {
    const body = JSON.stringify({ type: 'preflight', sentAt: new Date().toISOString() });
    const answer = await http.send({ system: 'Moveworks listener', method: 'POST', url: listener.url, retry: 'not-idempotent', body, headers: listenerHeaders(listener, body) });
    if (answer.status >= 200 && answer.status < 300) return;
    if (answer.status === 429 || answer.status >= 500) throw new UpstreamError('Moveworks listener', `the Moveworks listener answered ${answer.status}`, answer.status);
    const code = moveworksError(answer.body).code;
    if (/signature/i.test(code ?? '')) throw new CheckFailure({ cause: `the listener refused the signature (${answer.status} ${code})`, fix: SIGNATURE_FIX });
    if (answer.status === 401 || answer.status === 403) {
        throw new CheckFailure({ cause: `the listener refused the request (${answer.status}${code ? ` ${code}` : ''})`, fix: listener.signingSecret ? `${LISTENER_FIX}; ${SIGNATURE_FIX}` : LISTENER_FIX });
    }
    if (answer.status === 404) throw new CheckFailure({ cause: 'nothing answers at MOVEWORKS_LISTENER_URL (404)', fix: LISTENER_FIX });
    throw new CheckFailure({ cause: `the listener answered ${answer.status}`, fix: LISTENER_FIX });
}


/** Runs inside `attempt`, whose deadline bounds the send. */
async function sendTestMessage(moveworks: Config['moveworks'], http: HttpClient, log: Logger, to: string): Promise<void> {
    const listener = moveworks.delivery.kind === 'listener';
    const message = testMessage(listener ? 'MOVEWORKS_LISTENER_URL and MOVEWORKS_LISTENER_KEY' : 'MOVEWORKS_EVENT_ID and MOVEWORKS_API_KEY');
    const notifier = notifierFor(moveworks, http, log);
    const outcome = await notifier.send({ type: 'approval.pending', approvalId: TEST_APPROVAL_ID, source: 'iiq', message, recipients: [to] }, currentDeadline()!);
    if (outcome.kind === 'sent') return;
    if (outcome.kind === 'refused') {
        throw new CheckFailure({ cause: outcome.reason, fix: `${to} must be a Moveworks user: the same work email as in the identity provider` });
    }
    if (outcome.kind === 'later') {
        throw new CheckFailure({ cause: outcome.reason, fix: outcome.cause === 'rate-limit' ? 'rate limited, try again in a minute' : 'try again in a minute' });
    }
    if (outcome.kind === 'too-large') throw new CheckFailure({ cause: outcome.reason, fix: LISTENER_FIX });
    const fix = listener ? LISTENER_FIX : /MOVEWORKS_EVENT_ID/.test(outcome.reason) ? EVENT_FIX : outcome.scope === 'every-message' ? KEY_FIX : 'check that the event\'s path defines the slot approval_id';
    throw new CheckFailure({ cause: outcome.reason.split(': check ')[0], fix });
}
