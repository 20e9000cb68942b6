import { randomBytes } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { seedIscSampleData } from '../dev/simulator/sampleData';
import { Simulator } from '../dev/simulator/simulator';
import { ConnectRequired, userCredential, UserTokenDependencies } from '../shared/connections/userTokens';
import { HttpClient } from '../shared/platform/http';
import { silentLogger } from '../shared/platform/log';
import { parseTokenKeys, TokenCipher, TokenKey } from '../shared/platform/tokenCipher';
import { ConnectionStore } from '../shared/store/connectionStore';
import { openTable } from '../shared/store/table';

/**
 * Two instances refreshing one approver's connection at once, against the simulated tenant over HTTP and
 * Azurite: however slowly one of them saves the rotated token, and even when ISC revokes every token of a
 * sign-in whose used refresh token comes back, the connection survives.
 */

let tableCount = 0;

describe('refreshing an approver’s token from two instances', () => {
    let simulator: Simulator;
    let table: TableClient;
    let keys: TokenKey[];
    const jamie = 'jamie.rivera@example.com';

    beforeEach(async () => {
        simulator = new Simulator({ sources: ['isc'] });
        await simulator.start();
        keys = parseTokenKeys(`k1:${randomBytes(32).toString('base64')}`) as TokenKey[];
        const tableName = `tokens${Date.now()}${tableCount++}`;
        table = openTable({ connectionString: process.env.TEST_STORAGE_CONNECTION_STRING!, tableName }, tableName, 10_000);
    });
    afterEach(() => simulator.stop());

    /** Jamie connected through the real code flow; the tokens it gave are stored. */
    async function connectJamie(store: ConnectionStore) {
        const people = seedIscSampleData(simulator).people;
        const { ISC_AUTHORIZE_URL, ISC_USER_CLIENT_ID, ISC_USER_CLIENT_SECRET } = simulator.userOAuthSettings();
        const verifier = randomBytes(32).toString('base64url');
        const { createHash } = await import('node:crypto');
        const authorize = new URL(ISC_AUTHORIZE_URL);
        authorize.search = new URLSearchParams({ response_type: 'code', client_id: ISC_USER_CLIENT_ID, redirect_uri: 'https://approvals.example.com/cb', state: 's'.repeat(20), code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' }).toString();
        const code = new URL(simulator.isc.signIn(authorize.toString(), people.jamie.id)).searchParams.get('code')!;
        const answer = await fetch(`${simulator.baseUrl}/oauth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: 'https://approvals.example.com/cb', client_id: ISC_USER_CLIENT_ID, client_secret: ISC_USER_CLIENT_SECRET }),
        });
        const tokens = (await answer.json()) as { refresh_token: string };
        await store.connect({ email: jamie, identityId: people.jamie.id, refreshToken: tokens.refresh_token, connectedAt: Date.now(), lastUsedAt: Date.now() });
        return { ISC_USER_CLIENT_ID, ISC_USER_CLIENT_SECRET };
    }

    /** One instance's token dependencies, on its own table client (`slowWritesMs`: its replacing writes land that late). */
    function instance(client: { ISC_USER_CLIENT_ID: string; ISC_USER_CLIENT_SECRET: string }, slowWritesMs = 0): UserTokenDependencies {
        const slow = new Proxy(table, {
            get: (target, property) =>
                property === 'updateEntity' && slowWritesMs > 0
                    ? async (...args: Parameters<TableClient['updateEntity']>) => {
                          await new Promise((resolve) => setTimeout(resolve, slowWritesMs));
                          return target.updateEntity(...args);
                      }
                    : Reflect.get(target, property, target),
        });
        return {
            store: new ConnectionStore(slow, new TokenCipher(keys)),
            http: new HttpClient({ timeoutMs: 5_000, maxRetries: 0, maxResponseBytes: 1_000_000 }, silentLogger),
            oauth: { baseUrl: simulator.baseUrl, clientId: client.ISC_USER_CLIENT_ID, clientSecret: client.ISC_USER_CLIENT_SECRET },
            log: silentLogger,
            now: Date.now,
            connectLink: async () => ({ connectUrl: 'https://approvals.example.com/connect', expiresAt: 0 }),
        };
    }

    it.each([
        ['neither is slow', 0],
        ['one saves the rotated token 1.5 s late', 1_500],
    ])('gives both a token and keeps the connection when %s', async (_case, slowWritesMs) => {
        const client = await connectJamie(new ConnectionStore(table, new TokenCipher(keys)));
        const [first, second] = [instance(client, slowWritesMs), instance(client)];
        const tokens = await Promise.all([userCredential(first, jamie).fetch(), userCredential(second, jamie).fetch()]);
        expect(tokens.map((token) => typeof token.accessToken)).toEqual(['string', 'string']);
        expect(await second.store.get(jamie)).toMatchObject({ identityId: expect.any(String) });
        expect(await userCredential(second, jamie).fetch()).toMatchObject({ accessToken: expect.any(String) });
    });

    it('never sends ISC a used refresh token, so a tenant that revokes the sign-in on reuse keeps it', async () => {
        const client = await connectJamie(new ConnectionStore(table, new TokenCipher(keys)));
        simulator.isc.refreshReuseRevokesFamily = true;
        const instances = [instance(client, 300), instance(client), instance(client)];
        await Promise.all(instances.map((deps) => userCredential(deps, jamie).fetch()));
        expect(await userCredential(instances[1], jamie).fetch()).toMatchObject({ accessToken: expect.any(String) });
        expect(simulator.isc.userTokenGrants.filter((grant) => grant.grantType === 'refresh_token')).toHaveLength(4);
    });

    it('ends the connection when ISC refuses its refresh token, and asks the approver to connect', async () => {
        const client = await connectJamie(new ConnectionStore(table, new TokenCipher(keys)));
        simulator.isc.revokeUser((await instance(client).store.get(jamie))!.identityId);
        await expect(userCredential(instance(client), jamie).fetch()).rejects.toBeInstanceOf(ConnectRequired);
        expect(await instance(client).store.get(jamie)).toBeUndefined();
    });
});
