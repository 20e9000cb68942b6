import { UpstreamError } from './errors';

export interface OffsetPaging {
    pageSize: number;
    /** Stops a runaway pager if the source kept answering full pages. */
    maxPages: number;
    /** A page was over MAX_RESPONSE_BYTES: the same offset is asked again with `limit` items. */
    onSmallerPages(limit: number, offset: number): void;
    onTooManyPages(): void;
}

/**
 * Offset paging as both sources do it: page after page until one says it is the last. A page larger than
 * MAX_RESPONSE_BYTES is asked for again at half the size (and the rest at that size), so a few long items
 * cannot fail every poll.
 */
export async function* offsetPages<Page>(paging: OffsetPaging, fetch: (offset: number, limit: number) => Promise<{ page: Page; last: boolean }>): AsyncIterable<Page> {
    let limit = paging.pageSize;
    for (let requests = 0, offset = 0; requests < paging.maxPages; requests++) {
        let result: { page: Page; last: boolean };
        try {
            result = await fetch(offset, limit);
        } catch (error) {
            if (!(error instanceof UpstreamError && error.tooLarge) || limit === 1) throw error;
            limit = Math.ceil(limit / 2);
            paging.onSmallerPages(limit, offset);
            continue;
        }
        yield result.page;
        if (result.last) return;
        offset += limit;
    }
    paging.onTooManyPages();
}
