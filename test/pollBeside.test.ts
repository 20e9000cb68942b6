import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

jest.setTimeout(60_000);

const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hangs = (attempts: number, ms: number) => Array.from({ length: attempts }, () => ({ delayMs: ms }));

describe('a click while a poll fetches the token', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    it('decides a click whose own budget has time left, although a poll started the token fetch just before its own deadline', async () => {
        // Tokens live 2 s, so the next poll (and the click) need a new one.
        h = await startHarness({ simulator: { tokenLifetimeSeconds: 2 }, settings: { POLL_BUDGET_SECONDS: '5', HTTP_TIMEOUT_MS: '10000', HTTP_MAX_RETRIES: '2' } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        await sleep(2_500);
        const { roleRequest } = h.sample.workItems;
        // One token request hangs (a dropped packet); the next one is answered at once.
        h.simulator.failNext('iiq.token', { delayMs: 20_000 });

        const polling = fn.pollNow();
        await sleep(1_000);
        // The click joins the poll's token fetch, which the poll's deadline (5 s) ends; the click's own budget is 40 s.
        const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
        await polling;

        expect(answer.body?.error?.code ?? 'ok').toBe('ok');
        expect(answer.status).toBe(200);
        expect(h.simulator.decisions.map((decision) => decision.workItemId)).toEqual([roleRequest.id]);
    });
});

describe('messages already owed while a source hangs and a claim has lapsed', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    it('sends a message an earlier poll left owed although IdentityIQ hangs and a claim has lapsed', async () => {
        h = await startHarness({ settings: { POLL_BUDGET_SECONDS: '5', HTTP_TIMEOUT_MS: '4000', HTTP_MAX_RETRIES: '2' } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        const { roleRequest } = h.sample.workItems;
        const owed = [...Object.values(h.sample.workItems)].find((item) => item.id !== roleRequest.id)!;
        // A row whose message an earlier poll left owed (a rate limit, the budget spent), and a row a dead worker left claimed.
        const owedRow = await h.app.store.get('iiq', owed.id);
        await h.app.store.update({ ...owedRow!, notified: [] });
        const claimed = await h.app.store.get('iiq', roleRequest.id);
        await h.app.store.update({ ...claimed!, status: 'deciding', decidingSince: Date.now() - 10 * MINUTE, updatedAt: Date.now() - 10 * MINUTE });
        const before = h.simulator.messagesFor(owed.id).length;
        // IdentityIQ's item reads hang (the live read of the lapsed claim); Moveworks is fine.
        h.simulator.failNext('iiq.get', ...hangs(5, 30_000));

        await fn.pollNow();

        // The owed message needs nothing from IdentityIQ: it should go out in this poll.
        expect(h.simulator.messagesFor(owed.id).length).toBe(before + 1);
    });
});
