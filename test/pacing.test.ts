import { Pacer } from '../shared/platform/pacer';
import { Harness, startHarness } from './support/harness';

describe('pacing Moveworks messages', () => {
    let h: Harness;
    afterEach(() => h.stop());

    const addApprovals = (count: number) => {
        for (let i = 0; i < count; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
    };
    const uniqueApprovalIds = () => new Set(h.simulator.messages.map((m) => m.slots.approval_id));

    it('sends no more than MOVEWORKS_MAX_PER_MINUTE and carries the rest to the next poll', async () => {
        h = await startHarness({ settings: { MOVEWORKS_MAX_PER_MINUTE: '5', POLL_BUDGET_SECONDS: '5' } });
        addApprovals(9);
        const [report] = await h.app.poll();
        expect(h.simulator.messages).toHaveLength(5);
        expect(report.owedForNextPoll).toBe(7);
        expect(h.simulator.rateLimited).toHaveLength(0);

        await h.newApp({ MOVEWORKS_MAX_PER_MINUTE: '100' }).poll();
        expect(uniqueApprovalIds().size).toBe(12);
        expect(h.simulator.messages).toHaveLength(12);
    });

    it('stops sending on a 429 with a long Retry-After and sends the rest on a later poll', async () => {
        h = await startHarness({ simulator: { moveworksPerMinute: 2 }, settings: { POLL_BUDGET_SECONDS: '5', MOVEWORKS_CONCURRENCY: '4' } });
        addApprovals(9);
        const [report] = await h.app.poll();
        expect(h.simulator.messages).toHaveLength(2);
        expect(report.owedForNextPoll).toBe(10);
        expect(h.simulator.rateLimited.length).toBeLessThanOrEqual(4);

        h.simulator.moveworksPerMinute = 1000;
        await h.newApp().poll();
        expect(uniqueApprovalIds().size).toBe(12);
        expect(h.simulator.messages).toHaveLength(12);
    });

    it('waits out a short Retry-After and sends within the same poll', async () => {
        h = await startHarness({ settings: { MOVEWORKS_CONCURRENCY: '1' } });
        h.simulator.failNext('moveworks.send', { status: 429, retryAfter: '1' });
        const [report] = await h.app.poll();
        expect(report.owedForNextPoll).toBe(0);
        expect(h.simulator.messages).toHaveLength(3);
    });

    it('keeps notifications owed through a Moveworks outage and sends each once afterwards', async () => {
        h = await startHarness();
        h.simulator.failNext('moveworks.send', ...Array.from({ length: 3 }, () => ({ status: 503 })));
        const [first] = await h.app.poll();
        expect(first.owedForNextPoll).toBe(3);
        expect(h.simulator.messages).toHaveLength(0);
        await h.app.poll();
        expect(h.simulator.messages).toHaveLength(3);
        expect(uniqueApprovalIds().size).toBe(3);
    });

    it('stops calling Moveworks during an outage instead of trying every owed message', async () => {
        h = await startHarness({ settings: { MOVEWORKS_CONCURRENCY: '2' } });
        addApprovals(40);
        h.simulator.failNext('moveworks.send', ...Array.from({ length: 500 }, () => ({ status: 503 })));
        const [report] = await h.app.poll();
        expect(report.owedForNextPoll).toBe(43);
        expect(h.simulator.calls['moveworks.send']).toBeLessThanOrEqual(2 * 3);
    });

    it('sends several messages at once when the limit allows', async () => {
        h = await startHarness({ simulator: { latencyMs: 30 }, settings: { MOVEWORKS_CONCURRENCY: '8' } });
        addApprovals(20);
        await h.app.poll();
        expect(h.simulator.messages).toHaveLength(23);
        expect(h.simulator.peakInFlight['moveworks.send']).toBeGreaterThan(1);
        expect(h.simulator.peakInFlight['moveworks.send']).toBeLessThanOrEqual(8);
    });

    it('still notifies the other members of a workgroup when Moveworks does not know one of them', async () => {
        h = await startHarness({ simulator: { knownRecipients: ['jamie.rivera@example.com', 'bob.smith@example.com'] } });
        await h.app.poll();
        const entitlement = h.sample.workItems.entitlementRequest.id;
        expect(h.simulator.messagesFor(entitlement).map((m) => m.recipients)).toEqual([['jamie.rivera@example.com']]);
        expect(h.log.entries).toContainEqual(expect.objectContaining({ event: 'sync.message_refused', approvalId: entitlement, recipients: 1 }));
        await h.app.poll();
        expect(h.simulator.messagesFor(entitlement)).toHaveLength(1);
    });

    it('does not retry a message Moveworks refused as invalid', async () => {
        const known = ['jamie.rivera@example.com', 'carol.jones@example.com', 'allen.burton@example.com'];
        h = await startHarness({ simulator: { knownRecipients: known } });
        const bobs = h.simulator.addWorkItem({ ownerId: h.sample.people.bob.id });
        await h.app.poll();
        const callsAfterFirstPoll = h.simulator.calls['moveworks.send'];
        await h.app.poll();
        expect(h.simulator.calls['moveworks.send']).toBe(callsAfterFirstPoll);
        expect(h.simulator.messagesFor(bobs.id)).toEqual([]);
        expect(h.log.entries.filter((e) => e.event === 'sync.message_refused' && e.approvalId === bobs.id)).toHaveLength(1);
        expect(await h.app.store.get('iiq', bobs.id)).toMatchObject({ refused: ['bob.smith@example.com'] });
    });
});

describe('the poll time budget', () => {
    let h: Harness;
    afterEach(() => h?.stop());

    it('starts no message after POLL_BUDGET_SECONDS, even with rate-limit slots free: the rest wait for the next poll', async () => {
        h = await startHarness({ simulator: { sources: ['iiq'], latencyMs: 400 }, settings: { MOVEWORKS_CONCURRENCY: '1', POLL_BUDGET_SECONDS: '5' } });
        for (let i = 0; i < 30; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id, description: `iiq ${i}` });
        const started = Date.now();
        const [report] = await h.app.poll();
        // A send that started before the deadline may finish one round trip (400 ms) after it.
        expect(h.simulator.messages.filter((message) => message.at > started + 5_000 + 400)).toEqual([]);
        expect(report.owedForNextPoll).toBeGreaterThan(0);
        await h.app.poll();
        await h.app.poll();
        expect(new Set(h.simulator.messages.map((message) => message.slots.approval_id)).size).toBe(h.simulator.messages.length);
    }, 60_000);

    it('shares one budget between the sources, so a poll of both stays within POLL_BUDGET_SECONDS and under the function timeout', async () => {
        h = await startHarness({ simulator: { sources: ['iiq', 'isc'], latencyMs: 400 }, settings: { MOVEWORKS_CONCURRENCY: '1', POLL_BUDGET_SECONDS: '5' } });
        for (let i = 0; i < 30; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id, description: `iiq ${i}` });
        const jamie = h.iscSample.people.jamie.id;
        for (let i = 0; i < 30; i++) h.simulator.isc.addApproval({ name: `isc ${i}`, requesterId: jamie, requesteeId: jamie, assignedTo: [{ kind: 'identity', id: jamie }] });
        const started = Date.now();
        const reports = await h.app.poll();
        expect(reports.map((report) => report.source).sort()).toEqual(['iiq', 'isc']);
        expect(h.simulator.messages.filter((message) => message.at > started + 5_000 + 400)).toEqual([]);
        // Neither source's backlog takes the whole budget: both sent some.
        expect(reports.every((report) => report.messagesSent > 0)).toBe(true);
    }, 60_000);
});

describe('the pacer', () => {
    it('gives no slot once the deadline has passed, even with slots free, and takes none', async () => {
        const pacer = new Pacer(1, 60_000);
        expect(await pacer.acquire(Date.now() - 1)).toBe(false);
        expect(await pacer.acquire(Date.now() + 1_000)).toBe(true);
    });
});
