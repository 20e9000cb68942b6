import { createHash, timingSafeEqual } from 'node:crypto';
import { CallerVerifier } from './callerAuth';
import { AppError, notFound } from '../platform/errors';

/**
 * Who may read the audit trail at `audit/delegated`, and run the deep health check: the holder of
 * AUDIT_READER_KEY, or a caller token with CALLER_ADMIN_ROLE. Azure does not tell the app which of its
 * keys a request passed with, so these routes are anonymous to Azure and check their own credentials;
 * either can be revoked on its own, without rotating the master key that `audit` takes.
 */
export type AuditReader = { by: 'reader_key' } | { by: 'caller_token'; subject?: string; clientId?: string };

export interface AuditReaderCredentials {
    /** The `x-audit-key` header. */
    key: string | null;
    /** The `Authorization` header. */
    authorization: string | null;
}

/** The credentials a request carries for the audit routes and the deep health check. */
export function auditReaderCredentials(request: { headers: { get(name: string): string | null } }): AuditReaderCredentials {
    return { key: request.headers.get('x-audit-key'), authorization: request.headers.get('authorization') };
}

export async function authorizeAuditReader(
    { key: header, authorization }: AuditReaderCredentials,
    readerKey: string | undefined,
    admins: CallerVerifier | undefined,
): Promise<AuditReader> {
    // An empty header is no key: a client that always sends the header can still use a token.
    const key = header === null || header.trim() === '' ? null : header;
    if (!readerKey && !admins) {
        throw notFound('not_configured', 'Delegated access (GET /api/audit/delegated, GET /api/health?deep=true) is off: set AUDIT_READER_KEY, or CALLER_ADMIN_ROLE with caller tokens; GET /api/audit takes the master key.');
    }
    if (key !== null || !admins) {
        if (readerKey && key !== null && sameKey(key, readerKey)) return { by: 'reader_key' };
        throw new AppError(401, 'invalid_key', 'Send the audit reader key (AUDIT_READER_KEY) in the x-audit-key header.');
    }
    const caller = await admins.verifyAdmin(authorization);
    return { by: 'caller_token', subject: caller.subject, clientId: caller.clientId };
}

/** Compared in constant time, over digests so that the lengths do not show either. */
function sameKey(given: string, expected: string): boolean {
    const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
    return timingSafeEqual(digest(given), digest(expected));
}
