import { HttpClient } from '../shared/platform/http';
import { loadConfig } from '../shared/config';
import { PluginClient } from '../shared/iiq/pluginClient';
import { silentLogger } from '../shared/platform/log';
import { TokenCache } from '../shared/platform/tokens';
import { Simulator } from '../dev/simulator/simulator';
import { testSettings } from './support/harness';

describe('IdentityIQ token cache', () => {
    let simulator: Simulator;
    beforeEach(async () => {
        simulator = new Simulator();
        await simulator.start();
    });
    afterEach(() => simulator.stop());

    function client(tokens: TokenCache, overrides: Record<string, string> = {}) {
        const config = loadConfig(testSettings(simulator, overrides));
        return new PluginClient(config.iiq!, new HttpClient(config.http, silentLogger), tokens);
    }

    it('fetches one token for many calls that need it at the same moment', async () => {
        const iiq = client(new TokenCache());
        await Promise.all(Array.from({ length: 20 }, () => iiq.queryIdentities('id == "x"')));
        expect(simulator.calls['iiq.token']).toBe(1);
        expect(simulator.calls['iiq.identities']).toBe(20);
    });

    it('reuses the cached token across calls', async () => {
        const iiq = client(new TokenCache());
        await iiq.queryIdentities('id == "x"');
        await iiq.queryIdentities('id == "y"');
        expect(simulator.calls['iiq.token']).toBe(1);
    });

    it('refreshes the token before it expires', async () => {
        let now = Date.now();
        const iiq = client(new TokenCache(() => now));
        simulator.tokenLifetimeSeconds = 100;
        await iiq.queryIdentities('id == "x"');
        now += 85_000;
        await iiq.queryIdentities('id == "x"');
        expect(simulator.calls['iiq.token']).toBe(2);
    });

    it('fetches a new token once and retries once when IdentityIQ answers 401', async () => {
        const iiq = client(new TokenCache());
        await iiq.queryIdentities('id == "x"');
        simulator.expireTokens();
        await expect(iiq.queryIdentities('id == "x"')).resolves.toEqual([]);
        expect(simulator.calls['iiq.token']).toBe(2);
        expect(simulator.calls['iiq.identities']).toBe(3);
    });

    it('says which settings to check when IdentityIQ refuses the client credentials', async () => {
        const iiq = client(new TokenCache(), { IIQ_CLIENT_SECRET: 'wrong' });
        await expect(iiq.queryIdentities('id == "x"')).rejects.toThrow(/IIQ_CLIENT_ID and IIQ_CLIENT_SECRET/);
    });

    it('keeps one cache for the process, keyed per source', async () => {
        const shared = new TokenCache();
        await client(shared).queryIdentities('id == "x"');
        await client(shared).queryIdentities('id == "x"');
        expect(simulator.calls['iiq.token']).toBe(1);
    });
});
