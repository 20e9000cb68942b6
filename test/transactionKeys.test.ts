import { TableTransactionEntityResponse } from '@azure/data-tables';
import { writtenEtags } from '../shared/store/transactionAnswer';

/**
 * writtenEtags matches a sub-response to a row by the key its Location names, URL-decoded
 * only. An OData key literal doubles each quote (RowKey='a''b' for a'b), so a row whose key is another row's
 * key with its quotes doubled takes that other row's ETag. The answer is in the order of the operations, so
 * by position each row would have had its own.
 */
describe('reading the answer of a transaction with quoted keys', () => {
    const answer = (subResponses: TableTransactionEntityResponse[]) => ({ status: 202, subResponses, getResponseForEntity: () => undefined });

    it("gives each row its own ETag when one key is another's with its quotes doubled, as an OData key literal writes it", () => {
        const etags = writtenEtags(
            answer([
                { status: 204, rowKey: "a''b", etag: 'W/"for a\'b"' },
                { status: 204, rowKey: "a''''b", etag: 'W/"for a\'\'b"' },
            ]),
            ["a'b", "a''b"],
        );
        expect(etags).toEqual(['W/"for a\'b"', 'W/"for a\'\'b"']);
    });

    it('gives each row its own ETag when the keys come back with their quotes as written, as Azurite answers', () => {
        const etags = writtenEtags(
            answer([
                { status: 204, rowKey: "a'b", etag: 'W/"for a\'b"' },
                { status: 204, rowKey: "a''b", etag: 'W/"for a\'\'b"' },
            ]),
            ["a'b", "a''b"],
        );
        expect(etags).toEqual(['W/"for a\'b"', 'W/"for a\'\'b"']);
    });
});
