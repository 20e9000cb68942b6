import { IscApproval, IscAssignee } from '../dev/simulator/isc';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';
import { checkIscExchange } from './support/iscContract';

const HOUR = 3_600_000;

describe('Identity Security Cloud approvals that several approvers decide in parallel', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });
    const start = async (settings: Record<string, string> = {}) => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings });
        fn = await startFunctionHost(h.settings);
    };
    const identity = (person: { id: string }): IscAssignee => ({ kind: 'identity', id: person.id });
    /** Jamie, Carol and Dana at once; by default all three must approve, and one reject rejects it. */
    const parallel = (criteria: Partial<NonNullable<IscApproval['parallel']>> = {}, more: Partial<IscApproval> = {}) => {
        const { jamie, carol, dana, allen, amy } = h.iscSample.people;
        return h.simulator.isc.addApproval({
            name: 'Access Request: Payroll Admin',
            requesterId: allen.id,
            requesteeId: amy.id,
            assignedTo: [identity(jamie), identity(carol), identity(dana)],
            parallel: { approvals: 3, rejections: 1, ...criteria },
            requestedTarget: [{ id: 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5', name: 'Payroll Admin', targetType: 'ROLE', requestType: 'GRANT_ACCESS' }],
            ...more,
        });
    };
    const act = (id: string, decision: 'approve' | 'reject', email: string, comment?: string) =>
        fn.post(`/api/approvals/${id}/${decision}`, { approverEmail: email, ...(comment ? { comment } : {}) });
    const recipientsOf = (id: string) => h.simulator.messagesFor(id).map((m) => [...m.recipients].sort());
    const toRequester = () => h.simulator.messages.filter((m) => m.recipients.includes('allen.burton@example.com'));
    const everyone = ['carol.jones@example.com', 'dana.lee@example.com', 'jamie.rivera@example.com'];

    it('notifies each approver once, however many of them approve before the last', async () => {
        await start();
        const approval = parallel();
        await fn.pollNow();
        expect((await act(approval.id, 'approve', 'jamie.rivera@example.com')).status).toBe(200);
        await fn.pollNow();
        expect((await act(approval.id, 'approve', 'carol.jones@example.com')).status).toBe(200);
        await fn.pollNow();
        await fn.pollNow();
        expect(recipientsOf(approval.id)).toEqual([everyone]);
    });

    it('tells an approver whose approval is not the last one who is still needed, not that it moves on', async () => {
        await start();
        const approval = parallel();
        await fn.pollNow();
        const answer = await act(approval.id, 'approve', 'jamie.rivera@example.com');
        expect(answer.body).toMatchObject({ status: 'approved', message: expect.stringContaining('Carol Jones, Dana Lee') });
        expect(answer.body.message).not.toMatch(/moves on|next step|complete\./);
    });

    it('completes with the last approval needed and only then tells the requester, once', async () => {
        await start({ NOTIFY_REQUESTER: 'true' });
        const approval = parallel({ approvals: 2 });
        await fn.pollNow();
        await act(approval.id, 'approve', 'jamie.rivera@example.com');
        expect(toRequester()).toEqual([]);
        const last = await act(approval.id, 'approve', 'dana.lee@example.com');
        expect(last.body.message).toContain('is complete');
        expect(h.simulator.isc.approvals.get(approval.id)!.status).toBe('APPROVED');
        expect(toRequester().map((m) => m.message)).toEqual([expect.stringContaining('was approved')]);
    });

    it('lets the other approvers decide after a reject below the rejection threshold', async () => {
        await start();
        const approval = parallel({ approvals: 2, rejections: 2 });
        await fn.pollNow();
        const rejected = await act(approval.id, 'reject', 'jamie.rivera@example.com', 'Not for this quarter');
        expect(rejected.body).toMatchObject({ status: 'rejected', message: expect.stringContaining('Carol Jones, Dana Lee') });
        expect((await act(approval.id, 'approve', 'carol.jones@example.com')).status).toBe(200);
        expect((await act(approval.id, 'approve', 'dana.lee@example.com')).body.message).toContain('is complete');
        expect(h.simulator.isc.approvals.get(approval.id)!.status).toBe('APPROVED');
    });

    it('tells the requester of a rejection only once ISC rejects the approval', async () => {
        await start({ NOTIFY_REQUESTER: 'true' });
        const approval = parallel({ approvals: 2, rejections: 2 });
        await fn.pollNow();
        await act(approval.id, 'reject', 'jamie.rivera@example.com', 'Not for this quarter');
        await fn.pollNow();
        expect(toRequester()).toEqual([]);
        await act(approval.id, 'reject', 'carol.jones@example.com', 'Agreed');
        expect(h.simulator.isc.approvals.get(approval.id)!.status).toBe('REJECTED');
        expect(toRequester().map((m) => m.message)).toEqual([expect.stringContaining('was rejected')]);
    });

    it('tells an approver who clicks again that they already approved, and who is still needed', async () => {
        await start();
        const approval = parallel();
        await fn.pollNow();
        await act(approval.id, 'approve', 'jamie.rivera@example.com');
        const again = await act(approval.id, 'approve', 'jamie.rivera@example.com');
        expect(again.status).toBe(409);
        expect(again.body.error).toMatchObject({ code: 'already_decided', message: expect.stringMatching(/You already approved .*Carol Jones, Dana Lee/) });
        expect(h.simulator.isc.actions).toHaveLength(1);
    });

    it('keeps reminding the approvers still needed after one of them approves inside ISC', async () => {
        await start({ REMIND_AFTER_HOURS: '24', REMIND_MAX: '1' });
        const approval = parallel();
        await fn.pollNow();
        h.simulator.isc.decideAs(approval.id, h.iscSample.people.jamie.id, 'approve');
        await fn.pollNow();
        // A day goes by: the row's notifications are moved back rather than the host's clock forward.
        const record = (await h.app.store.get('isc', approval.id))!;
        await h.app.store.update({ ...record, notified: record.notified.map((entry) => ({ ...entry, at: entry.at - 25 * HOUR })) });
        await fn.pollNow();
        const reminders = h.simulator.messagesFor(approval.id).filter((m) => m.message.includes('Reminder'));
        expect(reminders.map((m) => [...m.recipients].sort())).toEqual([['carol.jones@example.com', 'dana.lee@example.com']]);
    });

    it('lets the other approvers decide when the read after an approval fails', async () => {
        await start();
        const approval = parallel();
        await fn.pollNow();
        // The live read before the approve answers; the read after it fails, retries included.
        h.simulator.failNext('isc.get', {}, ...Array.from({ length: 4 }, () => ({ status: 500 })));
        expect((await act(approval.id, 'approve', 'jamie.rivera@example.com')).status).toBe(200);
        expect((await act(approval.id, 'approve', 'carol.jones@example.com')).status).toBe(200);
        await fn.pollNow();
        expect(recipientsOf(approval.id)).toEqual([everyone]);
    });

    it('counts both approvals when two approvers click at once, and notifies nobody twice', async () => {
        await start();
        const approval = parallel();
        await fn.pollNow();
        h.simulator.failNext('isc.approve', { delayMs: 1000 });
        const answers = await Promise.all([act(approval.id, 'approve', 'jamie.rivera@example.com'), act(approval.id, 'approve', 'carol.jones@example.com')]);
        // The row is claimed by one action at a time: the other is asked to try again.
        for (const [index, answer] of answers.entries()) {
            if (answer.status === 409) {
                expect(answer.body.error.code).toBe('decision_in_progress');
                expect((await act(approval.id, 'approve', index === 0 ? 'jamie.rivera@example.com' : 'carol.jones@example.com')).status).toBe(200);
            } else expect(answer.status).toBe(200);
        }
        await fn.pollNow();
        expect(h.simulator.isc.approvals.get(approval.id)!.assignedTo).toEqual([identity(h.iscSample.people.dana)]);
        expect(recipientsOf(approval.id)).toEqual([everyone]);
        expect((await act(approval.id, 'approve', 'dana.lee@example.com')).body.message).toContain('is complete');
    });

    it('moves on to the next serial step only once a parallel step is approved in full', async () => {
        await start();
        const { jamie, carol, dana } = h.iscSample.people;
        const approval = parallel({ approvals: 2 }, { assignedTo: [identity(jamie), identity(carol)], laterSteps: [[identity(dana)]] });
        await fn.pollNow();
        expect((await act(approval.id, 'approve', 'jamie.rivera@example.com')).body.message).not.toContain('moves on');
        await fn.pollNow();
        expect((await act(approval.id, 'approve', 'carol.jones@example.com')).body.message).toContain('moves on to Dana Lee');
        await fn.pollNow();
        const messages = h.simulator.messagesFor(approval.id);
        expect(messages.map((m) => [...m.recipients].sort())).toEqual([['carol.jones@example.com', 'jamie.rivera@example.com'], ['dana.lee@example.com']]);
        expect(messages[1].message).toContain('your step');
    });

    it("keeps the simulated parallel approval within SailPoint's published schema as it is decided", async () => {
        await start();
        const approval = parallel({ approvals: 2, rejections: 2 });
        await fn.pollNow();
        await act(approval.id, 'reject', 'jamie.rivera@example.com', 'Not for this quarter');
        await act(approval.id, 'approve', 'carol.jones@example.com');
        await fn.pollNow();
        await act(approval.id, 'approve', 'dana.lee@example.com');
        const read = h.simulator.isc.exchanges.filter((exchange) => exchange.route === 'isc.get' || exchange.route === 'isc.list');
        expect(read.some((exchange) => JSON.parse(exchange.responseBody).approvalCriteria?.type === 'PARALLEL')).toBe(true);
        expect(h.simulator.isc.exchanges.flatMap((exchange) => checkIscExchange(exchange))).toEqual([]);
    });

    it('takes fewer approvers for progress, not a next step, when ISC gives no serialStep', async () => {
        await start();
        h.simulator.isc.reshapeApproval = (json) => delete json.serialStep;
        const approval = parallel();
        await fn.pollNow();
        expect((await act(approval.id, 'approve', 'jamie.rivera@example.com')).body.message).not.toContain('moves on');
        h.simulator.isc.decideAs(approval.id, h.iscSample.people.carol.id, 'approve');
        await fn.pollNow();
        await fn.pollNow();
        expect(recipientsOf(approval.id)).toEqual([everyone]);
    });

    it('takes a new approver for the next step when ISC gives no serialStep', async () => {
        await start();
        h.simulator.isc.reshapeApproval = (json) => delete json.serialStep;
        const { jamie, carol, dana } = h.iscSample.people;
        const approval = parallel({ approvals: 1 }, { assignedTo: [identity(jamie), identity(carol)], laterSteps: [[identity(jamie), identity(dana)]] });
        await fn.pollNow();
        expect((await act(approval.id, 'approve', 'carol.jones@example.com')).body.message).toContain('moves on to Jamie Rivera, Dana Lee');
        await fn.pollNow();
        expect(recipientsOf(approval.id)).toEqual([
            ['carol.jones@example.com', 'jamie.rivera@example.com'],
            ['dana.lee@example.com', 'jamie.rivera@example.com'],
        ]);
    });
});
