import { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { isAcceptableApprovalId } from '../approvalId';
import { actingEmail, normalizeEmail } from '../platform/email';
import { badRequest } from '../platform/errors';

/** Query strings of the read functions -> typed queries; anything malformed answers 400. */

function whole(request: HttpRequest, name: string, fallback: number, min: number, max: number): number {
    const text = request.query.get(name);
    if (text === null || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw badRequest('invalid_query', `${name} must be a whole number from ${min} to ${max}.`);
    return value;
}

function optionalEmail(request: HttpRequest, name: string): string | undefined {
    const text = request.query.get(name);
    if (text === null || text === '') return undefined;
    const email = normalizeEmail(text);
    if (!email) throw badRequest('invalid_email', `${name} is not a valid email address.`);
    return email;
}

const tablePageToken = z.object({ nextPartitionKey: z.string().min(1), nextRowKey: z.string().optional() });

/** Azure Tables continuation tokens are base64 JSON naming the next keys; anything else would fail deep in the SDK. */
function isTablePageToken(token: string): boolean {
    if (token.length > 2048 || !/^[A-Za-z0-9+/=_-]+$/.test(token)) return false;
    try {
        return tablePageToken.safeParse(JSON.parse(Buffer.from(token, 'base64').toString('utf8'))).success;
    } catch {
        return false;
    }
}

/** `signedEmail`: the person a verified caller token names, who sees only their own list. */
export function parsePendingQuery(request: HttpRequest, signedEmail?: string): { approverEmail: string; limit: number; offset: number } {
    const approverEmail = actingEmail(request.query.get('approverEmail') ?? undefined, signedEmail, 'approverEmail');
    return { approverEmail, limit: whole(request, 'limit', 20, 1, 100), offset: whole(request, 'offset', 0, 0, 100_000) };
}

export function parseAuditQuery(request: HttpRequest): { approvalId?: string; approverEmail?: string; limit: number; pageToken?: string } {
    const approvalId = request.query.get('approvalId') ?? undefined;
    if (approvalId !== undefined && !isAcceptableApprovalId(approvalId)) throw badRequest('invalid_query', 'approvalId is not an approval id.');
    const pageToken = request.query.get('pageToken') ?? undefined;
    if (pageToken !== undefined && !isTablePageToken(pageToken)) throw badRequest('invalid_query', 'pageToken is not one this app gave out; start again without it.');
    return { approvalId, approverEmail: optionalEmail(request, 'approverEmail'), limit: whole(request, 'limit', 50, 1, 1000), pageToken };
}

/** `deep=true` (or `1`) asks for the checks; anything else is the plain answer, as before `deep` existed. */
export function parseHealthQuery(request: HttpRequest): { deep: boolean } {
    return { deep: /^(true|1)$/i.test(request.query.get('deep') ?? '') };
}
