import { TableEntity } from '@azure/data-tables';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * Azure Tables caps a string property at 64 KiB (32 K UTF-16 characters), a binary one at 64 KiB, and an
 * entity at 1 MiB and 252 properties. A list column is kept as plain JSON while it is small; a larger one
 * (a group of a thousand members) is gzipped, which shrinks a list of one domain's addresses several
 * times over, and split into binary chunks `{name}Gz0`, `{name}Gz1`, ...
 */
const MAX_INLINE_LIST_CHARS = 30_000;
const LIST_CHUNK_BYTES = 60_000;

export function writeList(entity: TableEntity, name: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json.length <= MAX_INLINE_LIST_CHARS) {
        entity[name] = json;
        return;
    }
    const packed = gzipSync(json);
    for (let start = 0, chunk = 0; start < packed.length; start += LIST_CHUNK_BYTES, chunk++) {
        entity[`${name}Gz${chunk}`] = new Uint8Array(packed.subarray(start, start + LIST_CHUNK_BYTES));
    }
}

/** An entity holds at most 1 MiB, so no list takes more chunks than this. */
export const MAX_LIST_CHUNKS = Math.ceil(2 ** 20 / LIST_CHUNK_BYTES);

/** Every column a list may be gzipped into, for a read that selects it. */
export const listChunkColumns = (name: string) => Array.from({ length: MAX_LIST_CHUNKS }, (_, chunk) => `${name}Gz${chunk}`);

/** A list column; a column that a query selects and the row lacks may come back as null. */
export function readList(entity: Record<string, unknown>, name: string): unknown[] {
    if (entity[`${name}Gz0`] == null) return JSON.parse(String(entity[name] ?? '[]')) as unknown[];
    const chunks: Buffer[] = [];
    for (let chunk = 0; entity[`${name}Gz${chunk}`] != null; chunk++) chunks.push(asBytes(entity[`${name}Gz${chunk}`]));
    return JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as unknown[];
}

/** Binary properties arrive as base64 text when type conversion is off, as bytes otherwise. */
const asBytes = (value: unknown) => (typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value as Uint8Array));
