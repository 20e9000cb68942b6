import { AppError, badRequest } from './errors';

/**
 * Approver emails arrive from chat and end up inside IdentityIQ filter strings, so they are held to a
 * strict shape: no quotes, backslashes, whitespace, control characters or filter punctuation. Emails from
 * the sources go through the same rule, checked before lower-casing: `'\u212A'.toLowerCase()` is `k`, so a
 * look-alike address must not turn into someone else's.
 */
const EMAIL_PATTERN = /^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$/;

export function normalizeEmail(candidate: string): string | undefined {
    const trimmed = candidate.trim();
    return trimmed.length <= 254 && EMAIL_PATTERN.test(trimmed) ? trimmed.toLowerCase() : undefined;
}

/** A request's email, normalized; 400 with `codes` when it is missing or not a plain address. */
export function requiredEmail(value: string | undefined, name: string, codes: { missing: string; invalid: string }): string {
    if (value === undefined || value.trim() === '') throw badRequest(codes.missing, `${name} is required.`);
    const normalized = normalizeEmail(value);
    if (!normalized) throw badRequest(codes.invalid, `${name} is not a valid email address.`);
    return normalized;
}

/**
 * Who acts: the email a verified caller token names (CALLER_USER_EMAIL_CLAIM), which a different email in
 * the request cannot override; without one, the email the request gives.
 */
export function actingEmail(given: string | undefined, signedEmail: string | undefined, name: string): string {
    if (!signedEmail) return requiredEmail(given, name, { missing: 'missing_email', invalid: 'invalid_email' });
    if (given !== undefined && given.trim() !== '' && normalizeEmail(given) !== signedEmail) {
        throw new AppError(403, 'approver_mismatch', `${name} names someone other than the signed-in user the caller's token names; nothing was done.`);
    }
    return signedEmail;
}
