import { UpstreamError } from './errors';

export interface OffsetPaging {
    pageSize: number;
    /** Stops a runaway pager if the source kept answering full pages. */
    maxPages: number;
    /** A page was over MAX_RESPONSE_BYTES: the same offset is asked again with `limit` items. */
    onSmallerPages(limit: number, offset: number): void;
    /** The item at `offset` is over MAX_RESPONSE_BYTES on its own: it is set aside and paging goes on. */
    onItemTooLarge(offset: number): void;
    onTooManyPages(): void;
}

const tooLarge = (error: unknown) => error instanceof UpstreamError && error.tooLarge === true;

/**
 * Offset paging as both sources do it: page after page until one says it is the last, each page with the
 * offset that follows it (where a sweep cut short resumes). A page larger than MAX_RESPONSE_BYTES is asked
 * for again at half the size, and the size doubles back after each page that fits, so a few long items
 * neither fail every poll nor leave the rest of the list paged small. An item too large even alone is set
 * aside.
 */
export async function* offsetPages<Page>(
    paging: OffsetPaging,
    fetch: (offset: number, limit: number) => Promise<{ page: Page; last: boolean }>,
    startOffset = 0,
): AsyncIterable<{ page: Page; nextOffset: number }> {
    let limit = paging.pageSize;
    for (let requests = 0, offset = startOffset; requests < paging.maxPages; requests++) {
        let result: { page: Page; last: boolean };
        try {
            result = await fetch(offset, limit);
        } catch (error) {
            if (!tooLarge(error)) throw error;
            if (limit === 1) {
                paging.onItemTooLarge(offset);
                offset += 1;
            } else {
                limit = Math.ceil(limit / 2);
                paging.onSmallerPages(limit, offset);
            }
            continue;
        }
        yield { page: result.page, nextOffset: offset + limit };
        if (result.last) return;
        offset += limit;
        limit = Math.min(paging.pageSize, limit * 2);
    }
    paging.onTooManyPages();
}

/**
 * Where a sweep resumes, given the offset it had reached: one page earlier, because items completed since
 * shift the rest of the list down, and one that slid below the saved offset would otherwise be missed until
 * the next whole sweep. Whatever is listed twice is recognised as known.
 */
export function resumeOffset(reached: number, pageSize: number): number {
    return Math.max(0, reached - pageSize);
}

/** `items` cut into consecutive batches of at most `size`. */
export function batchesOf<T>(items: T[], size: number): T[][] {
    const batches: T[][] = [];
    for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
    return batches;
}

/**
 * Reads ids in batches of `batchSize`. A batch whose answer is over MAX_RESPONSE_BYTES is split in halves;
 * an id too large to read even alone is answered as undetermined, so the caller neither closes nor reads it.
 */
export async function readInBatches<T>(ids: string[], batchSize: number, read: (batch: string[]) => Promise<T[]>): Promise<{ found: T[]; undetermined: string[] }> {
    const result = { found: [] as T[], undetermined: [] as string[] };
    const batches = batchesOf(ids, batchSize);
    while (batches.length > 0) {
        const batch = batches.shift()!;
        try {
            result.found.push(...(await read(batch)));
        } catch (error) {
            if (!tooLarge(error)) throw error;
            if (batch.length === 1) result.undetermined.push(batch[0]);
            else batches.unshift(batch.slice(0, Math.ceil(batch.length / 2)), batch.slice(Math.ceil(batch.length / 2)));
        }
    }
    return result;
}
