import { RestError, TableTransactionResponse } from '@azure/data-tables';

/**
 * Each row's ETag from the answer of `TableClient.submitTransaction`, in the order of `rowKeys` (the rows
 * of its actions); throws RestError unless the answer shows every row written with its ETag. The SDK
 * throws for a failed operation that the service describes, but reads other answers as success: a batch
 * refused as a whole (one part without a changeset) comes back with no sub-responses, and an operation
 * without an error body keeps its failing status. A row without its ETag fails the transaction too: its
 * next write could only be unconditional, and might overwrite a claim.
 */
export function writtenEtags(response: TableTransactionResponse, rowKeys: string[]): string[] {
    const { subResponses } = response;
    if (subResponses.length !== rowKeys.length) {
        throw new RestError(`The table service answered ${subResponses.length} of the ${rowKeys.length} operations of a transaction`, { statusCode: 500 });
    }
    // The service answers in the order of the operations; a sub-response that names its row (a create's
    // Location) is taken for the one row its name can stand for, and otherwise the answer at its position.
    const namedFor = (rowKey: string) => subResponses.filter((answer) => answer.rowKey !== undefined && keysNamed(answer.rowKey).has(rowKey));
    return rowKeys.map((rowKey, index) => {
        const named = namedFor(rowKey);
        const { status, etag } = named.length === 1 ? named[0] : subResponses[index];
        if (!(status >= 200 && status < 300)) throw new RestError(`The table service refused an operation of a transaction (${status})`, { statusCode: status });
        if (!etag) throw new RestError('The table service answered a written row without an ETag', { statusCode: 500 });
        return etag;
    });
}

/**
 * The row keys a Location's key can stand for: URL-encoded, inside an OData string literal, which doubles
 * each quote (the service does; Azurite does not), so a key with quotes is read both ways.
 */
function keysNamed(key: string): Set<string> {
    try {
        const decoded = decodeURIComponent(key);
        return new Set([decoded, decoded.replace(/''/g, "'")]);
    } catch {
        return new Set();
    }
}
