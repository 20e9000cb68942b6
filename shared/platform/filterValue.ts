/**
 * A value inside a SailPoint filter string (IdentityIQ's Filter.compile and ISC's `filters` share the
 * rule): backslash, then double quote, escaped with a backslash, the whole in double quotes. Callers
 * validate values first; this is the defence in depth, and the only place a value is quoted.
 */
export function quoteFilterValue(value: string): string {
    return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
