import { AzureNamedKeyCredential, generateAccountSas, RestError, TableClient } from '@azure/data-tables';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { AZURITE_ACCOUNT_KEY } from '../dev/azurite';
import { submitTransaction, TableEntity } from '../shared/store/transaction';

/** The store's entity group transactions, written without the SDK's per-operation pipeline, against Azurite. */

let tableCount = 0;

async function freshTable(): Promise<TableClient> {
    const connectionString = process.env.TEST_STORAGE_CONNECTION_STRING;
    if (!connectionString) throw new Error('TEST_STORAGE_CONNECTION_STRING is not set: run the tests through jest');
    const table = TableClient.fromConnectionString(connectionString, `tx${Date.now()}${tableCount++}`, { allowInsecureConnection: true });
    await table.createTable();
    return table;
}

const row = (rowKey: string, extra: Record<string, unknown> = {}): TableEntity => ({ partitionKey: 'iiq', rowKey, status: 'open', ...extra });

const failureOf = (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => error);

async function rowKeys(table: TableClient): Promise<string[]> {
    const keys: string[] = [];
    for await (const entity of table.listEntities()) keys.push(entity.rowKey!);
    return keys.sort();
}

describe('an entity group transaction', () => {
    it('creates every row and answers each ETag, which a later conditional replace accepts', async () => {
        const table = await freshTable();
        const created = await submitTransaction(table, ['a', 'b', 'c'].map((key) => ({ kind: 'create', entity: row(key) })));
        expect(created).toHaveLength(3);
        const replaced = await submitTransaction(
            table,
            ['a', 'b', 'c'].map((key, index) => ({ kind: 'replace', entity: row(key, { status: 'decided' }), etag: created[index].etag! })),
        );
        expect(replaced.map(({ etag }) => etag)).not.toEqual(created.map(({ etag }) => etag));
        expect((await table.getEntity('iiq', 'b')).status).toBe('decided');
    });

    it('writes nothing when one replace carries an ETag the row no longer has, and fails with 412', async () => {
        const table = await freshTable();
        const [a, b] = await submitTransaction(table, [{ kind: 'create', entity: row('a') }, { kind: 'create', entity: row('b') }]);
        await table.updateEntity(row('b', { status: 'deciding' }), 'Replace');
        const error = await failureOf(
            submitTransaction(table, [
                { kind: 'replace', entity: row('a', { status: 'closed' }), etag: a.etag! },
                { kind: 'replace', entity: row('b', { status: 'closed' }), etag: b.etag! },
            ]),
        );
        expect(error).toBeInstanceOf(RestError);
        expect(error).toMatchObject({ statusCode: 412 });
        expect((await table.getEntity('iiq', 'a')).status).toBe('open');
    });

    it('fails with 409 when a create finds its row, and creates none of the others', async () => {
        const table = await freshTable();
        await submitTransaction(table, [{ kind: 'create', entity: row('taken') }]);
        const error = await failureOf(submitTransaction(table, [{ kind: 'create', entity: row('new') }, { kind: 'create', entity: row('taken') }]));
        expect(error).toMatchObject({ statusCode: 409 });
        expect(await rowKeys(table)).toEqual(['taken']);
    });

    it('keeps every kind of value the store writes, as the SDK reads them back', async () => {
        const table = await freshTable();
        const bytes = Uint8Array.from([0, 1, 2, 250, 255]);
        const key = `it's 100% "odd" + spaced é ✅`;
        await submitTransaction(table, [
            {
                kind: 'create',
                entity: row(key, { big: { value: '9007199254740993', type: 'Int64' }, small: 7, text: 'Zoë — 😀 <&>', chunk: bytes, flag: true, empty: '' }),
            },
        ]);
        const read = await table.getEntity<Record<string, unknown>>('iiq', key, { disableTypeConversion: true });
        expect(read).toMatchObject({ rowKey: key, small: { value: '7', type: 'Int32' }, text: { value: 'Zoë — 😀 <&>', type: 'String' }, flag: { value: 'true', type: 'Boolean' } });
        expect(read.big).toEqual({ value: '9007199254740993', type: 'Int64' });
        expect(Buffer.from(String((read.chunk as { value: string }).value), 'base64')).toEqual(Buffer.from(bytes));
    });

    it('replaces a row whose key holds quotes and URL characters', async () => {
        const table = await freshTable();
        const key = `a'b%2F c+d`;
        const [created] = await submitTransaction(table, [{ kind: 'create', entity: row(key) }]);
        await submitTransaction(table, [{ kind: 'replace', entity: row(key, { status: 'closed' }), etag: created.etag! }]);
        expect((await table.getEntity('iiq', key)).status).toBe('closed');
    });

    it('works when the table is reached with a SAS connection string', async () => {
        const endpoint = /TableEndpoint=([^;]+)/.exec(process.env.TEST_STORAGE_CONNECTION_STRING ?? '')![1];
        const sas = generateAccountSas(new AzureNamedKeyCredential('devstoreaccount1', AZURITE_ACCOUNT_KEY), {
            permissions: { add: true, update: true, query: true, write: true, list: true, delete: true },
            resourceTypes: 'sco',
        });
        const table = TableClient.fromConnectionString(`TableEndpoint=${endpoint};SharedAccessSignature=${sas}`, `sas${Date.now()}`, { allowInsecureConnection: true });
        await table.createTable();
        const [created] = await submitTransaction(table, [{ kind: 'create', entity: row('a') }, { kind: 'create', entity: row('b') }]);
        await submitTransaction(table, [{ kind: 'replace', entity: row('a', { status: 'closed' }), etag: created.etag! }]);
        expect((await table.getEntity('iiq', 'a')).status).toBe('closed');
        expect(await rowKeys(table)).toEqual(['a', 'b']);
    });

    it('names the status and the service message of a batch refused as a whole', async () => {
        const table = await freshTable();
        const error = await failureOf(submitTransaction(table, [{ kind: 'create', entity: row('a') }, { kind: 'create', entity: row('a') }]));
        expect(error).toBeInstanceOf(RestError);
        expect((error as RestError).statusCode).toBeGreaterThanOrEqual(400);
        expect((error as RestError).statusCode).toBeLessThan(500);
        expect((error as Error).message).toMatch(/refused the transaction \(\d{3} \w+\): \S/);
    });

    it('fails rather than answer a written row without its ETag, so no later write of it can go unconditional', async () => {
        // A table service whose changeset answer carries no ETag line.
        const server = createServer((request, response) => {
            request.resume();
            request.on('end', () => {
                response.writeHead(202, { 'Content-Type': 'multipart/mixed; boundary=batchresponse_x' });
                response.end(
                    ['--batchresponse_x', 'Content-Type: multipart/mixed; boundary=changesetresponse_y', '', '--changesetresponse_y', 'Content-Type: application/http', '', 'HTTP/1.1 204 No Content', '', '', '--changesetresponse_y--', '--batchresponse_x--', ''].join('\r\n'),
                );
            });
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        try {
            const port = (server.address() as AddressInfo).port;
            const table = TableClient.fromConnectionString(
                `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_ACCOUNT_KEY};TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`,
                'fake',
                { allowInsecureConnection: true },
            );
            const error = await failureOf(submitTransaction(table, [{ kind: 'create', entity: row('a') }]));
            expect(error).toBeInstanceOf(RestError);
            expect((error as Error).message).toMatch(/without an ETag/);
        } finally {
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
        }
    });
});
