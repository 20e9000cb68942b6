import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { parseTokenKeys, TokenCipher, TokenKey } from '../shared/platform/tokenCipher';
import { ConnectionStore } from '../shared/store/connectionStore';
import { openTable } from '../shared/store/table';

/** Approvers' ISC connections and sign-ins under way, against Azurite. */

let tableCount = 0;
const keys = (text: string) => parseTokenKeys(text) as TokenKey[];
const currentKey = `k2:${randomBytes(32).toString('base64')}`;

function freshTable(): TableClient {
    const connectionString = process.env.TEST_STORAGE_CONNECTION_STRING;
    if (!connectionString) throw new Error('TEST_STORAGE_CONNECTION_STRING is not set: run the tests through jest');
    const tableName = `conn${Date.now()}${tableCount++}`;
    return openTable({ connectionString, tableName }, tableName, 10_000);
}

const alice = { email: 'alice@example.com', identityId: 'id-alice', refreshToken: 'refresh-alice-1', connectedAt: 1_000, lastUsedAt: 1_000 };

describe('ISC connections in the state table', () => {
    let table: TableClient;
    let store: ConnectionStore;
    beforeEach(() => {
        table = freshTable();
        store = new ConnectionStore(table, new TokenCipher(keys(currentKey)));
    });

    it('keeps the refresh token only sealed, never in the clear, and reads it back', async () => {
        await store.connect(alice);
        const rows = [];
        for await (const row of table.listEntities({ disableTypeConversion: true })) rows.push(row);
        expect(JSON.stringify(rows)).not.toContain('refresh-alice-1');
        expect(JSON.stringify(rows)).not.toContain('alice@example.com');
        expect(await store.get('alice@example.com')).toMatchObject({ identityId: 'id-alice', refreshToken: 'refresh-alice-1' });
    });

    it('lets one of two instances save a rotated refresh token, and tells the other it lost', async () => {
        const connected = await store.connect(alice);
        const [one, two] = await Promise.all([store.rotate(connected, 'refresh-alice-2', 2_000), store.rotate(connected, 'refresh-alice-3', 2_000)]);
        expect([one, two].filter((saved) => saved !== undefined)).toHaveLength(1);
        const kept = (one ?? two)!.refreshToken;
        expect((await store.get('alice@example.com'))?.refreshToken).toBe(kept);
    });

    it('does not bring back a connection the person removed while a refresh was under way', async () => {
        const connected = await store.connect(alice);
        expect(await store.disconnect('alice@example.com')).toBe(true);
        expect(await store.rotate(connected, 'refresh-alice-2', 2_000)).toBeUndefined();
        expect(await store.get('alice@example.com')).toBeUndefined();
    });

    it('reads a connection sealed with a key no longer listed as not connected', async () => {
        await new ConnectionStore(table, new TokenCipher(keys(`k1:${randomBytes(32).toString('base64')}`))).connect(alice);
        expect(await store.get('alice@example.com')).toBeUndefined();
    });

    it('lets one instance at a time hold the right to refresh a connection', async () => {
        const connected = await store.connect(alice);
        const [one, two] = await Promise.all([store.lease(connected, 9_000), store.lease(connected, 9_000)]);
        expect([one, two].filter((leased) => leased !== undefined)).toHaveLength(1);
        expect((await store.get('alice@example.com'))?.refreshingUntil).toBe(9_000);
        await store.rotate((one ?? two)!, 'refresh-alice-2', 2_000);
        expect((await store.get('alice@example.com'))?.refreshingUntil).toBeUndefined();
    });

    it('removes connections unused since the cutoff, and keeps the others', async () => {
        await store.connect(alice);
        await store.connect({ ...alice, email: 'bob@example.com', lastUsedAt: 5_000 });
        expect(await store.removeUnusedBefore(2_000)).toBe(1);
        expect(await store.get('alice@example.com')).toBeUndefined();
        expect(await store.get('bob@example.com')).toBeDefined();
    });

    it('gives a sign-in under way to one callback only, however many arrive at once', async () => {
        const state = randomBytes(24).toString('base64url');
        await store.startFlow({ state, email: 'alice@example.com', verifier: 'the-verifier-0123456789', browserDigest: 'digest', expiresAt: 9_000 });
        const read = await store.readFlow(state);
        expect(read).toMatchObject({ email: 'alice@example.com', verifier: 'the-verifier-0123456789' });
        const taken = await Promise.all([store.consumeFlow(read!), store.consumeFlow(read!), store.consumeFlow(read!)]);
        expect(taken.filter(Boolean)).toHaveLength(1);
        expect(await store.readFlow(state)).toBeUndefined();
    });

    it('keeps the PKCE verifier sealed while the sign-in is under way', async () => {
        const state = randomBytes(24).toString('base64url');
        await store.startFlow({ state, email: 'alice@example.com', verifier: 'the-verifier-0123456789', browserDigest: 'digest', expiresAt: 9_000 });
        const rows = [];
        for await (const row of table.listEntities({ disableTypeConversion: true })) rows.push(row);
        expect(JSON.stringify(rows)).not.toContain('the-verifier-0123456789');
    });

    it.each(['short', 'has spaces in it 0123456789', "quote'0123456789abcdef"])('knows no sign-in for a malformed state %j', async (state) => {
        expect(await store.readFlow(state)).toBeUndefined();
    });
});
