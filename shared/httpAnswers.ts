import { RestError } from '@azure/data-tables';
import { HttpResponseInit } from '@azure/functions';
import { ConfigError } from './config';
import { AppError } from './errors';
import { errorMessage, Logger } from './log';

/** Every HTTP answer's error shape: `{ error: { code, message } }` with the status that fits. */
export function errorAnswer(status: number, code: string, message: string): HttpResponseInit {
    return { status, jsonBody: { error: { code, message } } };
}

/** A table call that failed: a RestError, or an AbortError, which a table call aborted at its deadline is (the store was too slow). */
export function isStorageFailure(error: unknown): error is RestError | Error {
    return error instanceof RestError || (error instanceof Error && error.name === 'AbortError');
}

/** The fields of a `storage.failed` event, which the table alert and the runbook read. */
export function storageFailure(error: RestError | Error): { status?: number; code: string } {
    return error instanceof RestError ? { status: error.statusCode, code: tableErrorCode(error) ?? 'unknown' } : { code: 'timed out' };
}

/** The storage error code: the SDK's, or the one in the OData error body when the SDK left it out. */
export function tableErrorCode(error: RestError): string | undefined {
    const details = error.details as { odataError?: { code?: unknown } } | undefined;
    const code = error.code ?? details?.odataError?.code;
    return typeof code === 'string' ? code.slice(0, 80) : undefined;
}

export function toErrorAnswer(error: unknown, log: Logger): HttpResponseInit {
    if (error instanceof AppError) {
        const answer = errorAnswer(error.status, error.code, error.message);
        // RFC 6750: a refused bearer token says so in WWW-Authenticate.
        return error.status === 401 && error.code === 'invalid_token' ? { ...answer, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } } : answer;
    }
    if (error instanceof ConfigError) {
        log.error('config.invalid', { problems: error.problems.join('; ') });
        return errorAnswer(500, 'invalid_configuration', error.message);
    }
    if (isStorageFailure(error)) {
        log.error('storage.failed', storageFailure(error));
        return errorAnswer(503, 'storage_unavailable', 'The app could not reach its state store; try again in a minute.');
    }
    log.error('http.unhandled', { error: errorMessage(error) });
    return errorAnswer(500, 'internal_error', 'Something went wrong on our side; try again, and tell an administrator if it persists.');
}
