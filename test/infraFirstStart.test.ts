import { startFunctionHost } from './support/functionHost';
import { startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

/**
 * The first minutes after a deployment (issue 25, item 7): the identity's role assignments have not reached
 * storage or Key Vault yet, so the table answers 403 and App Service leaves the Key Vault references
 * unresolved. The app keeps answering, and says why, rather than failing in a loop.
 */
const UNRESOLVED = '@Microsoft.KeyVault(SecretUri=https://kv-approvals-x.vault.azure.net/secrets/moveworks-api-key/)';

describe('the first start, while Azure still refuses the identity', () => {
    it("answers an action 503 storage_unavailable naming the role assignment while the state table refuses the app's identity", async () => {
        const proxy = new TableProxy();
        const h = await startHarness();
        const fn = await startFunctionHost({ ...h.settings, AzureWebJobsStorage: await proxy.start() });
        try {
            proxy.fail({ matches: () => true, status: 403 });
            const answer = await fn.post(`/api/approvals/${h.sample.workItems.roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
            expect(answer.status).toBe(503);
            expect(answer.body.error.code).toBe('storage_unavailable');
            expect(answer.body.error.message).toMatch(/identity/);
            expect(answer.body.error.message).toMatch(/role assignment/);
            expect(answer.body.error.message).toMatch(/minutes/);
            expect(h.simulator.calls['iiq.put']).toBe(0);
        } finally {
            await fn.stop();
            await proxy.stop();
            await h.stop();
        }
    });

    it('logs config.invalid from the poll timer, naming the setting, while a Key Vault reference is unresolved', async () => {
        const h = await startHarness();
        const fn = await startFunctionHost({ ...h.settings, MOVEWORKS_API_KEY: UNRESOLVED });
        try {
            await fn.pollNow();
            const events = fn.logged.map((line) => /\{.*\}$/.exec(line)?.[0]).flatMap((json) => (json ? [JSON.parse(json) as { event: string; problems?: string }] : []));
            expect(events.filter((event) => event.event === 'config.invalid')).toEqual([expect.objectContaining({ problems: expect.stringContaining('MOVEWORKS_API_KEY: the Key Vault reference was not resolved') })]);
        } finally {
            await fn.stop();
            await h.stop();
        }
    });

    it('answers health 500 invalid_configuration naming the setting while a Key Vault reference is unresolved, and keeps answering', async () => {
        const h = await startHarness();
        const fn = await startFunctionHost({ ...h.settings, MOVEWORKS_API_KEY: UNRESOLVED });
        try {
            await fn.pollNow();
            for (let i = 0; i < 2; i++) {
                const answer = await fn.get('/api/health');
                expect(answer.status).toBe(500);
                expect(answer.body.error).toEqual({ code: 'invalid_configuration', message: expect.stringContaining('MOVEWORKS_API_KEY: the Key Vault reference was not resolved') });
            }
        } finally {
            await fn.stop();
            await h.stop();
        }
    });
});
