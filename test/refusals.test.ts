import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';

describe('when Moveworks refuses a message', () => {
    let h: Harness;
    let fn: FunctionHost | undefined;
    afterEach(async () => {
        await fn?.stop();
        fn = undefined;
        await h.stop();
    });
    const allIiqApprovals = () => Object.values(h.sample.workItems).map((item) => item.id);

    it('keeps every message owed while the event id is wrong, and sends them all once the setting is fixed', async () => {
        const known = ['jamie.rivera@example.com', 'carol.jones@example.com'];
        h = await startHarness({ simulator: { knownRecipients: known } });
        fn = await startFunctionHost({ ...h.settings, MOVEWORKS_EVENT_ID: '00000000-0000-4000-8000-00000000dead' });
        await fn.pollNow();
        await fn.pollNow();
        expect(h.simulator.messages).toEqual([]);
        for (const id of allIiqApprovals()) expect((await h.app.store.get('iiq', id))!.refused).toEqual([]);
        await fn.stop();

        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        for (const id of allIiqApprovals()) expect(h.simulator.messagesFor(id)).toHaveLength(1);
    });

    it('logs a whole-request refusal as an error that names the setting to check', async () => {
        h = await startHarness();
        await h.newApp({ MOVEWORKS_EVENT_ID: '00000000-0000-4000-8000-00000000dead' }).poll();
        const failure = h.log.entries.find((entry) => entry.event === 'sync.message_failed');
        expect(failure).toMatchObject({ level: 'error', reason: expect.stringContaining('MOVEWORKS_EVENT_ID') });
        expect(h.log.entries.some((entry) => entry.event === 'sync.message_refused')).toBe(false);
    });

    it('marks only the recipient Moveworks does not know as refused, and notifies the rest of the group', async () => {
        h = await startHarness({ simulator: { knownRecipients: ['jamie.rivera@example.com', 'carol.jones@example.com'] } });
        const { entitlementRequest } = h.sample.workItems;
        const dan = h.simulator.addIdentity({ name: 'Dan.New', email: 'dan.new@example.com', memberOf: [h.sample.finance.id] });
        await h.app.poll();
        const record = (await h.app.store.get('iiq', entitlementRequest.id))!;
        expect(record.refused).toEqual([dan.email]);
        expect(h.simulator.messagesFor(entitlementRequest.id).flatMap((m) => m.recipients).sort()).toEqual(['carol.jones@example.com', 'jamie.rivera@example.com']);
    });

    it('reminds only the members Moveworks knows, and asks it about the refused one no more', async () => {
        h = await startHarness({ simulator: { knownRecipients: ['jamie.rivera@example.com', 'carol.jones@example.com'] } });
        const { entitlementRequest } = h.sample.workItems;
        h.simulator.addIdentity({ name: 'Dan.New', email: 'dan.new@example.com', memberOf: [h.sample.finance.id] });
        const clock = manualClock();
        const app = h.newApp({ REMIND_AFTER_HOURS: '1' }, clock.now);
        await app.poll();
        const sendsBefore = h.simulator.calls['moveworks.send'];
        clock.advance(2 * 3_600_000);

        await app.poll();

        const reminders = h.simulator.messagesFor(entitlementRequest.id).slice(1);
        expect(reminders.flatMap((m) => m.recipients).sort()).toEqual(['carol.jones@example.com', 'jamie.rivera@example.com']);
        expect(h.simulator.calls['moveworks.send'] - sendsBefore).toBe(h.simulator.messages.length - Object.keys(h.sample.workItems).length);
        expect((await app.store.get('iiq', entitlementRequest.id))!.reminderOwed).toEqual([]);
    });

    it('finds one unknown member of a large group in a few requests, not one request per member', async () => {
        const emails = Array.from({ length: 1000 }, (_, i) => `member.${i}@example.com`);
        h = await startHarness({ simulator: { knownRecipients: emails.slice(1), moveworksPerMinute: 100_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000' } });
        const workgroup = h.simulator.addIdentity({ name: 'Everyone', workgroup: true });
        for (const email of emails) h.simulator.addIdentity({ name: email, email, memberOf: [workgroup.id] });
        const big = h.simulator.addWorkItem({ ownerId: workgroup.id });
        const before = h.simulator.calls['moveworks.send'];
        await h.app.poll();
        expect(h.simulator.messagesFor(big.id).flatMap((m) => m.recipients)).toHaveLength(999);
        expect((await h.app.store.get('iiq', big.id))!.refused).toEqual([emails[0]]);
        expect(h.simulator.calls['moveworks.send'] - before).toBeLessThan(40);
    });

    it('sends to refused recipients again after an administrator asks for it', async () => {
        const known = ['jamie.rivera@example.com', 'carol.jones@example.com'];
        h = await startHarness({ simulator: { knownRecipients: known }, settings: { MASTER_KEY: 'admin-key', FUNCTION_KEY: 'fn-key' } });
        fn = await startFunctionHost(h.settings);
        const { entitlementRequest } = h.sample.workItems;
        h.simulator.addIdentity({ name: 'Dan.New', email: 'dan.new@example.com', memberOf: [h.sample.finance.id] });
        await fn.pollNow();
        known.push('dan.new@example.com');
        await fn.pollNow();
        expect(h.simulator.messages.some((m) => m.recipients.includes('dan.new@example.com'))).toBe(false);

        expect((await fn.post('/api/refused/retry', { email: 'dan.new@example.com' })).status).toBe(401);
        const answer = await fn.post('/api/refused/retry', { email: 'Dan.New@example.com' }, { 'x-functions-key': 'admin-key' });
        expect(answer).toEqual({ status: 200, body: { approvals: 1, recipients: 1 } });
        await fn.pollNow();
        expect(h.simulator.messagesFor(entitlementRequest.id).filter((m) => m.recipients.includes('dan.new@example.com'))).toHaveLength(1);
    });

    it('keeps sending the other approvals when Moveworks refuses one message as invalid, and keeps that one owed', async () => {
        h = await startHarness({ simulator: { moveworksPerMinute: 100_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000', MOVEWORKS_CONCURRENCY: '1' } });
        const poisoned = h.sample.workItems.roleRequest.id;
        for (let i = 0; i < 20; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        h.simulator.refuseMessage = (approvalId) => (approvalId === poisoned ? { code: 'BAD_REQUEST', message: 'Invalid markup in message' } : undefined);
        const [report] = await h.app.poll();
        expect(report).toMatchObject({ messagesSent: 22, owedForNextPoll: 1 });
        expect((await h.app.store.get('iiq', poisoned))!.refused).toEqual([]);
        expect(h.log.entries.find((entry) => entry.event === 'sync.message_failed')).toMatchObject({ approvalId: poisoned, level: 'error' });
        h.simulator.refuseMessage = undefined;
        await h.app.poll();
        expect(h.simulator.messagesFor(poisoned)).toHaveLength(1);
    });
});
