import { quoteFilterValue as quote } from '../platform/filterValue';

/**
 * IdentityIQ filter strings (Filter.compile grammar), the only place they are built: every value is
 * validated by its caller, then quoted by quoteFilterValue, so no input can change the filter.
 */

export { quote };

export const equals = (property: string, value: string) => `${property} == ${quote(value)}`;

export const equalsIgnoreCase = (property: string, value: string) => `${property} i== ${quote(value)}`;

export const isIn = (property: string, values: string[]) => `${property}.in({${values.map(quote).join(',')}})`;

export function atOrAfter(property: string, epochMs: number): string {
    if (!Number.isSafeInteger(epochMs) || epochMs < 0) throw new RangeError(`not an epoch-ms instant: ${epochMs}`);
    return `${property} >= DATE$${epochMs}`;
}

export const all = (...parts: string[]) => (parts.length === 1 ? parts[0] : `(${parts.join(' && ')})`);

export const any = (...parts: string[]) => (parts.length === 1 ? parts[0] : `(${parts.join(' || ')})`);
