import { HttpResponseInit } from '@azure/functions';
import { Config, ConfigError } from '../config';
import { ActionOutcome, REFUSAL_OUTCOMES } from '../contract';
import { AppError } from '../platform/errors';
import { errorMessage, Logger } from '../platform/log';
import { isIdentityRefused, isStorageFailure, storageFailure } from '../store/storageFailure';

/** Every HTTP answer's error shape: `{ error: { code, message } }` with the status that fits. */
export function errorAnswer(status: number, code: string, message: string, details: Record<string, string> = {}): HttpResponseInit {
    return { status, jsonBody: { error: { ...details, code, message } } };
}

export function toErrorAnswer(error: unknown, log: Logger): HttpResponseInit {
    if (error instanceof AppError) {
        const answer = errorAnswer(error.status, error.code, error.message, error.details);
        // RFC 6750: a refused bearer token says so in WWW-Authenticate.
        return error.status === 401 && error.code === 'invalid_token' ? { ...answer, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } } : answer;
    }
    if (error instanceof ConfigError) {
        log.error('config.invalid', { problems: error.problems.join('; ') });
        return errorAnswer(500, 'invalid_configuration', error.message);
    }
    if (isStorageFailure(error)) {
        const failure = storageFailure(error);
        log.error('storage.failed', failure);
        // The first minutes after a deployment: the identity's role assignment has not reached storage yet.
        if (isIdentityRefused(error)) {
            return errorAnswer(
                503,
                'storage_unavailable',
                `The app's state store refused its identity (403 ${failure.code}). Right after a deployment the identity's role assignment can take a few minutes to apply: try again in a few minutes, and tell an administrator if it persists.`,
            );
        }
        return errorAnswer(503, 'storage_unavailable', 'The app could not reach its state store; try again in a minute.');
    }
    log.error('http.unhandled', { error: errorMessage(error) });
    return errorAnswer(500, 'internal_error', 'Something went wrong on our side; try again, and tell an administrator if it persists.');
}

const isRefusalOutcome = (code: string): code is ActionOutcome['outcome'] => (REFUSAL_OUTCOMES as readonly string[]).includes(code);

/**
 * An action's error answer. With ACTION_REFUSALS_AS=body, a refusal that is the approver's business
 * (REFUSAL_OUTCOMES) answers 200 `{ outcome, message }` (and `connectUrl` with connect_required); caller
 * authentication, bad requests, and server or source failures keep their statuses.
 */
export function toActionAnswer(error: unknown, refusalsAs: Config['refusalsAs'] | undefined, log: Logger): HttpResponseInit {
    if (refusalsAs === 'body' && error instanceof AppError && isRefusalOutcome(error.code)) {
        const connectUrl = error.details?.connectUrl;
        const outcome: ActionOutcome = { outcome: error.code, message: error.message, ...(connectUrl ? { connectUrl } : {}) };
        return { status: 200, jsonBody: outcome };
    }
    return toErrorAnswer(error, log);
}
