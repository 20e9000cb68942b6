import { TableEntity } from '@azure/data-tables';

/**
 * An entity group transaction holds at most 100 operations on one partition and 4 MiB in all; the size
 * is estimated from the entities with room left for the multipart envelope around each.
 */
export const MAX_ROWS_PER_TRANSACTION = 100;
export const MAX_TRANSACTION_BYTES = 3.5 * 2 ** 20;
const ENVELOPE_BYTES_PER_ROW = 1024;

/**
 * About the bytes an entity takes in a request body: binary values travel as base64, text as UTF-8 (its
 * JSON escapes are left to the margin; a transaction the table still finds too large is written row by row).
 */
export function entityBytes(entity: TableEntity): number {
    let bytes = ENVELOPE_BYTES_PER_ROW;
    for (const name in entity) {
        const value = entity[name];
        if (value instanceof Uint8Array) bytes += name.length + Math.ceil(value.byteLength / 3) * 4;
        else if (typeof value === 'string') bytes += name.length + Buffer.byteLength(value);
        else if (value !== undefined) bytes += name.length + 64;
    }
    return bytes;
}

/** Consecutive groups of items that each fit in one transaction, the first of at most `firstRows`. */
export function transactionGroups<T>(items: T[], bytesOf: (item: T) => number, firstRows = MAX_ROWS_PER_TRANSACTION): T[][] {
    const groups: T[][] = [];
    let bytes = 0;
    for (const item of items) {
        const size = bytesOf(item);
        const last = groups[groups.length - 1];
        const rows = groups.length === 1 ? Math.min(firstRows, MAX_ROWS_PER_TRANSACTION) : MAX_ROWS_PER_TRANSACTION;
        if (last && last.length < rows && bytes + size <= MAX_TRANSACTION_BYTES) {
            last.push(item);
            bytes += size;
        } else {
            groups.push([item]);
            bytes = size;
        }
    }
    return groups;
}
