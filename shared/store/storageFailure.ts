import { RestError } from '@azure/data-tables';

/**
 * How a failed table call is recognised and described: the HTTP answers, the poll's log and the preflight
 * read a storage failure the same way.
 */

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

/**
 * A table call the store refused for the app's identity (403): no data-plane role for it, which on a first
 * deployment means its role assignment has not reached storage yet (that takes minutes), or network rules.
 */
export function isIdentityRefused(error: RestError | Error): boolean {
    return error instanceof RestError && error.statusCode === 403;
}
