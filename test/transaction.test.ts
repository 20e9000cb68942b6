import { AzureNamedKeyCredential, generateAccountSas, RestError, TableTransactionEntityResponse } from '@azure/data-tables';
import { AZURITE_ACCOUNT_KEY } from '../dev/azurite';
import { ApprovalRecord } from '../shared/store/approvalRecord';
import { ApprovalStore } from '../shared/store/approvalStore';
import { openTable } from '../shared/store/table';
import { writtenEtags } from '../shared/store/transactionAnswer';

/**
 * The store's entity group transactions (TableClient.submitTransaction): against Azurite, what it inserts
 * and replaces a hundred rows at a time and how it falls back to row writes when a transaction fails; and
 * how it reads answers Azurite does not give.
 */

let tableCount = 0;

function testConnectionString(): string {
    const connectionString = process.env.TEST_STORAGE_CONNECTION_STRING;
    if (!connectionString) throw new Error('TEST_STORAGE_CONNECTION_STRING is not set: run the tests through jest');
    return connectionString;
}

/** A store on a fresh table, with the table requests it makes; `batchAnswer` rewrites what a transaction answers. */
function freshStore(options: { connectionString?: string; batchAnswer?: (text: string) => string } = {}) {
    const tableName = `tx${Date.now()}${tableCount++}`;
    const table = openTable({ connectionString: options.connectionString ?? testConnectionString(), tableName }, tableName, 10_000);
    const requests: { method: string; url: string; body: string }[] = [];
    table.pipeline.addPolicy({
        name: 'watch',
        async sendRequest(request, next) {
            requests.push({ method: request.method, url: request.url, body: typeof request.body === 'string' ? request.body : '' });
            const response = await next(request);
            if (options.batchAnswer && isBatch(request) && response.bodyAsText) response.bodyAsText = options.batchAnswer(response.bodyAsText);
            return response;
        },
    });
    return {
        store: new ApprovalStore(table),
        table,
        /** Transactions on the approvals' partition (not the person index's). */
        transactions: () => requests.filter((request) => isBatch(request) && request.body.includes('"PartitionKey":"iiq"')),
        /** Single-row writes on the approvals' partition. */
        rowWrites: () => requests.filter((request) => !isBatch(request) && request.method !== 'GET' && request.body.includes('"PartitionKey":"iiq"')),
    };
}

const isBatch = ({ url }: { url: string }) => new URL(url).pathname.endsWith('/$batch');

const record = (id: string, extra: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
    source: 'iiq',
    id,
    status: 'open',
    approverKey: 'identity:jamie',
    approverNames: 'Jamie Rivera',
    changedAt: 1_700_000_000_000,
    message: 'Approve access to the finance share?',
    recipients: ['jamie.rivera@example.com'],
    notified: [],
    refused: [],
    step: 0,
    summary: "Amy Cox's request",
    remindersSent: 0,
    reminderOwed: [],
    sendLeaseUntil: 0,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...extra,
});

async function insertAll(store: ApprovalStore, records: ApprovalRecord[]) {
    const all = { inserted: [] as ApprovalRecord[], existing: [] as string[], refused: [] as string[] };
    for await (const { inserted, existing, refused } of store.insertMany(records)) {
        all.inserted.push(...inserted);
        all.existing.push(...existing);
        all.refused.push(...refused.map(({ id }) => id));
    }
    return all;
}

/** Changes asked for at once: the first two are written alone, the rest gather into one transaction (see modifyBatched). */
const modifyAllBatched = (store: ApprovalStore, records: ApprovalRecord[], change: (row: ApprovalRecord) => ApprovalRecord) =>
    Promise.all(records.map((row) => store.modifyBatched(row, change)));

/** Each record's ETag is its own row's: a conditional write with it succeeds. */
async function expectOwnEtags(store: ApprovalStore, records: (ApprovalRecord | undefined)[]) {
    for (const written of records) {
        expect(written?.etag).toEqual(expect.any(String));
        expect(await store.update({ ...written!, summary: 'checked' })).toBeDefined();
    }
}

const REFUSED_WHOLE = [
    '--batchresponse_x',
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    '',
    'HTTP/1.1 400 Bad Request',
    'Content-Type: application/json;odata=minimalmetadata;charset=utf-8',
    '',
    '{"odata.error":{"code":"InvalidInput","message":{"lang":"en-US","value":"One of the request inputs is not valid."}}}',
    '--batchresponse_x--',
    '',
].join('\r\n');

const ODD_KEYS = [`it's 100% "odd" + spaced é ✅`, `a'b%2F c+d`, 'ünï cødé 😀', 'x"y', 'plain'];

describe('the store writing rows in entity group transactions', () => {
    it('inserts rows in one transaction and answers each its own ETag, whatever its key holds', async () => {
        const { store, transactions, rowWrites } = freshStore();
        const { inserted, existing, refused } = await insertAll(store, ODD_KEYS.map((id) => record(id)));

        expect(transactions()).toHaveLength(1);
        expect(rowWrites()).toHaveLength(0);
        expect(existing).toEqual([]);
        expect(refused).toEqual([]);
        expect(inserted.map(({ id }) => id)).toEqual(ODD_KEYS);
        await expectOwnEtags(store, inserted);
    });

    it('replaces gathered rows in one transaction, each on its ETag, and answers the new ETags', async () => {
        const { store, transactions, rowWrites } = freshStore();
        const { inserted } = await insertAll(store, [...ODD_KEYS, 'f', 'g', 'h'].map((id) => record(id)));
        const batchesBefore = transactions().length;
        const rowWritesBefore = rowWrites().length;

        const written = await modifyAllBatched(store, inserted, (row) => ({ ...row, remindersSent: 1 }));

        expect(transactions().length - batchesBefore).toBe(1);
        expect(rowWrites().length - rowWritesBefore).toBe(2);
        expect(written.map((row) => row?.remindersSent)).toEqual(inserted.map(() => 1));
        await expectOwnEtags(store, written);
    });

    it('writes row by row when one row of the transaction changed since it was read, and keeps both changes', async () => {
        const { store, transactions } = freshStore();
        const { inserted } = await insertAll(store, ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => record(id)));
        const changedMeanwhile = await store.update({ ...inserted[4], summary: 'changed meanwhile' });
        expect(changedMeanwhile).toBeDefined();
        const batchesBefore = transactions().length;

        const written = await modifyAllBatched(store, inserted, (row) => ({ ...row, remindersSent: 1 }));

        expect(transactions().length - batchesBefore).toBe(1);
        expect(written.every((row) => row?.remindersSent === 1)).toBe(true);
        expect(await store.get('iiq', 'e')).toMatchObject({ summary: 'changed meanwhile', remindersSent: 1 });
        await expectOwnEtags(store, written);
    });

    it('inserts row by row when the transaction meets a row that exists, and names it', async () => {
        const { store, transactions } = freshStore();
        await store.insert(record('taken', { summary: 'first' }));

        const { inserted, existing } = await insertAll(store, [record('new 1'), record('taken', { summary: 'second' }), record('new 2')]);

        expect(transactions()).toHaveLength(1);
        expect(inserted.map(({ id }) => id)).toEqual(['new 1', 'new 2']);
        expect(existing).toEqual(['taken']);
        expect(await store.get('iiq', 'taken')).toMatchObject({ summary: 'first' });
        await expectOwnEtags(store, inserted);
    });

    it('keeps every kind of value a row holds: 64-bit times, texts, and a long list gzipped into binary', async () => {
        const { store, transactions } = freshStore();
        const reminderOwed = Array.from({ length: 3000 }, (_, index) => `person.${index}@example.com`);
        const rows = ['a', 'b', 'c', 'd'].map((id) => record(id, { message: 'Zoë — 😀 <&> "quoted"', dueAt: 4_102_444_800_123, sourceStep: 2, reminderOwed }));
        const expectStored = async (remindersSent: number) => {
            for (const row of rows) expect(await store.get('iiq', row.id)).toMatchObject({ ...row, remindersSent, indexedFor: expect.any(String), etag: expect.any(String) });
        };

        const { inserted } = await insertAll(store, rows);
        await expectStored(0);
        await modifyAllBatched(store, inserted, (row) => ({ ...row, remindersSent: 1 }));
        await expectStored(1);
        expect(transactions()).toHaveLength(2);
    });

    it.each([
        ['without ETags', (text: string) => text.replace(/^ETag:.*\r\n/gim, '')],
        // As the service refuses a malformed batch, which the SDK reads as a success with no rows.
        ['as refused whole, in one part without a changeset', () => REFUSED_WHOLE],
    ])('counts a transaction answered %s as failed, and still answers each row with its ETag', async (_, batchAnswer) => {
        // The rows are written; only the answer says otherwise.
        const { store, transactions, rowWrites } = freshStore({ batchAnswer });
        const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
        // Rows of the same poll (its lease), so an insert that finds its row can tell it wrote it.
        const rows = ids.map((id) => record(id, { leaseHolder: 'poll-1', recipients: [] }));

        const { inserted, existing } = await insertAll(store, rows);
        expect(transactions()).toHaveLength(1);
        expect(existing).toEqual([]);
        expect(inserted.map(({ id }) => id)).toEqual(ids);
        await expectOwnEtags(store, inserted);

        const current = await Promise.all(ids.map((id) => store.get('iiq', id)));
        const rowWritesBefore = rowWrites().length;
        const written = await modifyAllBatched(store, current.map((row) => row!), (row) => ({ ...row, remindersSent: 1 }));
        expect(transactions()).toHaveLength(2);
        // Two rows written alone, then the transaction's four again one by one: a refused write each, then the write.
        expect(rowWrites().length - rowWritesBefore).toBe(2 + 4 * 2);
        expect(written.every((row) => row?.remindersSent === 1)).toBe(true);
        await expectOwnEtags(store, written);
    });

    it('works when the table is reached with a SAS connection string', async () => {
        const endpoint = /TableEndpoint=([^;]+)/.exec(testConnectionString())![1];
        const sas = generateAccountSas(new AzureNamedKeyCredential('devstoreaccount1', AZURITE_ACCOUNT_KEY), {
            permissions: { add: true, update: true, query: true, write: true, list: true, delete: true },
            resourceTypes: 'sco',
        });
        const { store, table, transactions } = freshStore({ connectionString: `TableEndpoint=${endpoint};SharedAccessSignature=${sas}` });

        const { inserted } = await insertAll(store, ['a', 'b', "it's c", 'd e'].map((id) => record(id)));
        const written = await modifyAllBatched(store, inserted, (row) => ({ ...row, remindersSent: 1 }));

        expect(transactions().length).toBeGreaterThanOrEqual(2);
        expect(written.every((row) => row?.remindersSent === 1)).toBe(true);
        const keys: string[] = [];
        for await (const entity of table.listEntities({ queryOptions: { filter: "PartitionKey eq 'iiq'" } })) keys.push(entity.rowKey!);
        expect(keys.sort()).toEqual(['a', 'b', 'd e', "it's c"]);
    });
});

describe('reading the answer of a transaction', () => {
    const answer = (subResponses: TableTransactionEntityResponse[]) => ({ status: 202, subResponses, getResponseForEntity: () => undefined });

    it('takes the ETag of a sub-response that names its row (URL-encoded) for that row, of others by position', () => {
        const etags = writtenEtags(
            answer([
                { status: 204, rowKey: 'spaced%20%C3%A9', etag: 'W/"2"' },
                { status: 204, rowKey: 'plain', etag: 'W/"1"' },
                { status: 204, etag: 'W/"3"' },
            ]),
            ['plain', 'spaced é', 'third'],
        );
        expect(etags).toEqual(['W/"1"', 'W/"2"', 'W/"3"']);
    });

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

    it('fails with the status of an operation that failed without an error body, which the SDK passes on', () => {
        const read = () => writtenEtags(answer([{ status: 204, etag: 'W/"1"' }, { status: 500 }]), ['a', 'b']);
        expect(read).toThrow(RestError);
        expect(read).toThrow(expect.objectContaining({ statusCode: 500 }));
    });
});
