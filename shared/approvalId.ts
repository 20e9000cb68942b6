/**
 * The one rule for what may name an approval, for ids from callers and from the sources alike: it is also
 * a valid Azure Tables row key (no `/`, `\`, `#`, `?` or control characters, well under 1 KiB).
 */
const APPROVAL_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const isAcceptableApprovalId = (id: string) => APPROVAL_ID.test(id);
