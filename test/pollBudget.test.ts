import { SentMessage } from '../dev/simulator/simulator';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

// The hanging calls below would hold a poll for a minute on the old code; fail well before jest's default.
jest.setTimeout(45_000);

/** What a source that drops packets looks like: every attempt waits far longer than any timeout. */
const hangs = (attempts: number, ms: number) => Array.from({ length: attempts }, () => ({ delayMs: ms }));

describe('a poll with one source hanging', () => {
    let h: Harness;
    let fn: FunctionHost;
    const sent: { at: number; message: SentMessage }[] = [];
    afterEach(async () => {
        await fn.stop();
        await h.stop();
        sent.length = 0;
    });

    async function start(settings: Record<string, string>) {
        h = await startHarness({
            simulator: { sources: ['iiq', 'isc'], onMessage: (message) => sent.push({ at: Date.now(), message }) },
            settings: { HTTP_TIMEOUT_MS: '3000', HTTP_MAX_RETRIES: '2', ...settings },
        });
        fn = await startFunctionHost(h.settings);
    }

    const iscApprovalIds = () => [...h.simulator.isc.approvals.values()].filter((approval) => approval.status === 'PENDING').map((approval) => approval.id);

    it('still messages the ISC approvers at once while IdentityIQ token endpoint hangs', async () => {
        await start({ POLL_BUDGET_SECONDS: '10' });
        h.simulator.failNext('iiq.token', ...hangs(5, 20_000));

        const started = Date.now();
        await fn.pollNow();

        const iscMessages = sent.filter(({ message }) => iscApprovalIds().includes(String(message.slots.approval_id)));
        expect(new Set(iscMessages.map(({ message }) => message.slots.approval_id))).toEqual(new Set(iscApprovalIds()));
        expect(Math.max(...iscMessages.map(({ at }) => at - started))).toBeLessThan(4_000);
    });

    it('ends inside its budget when every IdentityIQ list call hangs', async () => {
        await start({ POLL_BUDGET_SECONDS: '5', HTTP_TIMEOUT_MS: '4000' });
        h.simulator.failNext('iiq.list', ...hangs(5, 30_000));

        const started = Date.now();
        await fn.pollNow();

        expect(Date.now() - started).toBeLessThan(7_000);
    });

    it('lets a poll asked for while one runs share its budget, so the two end inside it', async () => {
        await start({ POLL_BUDGET_SECONDS: '5', HTTP_TIMEOUT_MS: '4000' });
        h.simulator.failNext('iiq.list', ...hangs(5, 30_000));

        const started = Date.now();
        const [, second] = await Promise.all([h.app.poll(), h.app.poll()]);

        expect(Date.now() - started).toBeLessThan(7_000);
        expect(second).toEqual([]);
    });

    it('records nothing as closed and keeps the watermark when the IdentityIQ listing was cut short', async () => {
        await start({ POLL_BUDGET_SECONDS: '5', HTTP_TIMEOUT_MS: '4000' });
        await fn.pollNow();
        const cursor = await h.app.store.getCursor('iiq');
        h.simulator.failNext('iiq.list', ...hangs(5, 30_000));

        await fn.pollNow();

        expect((await h.app.store.getCursor('iiq')).watermark).toBe(cursor.watermark);
        for (const item of Object.values(h.sample.workItems)) expect(await h.app.store.get('iiq', item.id)).toMatchObject({ status: 'open' });
    });
});

describe('a sweep cut short by the budget', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    it('resumes where it stopped on the next poll instead of listing from the start again', async () => {
        h = await startHarness({
            simulator: { moveworksPerMinute: 100_000 },
            settings: { HTTP_TIMEOUT_MS: '3000', HTTP_MAX_RETRIES: '0', POLL_BUDGET_SECONDS: '5', IIQ_PAGE_SIZE: '100', MOVEWORKS_MAX_PER_MINUTE: '100000' },
        });
        fn = await startFunctionHost(h.settings);
        for (let i = 0; i < 500; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        const offsets: number[] = [];
        h.simulator.beforeListPage = (offset) => offsets.push(offset);
        // Pages 1 to 3 answer; the fourth hangs past the budget.
        h.simulator.failNext('iiq.list', {}, {}, {}, { delayMs: 30_000 });

        await fn.pollNow();
        const listedFirst = offsets.splice(0);
        // The next poll that lists (on a loaded machine one may fail at its table calls' 3 s timeout first).
        for (let poll = 0; poll < 3 && offsets.length === 0; poll++) await fn.pollNow();

        expect(listedFirst).toEqual([0, 100, 200]);
        expect(offsets[0]).toBeGreaterThanOrEqual(200);
        expect(new Set(h.simulator.messages.map((message) => message.slots.approval_id)).size).toBe(503);
    });

    it('marks the sweep done once the resumed part reaches the end, so the next poll lists only what changed', async () => {
        h = await startHarness({
            simulator: { moveworksPerMinute: 100_000 },
            settings: { HTTP_TIMEOUT_MS: '3000', HTTP_MAX_RETRIES: '0', POLL_BUDGET_SECONDS: '5', IIQ_PAGE_SIZE: '100', MOVEWORKS_MAX_PER_MINUTE: '100000' },
        });
        fn = await startFunctionHost(h.settings);
        for (let i = 0; i < 300; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        h.simulator.failNext('iiq.list', {}, { delayMs: 30_000 });
        await fn.pollNow();
        await fn.pollNow();
        const requests = h.simulator.requests.length;

        await fn.pollNow();

        const lists = h.simulator.requests.slice(requests).filter((request) => request.route === 'iiq.list');
        expect(lists.length).toBeGreaterThan(0);
        for (const list of lists) expect(list.url.searchParams.get('filter')).toContain('modified');
    });
});
