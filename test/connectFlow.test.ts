import { randomBytes } from 'node:crypto';
import { seedIscSampleData } from '../dev/simulator/sampleData';
import { Simulator } from '../dev/simulator/simulator';
import { ConnectDependencies, ConnectRefused, finish, link, start } from '../shared/connections/connect';
import { HttpClient } from '../shared/platform/http';
import { silentLogger } from '../shared/platform/log';
import { parseTokenKeys, TokenCipher, TokenKey } from '../shared/platform/tokenCipher';
import { ConnectionStore } from '../shared/store/connectionStore';
import { openTable } from '../shared/store/table';

/**
 * The connect flow's clocks, against the simulated tenant over HTTP and Azurite: a connect link lasts 7 days,
 * a sign-in under way 10 minutes. (test/iscUserMode.test.ts covers the flow through the functions.)
 */

const DAY = 86_400_000;
let tableCount = 0;

describe('the connect flow in time', () => {
    let simulator: Simulator;
    let deps: ConnectDependencies;
    let sample: ReturnType<typeof seedIscSampleData>;
    let clock: number;

    beforeEach(async () => {
        simulator = new Simulator({ sources: ['isc'] });
        await simulator.start();
        sample = seedIscSampleData(simulator);
        const oauth = simulator.userOAuthSettings();
        const keys = parseTokenKeys(`k1:${randomBytes(32).toString('base64')}`) as TokenKey[];
        const tableName = `flow${Date.now()}${tableCount++}`;
        const table = openTable({ connectionString: process.env.TEST_STORAGE_CONNECTION_STRING!, tableName }, tableName, 10_000);
        clock = Date.now();
        deps = {
            settings: {
                oauth: { baseUrl: simulator.baseUrl, clientId: oauth.ISC_USER_CLIENT_ID, clientSecret: oauth.ISC_USER_CLIENT_SECRET },
                authorizeUrl: oauth.ISC_AUTHORIZE_URL,
                publicBaseUrl: 'https://approvals.example.com',
                tokenKeys: keys,
            },
            store: new ConnectionStore(table, new TokenCipher(keys)),
            http: new HttpClient({ timeoutMs: 5_000, maxRetries: 0, maxResponseBytes: 1_000_000 }, silentLogger),
            log: silentLogger,
            now: () => clock,
            personOf: async (email) => ({ id: sample.people.jamie.id, name: 'Jamie Rivera', email }),
        };
    });
    afterEach(() => simulator.stop());

    /** Opens the link and signs in as Jamie: the callback's query and the browser's cookie value. */
    async function signInAsJamie(connectUrl: string) {
        const { location, cookie } = await start(deps, new URL(connectUrl).searchParams.get('ticket')!);
        const callback = new URL(simulator.isc.signIn(location, sample.people.jamie.id));
        return { query: { code: callback.searchParams.get('code')!, state: callback.searchParams.get('state')! }, browser: cookie.split(';')[0].split('=')[1] };
    }

    it('connects through a link opened six days after it was made', async () => {
        const { connectUrl } = await link(deps, 'jamie.rivera@example.com');
        clock += 6 * DAY;
        const { query, browser } = await signInAsJamie(connectUrl);
        await expect(finish(deps, query, browser)).resolves.toEqual({ name: 'Jamie Rivera' });
    });

    it('refuses a link opened after its 7 days, before SailPoint is asked anything', async () => {
        const { connectUrl } = await link(deps, 'jamie.rivera@example.com');
        clock += 7 * DAY + 1_000;
        await expect(start(deps, new URL(connectUrl).searchParams.get('ticket')!)).rejects.toEqual(new ConnectRefused(400, 'This connect link is not valid or has expired. Ask for a new one in chat.'));
        expect(simulator.calls['isc.token']).toBe(0);
    });

    it('refuses a sign-in that comes back after 10 minutes, and connects nobody', async () => {
        const { connectUrl } = await link(deps, 'jamie.rivera@example.com');
        const { query, browser } = await signInAsJamie(connectUrl);
        clock += 10 * 60_000 + 1_000;
        await expect(finish(deps, query, browser)).rejects.toMatchObject({ status: 400, reason: expect.stringContaining('longer than 10 minutes') });
        expect(await deps.store.get('jamie.rivera@example.com')).toBeUndefined();
        expect(simulator.isc.userTokenGrants).toEqual([]);
    });
});
