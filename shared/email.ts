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
