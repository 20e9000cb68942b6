import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';

const HOUR = 3_600_000;

describe('reminders', () => {
    let h: Harness;
    afterEach(() => h.stop());
    const remindersFor = (id: string) => h.simulator.messagesFor(id).filter((m) => m.message.includes('Reminder'));

    it('reminds the approver once REMIND_AFTER_HOURS have passed, at most REMIND_MAX times', async () => {
        h = await startHarness({ settings: { REMIND_AFTER_HOURS: '24', REMIND_MAX: '2' } });
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        const { roleRequest } = h.sample.workItems;
        await app.poll();
        clock.advance(23 * HOUR);
        await app.poll();
        expect(remindersFor(roleRequest.id)).toHaveLength(0);
        clock.advance(1 * HOUR + 1000);
        await app.poll();
        expect(remindersFor(roleRequest.id).map((m) => m.recipients)).toEqual([['jamie.rivera@example.com']]);
        clock.advance(24 * HOUR + 1000);
        await app.poll();
        clock.advance(24 * HOUR + 1000);
        await app.poll();
        expect(remindersFor(roleRequest.id)).toHaveLength(2);
        expect(remindersFor(roleRequest.id)[0].slots.approval_id).toBe(roleRequest.id);
    });

    it('never reminds twice for the same step when polls run at the same moment', async () => {
        h = await startHarness();
        const clock = manualClock();
        const apps = [h.newApp({}, clock.now), h.newApp({}, clock.now), h.newApp({}, clock.now)];
        await apps[0].poll();
        clock.advance(25 * HOUR);
        await Promise.all(apps.map((app) => app.poll()));
        expect(remindersFor(h.sample.workItems.removal.id)).toHaveLength(1);
    });

    it('does not remind about an approval completed inside IdentityIQ since the last listing, and closes it', async () => {
        h = await startHarness({ settings: { REMIND_AFTER_HOURS: '1', FULL_SWEEP_MINUTES: '1440' } });
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        const { removal } = h.sample.workItems;
        await app.poll();
        h.simulator.complete(removal.id);
        clock.advance(2 * HOUR);
        await app.poll();
        expect(remindersFor(removal.id)).toHaveLength(0);
        expect(await app.store.get('iiq', removal.id)).toMatchObject({ status: 'closed' });
        expect(remindersFor(h.sample.workItems.roleRequest.id)).toHaveLength(1);
    });

    it('reminds before the work item expires when that comes sooner', async () => {
        h = await startHarness();
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        const expiring = h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id, expiration: h.simulator.iiqNow() + 10 * HOUR });
        await app.poll();
        clock.advance(4 * HOUR);
        await app.poll();
        expect(remindersFor(expiring.id)).toHaveLength(0);
        clock.advance(2 * HOUR);
        await app.poll();
        expect(remindersFor(expiring.id)).toHaveLength(1);
    });
});

describe('answers and outcome messages', () => {
    let h: Harness;
    let fn: FunctionHost;
    const start = async (settings: Record<string, string> = {}) => {
        h = await startHarness({ settings, simulator: { sources: ['iiq', 'isc'] } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
    };
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    it('answers a decision with a sentence Creator Studio can show as is', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
        expect(answer.body.message).toBe(`Approved Amy.Cox's request for IT Database Manager; IdentityIQ work item ${roleRequest.name} is complete.`);
        const isc = await fn.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/reject`, { approverEmail: 'jamie.rivera@example.com' });
        expect(isc.body.message).toBe(`Rejected Amy Cox's request for Finance Analyst; Identity Security Cloud approval ${h.iscSample.approvals.roleRequest.id} is complete.`);
    });

    it('tells the requester the decision and the reason when NOTIFY_REQUESTER is on', async () => {
        await start({ NOTIFY_REQUESTER: 'true' });
        const { removal } = h.sample.workItems;
        await fn.post(`/api/approvals/${removal.id}/reject`, { approverEmail: 'carol.jones@example.com', comment: 'Bob still needs <admin>' });
        const [message] = h.simulator.messagesFor(removal.id).filter((m) => m.recipients.includes('allen.burton@example.com'));
        expect(message.message).toContain('Your SailPoint request was rejected');
        expect(message.message).toContain('Bob still needs &lt;admin&gt;');
        expect(message.message).toContain('Carol.Jones');
    });

    it('sends the requester nothing when NOTIFY_REQUESTER is off', async () => {
        await start();
        await fn.post(`/api/approvals/${h.sample.workItems.removal.id}/approve`, { approverEmail: 'carol.jones@example.com' });
        expect(h.simulator.messages.filter((m) => m.recipients.includes('allen.burton@example.com'))).toEqual([]);
    });

    it('says who decided and when on a late click', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
        const late = await fn.post(`/api/approvals/${roleRequest.id}/reject`, { approverEmail: 'jamie.rivera@example.com' });
        expect(late.body.error.message).toMatch(/already approved through chat by jamie\.rivera@example\.com on \d{2} \w{3} \d{4} \d{2}:\d{2} UTC/);
    });

    it('says what state the source shows when an approval expired inside it', async () => {
        await start();
        const { carolsRequest } = h.iscSample.approvals;
        h.simulator.isc.complete(carolsRequest.id, 'REJECTED');
        const late = await fn.post(`/api/approvals/${carolsRequest.id}/approve`, { approverEmail: 'carol.jones@example.com' });
        expect(late.status).toBe(409);
        expect(late.body.error.message).toBe('This approval is no longer pending: Identity Security Cloud shows it as REJECTED.');
    });
});
