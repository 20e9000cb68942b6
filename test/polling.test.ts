import { Harness, manualClock, startHarness } from './support/harness';

const MINUTE = 60_000;

describe('polling IdentityIQ', () => {
    let h: Harness;
    afterEach(() => h.stop());

    it('pages through every pending approval, with no 250 cap', async () => {
        h = await startHarness({ simulator: { moveworksPerMinute: 100_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000' } });
        for (let i = 0; i < 600; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        await h.app.poll();
        const ids = h.simulator.messages.map((m) => m.slots.approval_id);
        expect(new Set(ids).size).toBe(603);
        expect(ids).toHaveLength(603);
        expect(h.simulator.calls['iiq.list']).toBe(3);
    });

    it('lists a large sweep only as fast as it sends, so it holds a few pages rather than the whole sweep', async () => {
        h = await startHarness({
            simulator: { moveworksPerMinute: 100_000, latencyMs: 10 },
            settings: { MOVEWORKS_MAX_PER_MINUTE: '100000', MOVEWORKS_CONCURRENCY: '8', IIQ_PAGE_SIZE: '100', POLL_BUDGET_SECONDS: '60' },
        });
        for (let i = 0; i < 1500; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        const aheadOfSends: number[] = [];
        h.simulator.beforeListPage = (offset) => aheadOfSends.push(offset - h.simulator.messages.length);
        const [report] = await h.app.poll();
        expect(report).toMatchObject({ listed: 1503, newApprovals: 1503, messagesSent: 1503, listingFailed: false });
        expect(new Set(h.simulator.messages.map((m) => m.slots.approval_id)).size).toBe(1503);
        expect(aheadOfSends).toHaveLength(16);
        expect(Math.max(...aheadOfSends)).toBeLessThan(1000);
    });

    it('still lists and records the whole sweep when the Moveworks limit lets it send only a few', async () => {
        h = await startHarness({ settings: { MOVEWORKS_MAX_PER_MINUTE: '5', POLL_BUDGET_SECONDS: '5', IIQ_PAGE_SIZE: '100' } });
        for (let i = 0; i < 1200; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        const started = Date.now();
        const [report] = await h.app.poll();
        expect(report).toMatchObject({ listed: 1203, newApprovals: 1203, messagesSent: 5, owedForNextPoll: 1198, listingFailed: false });
        expect(Date.now() - started).toBeLessThan(15_000);
    });

    it.each([
        ['hours behind', -3 * 3600_000],
        ['hours ahead of', 3 * 3600_000],
    ])('finds new approvals when IdentityIQ clock is %s the app clock', async (_, skew) => {
        h = await startHarness({ simulator: { clockSkewMs: skew } });
        await h.app.poll();
        const late = h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id });
        await h.app.poll();
        expect(h.simulator.messagesFor(late.id)).toHaveLength(1);
    });

    it('asks IdentityIQ once and Moveworks not at all on an idle poll', async () => {
        h = await startHarness();
        await h.app.poll();
        const listCalls = h.simulator.calls['iiq.list'];
        const sends = h.simulator.calls['moveworks.send'];
        await h.app.poll();
        expect(h.simulator.calls['iiq.list'] - listCalls).toBe(1);
        expect(h.simulator.calls['moveworks.send'] - sends).toBe(0);
    });

    it('finds an approval that became visible after newer ones, within the overlap', async () => {
        h = await startHarness();
        await h.app.poll();
        const committedLate = h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id, created: h.simulator.iiqNow() - 2 * MINUTE });
        await h.app.poll();
        expect(h.simulator.messagesFor(committedLate.id)).toHaveLength(1);
    });

    it('catches an approval older than the overlap at the next full sweep', async () => {
        h = await startHarness({ settings: { FULL_SWEEP_MINUTES: '15' } });
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        await app.poll();
        const veryLate = h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id, created: h.simulator.iiqNow() - 60 * MINUTE });
        await app.poll();
        clock.advance(15 * MINUTE);
        await app.poll();
        expect(h.simulator.messagesFor(veryLate.id)).toHaveLength(1);
    });

    it('loses nothing when a poll fails: the next poll notifies what the failed one missed', async () => {
        h = await startHarness();
        h.simulator.failNext('iiq.list', { status: 500 }, { status: 500 }, { status: 500 });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(true);
        expect(h.simulator.messages).toHaveLength(0);
        await h.app.poll();
        expect(h.simulator.messages).toHaveLength(3);
    });

    it('retries a transient IdentityIQ failure within the same poll', async () => {
        h = await startHarness();
        h.simulator.failNext('iiq.list', { status: 503, retryAfter: '0' });
        await h.app.poll();
        expect(h.simulator.messages).toHaveLength(3);
    });

    it('gives up on a call that hangs past HTTP_TIMEOUT_MS and retries it', async () => {
        h = await startHarness({ settings: { HTTP_TIMEOUT_MS: '500' } });
        h.simulator.failNext('iiq.list', { status: 0, delayMs: 1500 });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(false);
        expect(h.simulator.messages).toHaveLength(3);
        expect(h.simulator.calls['iiq.list']).toBe(2);
    });

    it('catches up after the app was down', async () => {
        h = await startHarness();
        await h.app.poll();
        const whileDown = [0, 1, 2].map((i) => h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id, created: h.simulator.iiqNow() - i * MINUTE }));
        await h.newApp().poll();
        for (const item of whileDown) expect(h.simulator.messagesFor(item.id)).toHaveLength(1);
    });

    it('closes approvals completed inside IdentityIQ at the next full sweep', async () => {
        h = await startHarness();
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        await app.poll();
        h.simulator.complete(h.sample.workItems.removal.id);
        clock.advance(15 * MINUTE);
        await app.poll();
        expect(await app.store.get('iiq', h.sample.workItems.removal.id)).toMatchObject({ status: 'closed' });
        expect(await app.store.get('iiq', h.sample.workItems.roleRequest.id)).toMatchObject({ status: 'open' });
    });

    it('asks IdentityIQ for approvals only, in a stable order, changed since a watermark from its own clock', async () => {
        h = await startHarness({ simulator: { clockSkewMs: -7 * 86_400_000 }, settings: { WATERMARK_OVERLAP_SECONDS: '300' } });
        await h.app.poll();
        await h.app.poll();
        const [sweep, incremental] = h.simulator.requests.filter((r) => r.route === 'iiq.list').map((r) => r.url.searchParams);
        expect(sweep.getAll('filter')).toEqual(['type == "Approval"']);
        expect(incremental.get('orderby')).toBe('created,id');
        const newest = Math.max(...[...h.simulator.workItems.values()].filter((item) => item.type === 'Approval').map((item) => item.created));
        const since = newest - 300_000;
        expect(incremental.getAll('filter')).toEqual([`(type == "Approval" && (created >= DATE$${since} || modified >= DATE$${since}))`]);
    });
});
