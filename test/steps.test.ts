import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';

const HOUR = 3_600_000;

describe('Identity Security Cloud approvals with serial steps', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });
    const start = async () => {
        h = await startHarness({ simulator: { sources: ['isc'] } });
        fn = await startFunctionHost(h.settings);
    };
    const twoSteps = () => {
        const { jamie, dana, allen, amy } = h.iscSample.people;
        return h.simulator.isc.addApproval({
            name: 'Access Request: Payroll Admin',
            requesterId: allen.id,
            requesteeId: amy.id,
            assignedTo: [{ kind: 'identity', id: jamie.id }],
            laterSteps: [[{ kind: 'identity', id: dana.id }]],
        });
    };
    /** Step 1 Jamie, step 2 the Security Reviewers group (Jamie and Carol): Jamie is in both. */
    const jamieThenReviewers = () => {
        const { jamie, allen, amy } = h.iscSample.people;
        return h.simulator.isc.addApproval({
            requesterId: allen.id,
            requesteeId: amy.id,
            assignedTo: [{ kind: 'identity', id: jamie.id }],
            laterSteps: [[{ kind: 'group', id: h.iscSample.reviewers.id }]],
        });
    };
    const approve = (id: string, email: string) => fn.post(`/api/approvals/${id}/approve`, { approverEmail: email });

    it('tells the first approver the request moves on to the next step, not that it is complete', async () => {
        await start();
        const serial = twoSteps();
        await fn.pollNow();
        const answer = await approve(serial.id, 'jamie.rivera@example.com');
        expect(answer.status).toBe(200);
        expect(answer.body.message).toContain('Dana Lee');
        expect(answer.body.message).not.toContain('complete');
    });

    it('notifies the next step, lists it for them and lets them decide', async () => {
        await start();
        const serial = twoSteps();
        await fn.pollNow();
        await approve(serial.id, 'jamie.rivera@example.com');
        await fn.pollNow();
        expect(h.simulator.messagesFor(serial.id).map((m) => m.recipients)).toEqual([['jamie.rivera@example.com'], ['dana.lee@example.com']]);
        const listed = await fn.get('/api/approvals?approverEmail=dana.lee@example.com');
        expect(listed.body.approvals.map((entry: { approvalId: string }) => entry.approvalId)).toContain(serial.id);
        const answer = await approve(serial.id, 'dana.lee@example.com');
        expect(answer.status).toBe(200);
        expect(h.simulator.isc.approvals.get(serial.id)!.status).toBe('APPROVED');
    });

    it('reopens a decided approval that a poll finds waiting on other approvers', async () => {
        await start();
        const serial = twoSteps();
        await fn.pollNow();
        // The first step is approved inside ISC and the app's record says decided, as after a lost re-read.
        const record = (await h.app.store.get('isc', serial.id))!;
        await h.app.store.update({ ...record, status: 'decided', decision: 'approve', decidedBy: 'jamie.rivera@example.com', decidedAt: Date.now() });
        h.simulator.isc.approvals.get(serial.id)!.assignedTo = [{ kind: 'identity', id: h.iscSample.people.dana.id }];
        await fn.pollNow();
        expect(await h.app.store.get('isc', serial.id)).toMatchObject({ status: 'open' });
        expect(h.simulator.messagesFor(serial.id).map((m) => m.recipients)).toEqual([['jamie.rivera@example.com'], ['dana.lee@example.com']]);
    });

    it('never takes a later step approver for a current one, even when ISC names nobody for the current step', async () => {
        await start();
        const { dana, allen, amy } = h.iscSample.people;
        const serial = h.simulator.isc.addApproval({
            requesterId: allen.id,
            requesteeId: amy.id,
            assignedTo: [{ kind: 'group', id: 'a-group-isc-no-longer-has' }],
            laterSteps: [[{ kind: 'identity', id: dana.id }]],
        });
        await fn.pollNow();
        expect(h.simulator.messagesFor(serial.id)).toEqual([]);
        const answer = await approve(serial.id, 'dana.lee@example.com');
        expect(answer.status).toBe(403);
        expect(answer.body.error.code).toBe('not_approver');
        expect(h.simulator.isc.actions).toEqual([]);
    });

    it('moves on to the next step even when a poll updates the row while the first step is being decided', async () => {
        await start();
        const serial = twoSteps();
        await fn.pollNow();
        // The live read before the approve answers; the re-read after it is slow and then fails.
        h.simulator.failNext('isc.get', {}, { delayMs: 1500, status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
        const clicking = approve(serial.id, 'jamie.rivera@example.com');
        await new Promise((resolve) => setTimeout(resolve, 600));
        await h.app.poll();
        expect((await clicking).status).toBe(200);
        await fn.pollNow();
        expect(await h.app.store.get('isc', serial.id)).toMatchObject({ status: 'open' });
        expect(h.simulator.messagesFor(serial.id).map((m) => m.recipients)).toEqual([['jamie.rivera@example.com'], ['dana.lee@example.com']]);
        expect((await approve(serial.id, 'dana.lee@example.com')).status).toBe(200);
    });

    it('records an approval ISC took as decided even when the re-read after it is slow', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { HTTP_TIMEOUT_MS: '1000' } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        const { roleRequest } = h.iscSample.approvals;
        h.simulator.failNext('isc.get', {}, ...Array.from({ length: 4 }, () => ({ delayMs: 5000 })));
        const answer = await approve(roleRequest.id, 'jamie.rivera@example.com');
        expect(answer.status).toBe(200);
        expect(h.simulator.isc.approvals.get(roleRequest.id)!.status).toBe('APPROVED');
        expect(await h.app.store.get('isc', roleRequest.id)).toMatchObject({ status: 'decided', decidedBy: 'jamie.rivera@example.com' });
    });

    it('notifies an approver of the next step who was already notified for an earlier one', async () => {
        await start();
        const serial = jamieThenReviewers();
        await fn.pollNow();
        await approve(serial.id, 'jamie.rivera@example.com');
        for (let poll = 0; poll < 3; poll++) await fn.pollNow();
        const recipients = h.simulator.messagesFor(serial.id).map((m) => [...m.recipients].sort());
        expect(recipients).toEqual([['jamie.rivera@example.com'], ['carol.jones@example.com', 'jamie.rivera@example.com']]);
    });

    it('notifies the next step once, with its own heading, when a poll runs while the first step is decided', async () => {
        await start();
        const serial = jamieThenReviewers();
        await fn.pollNow();
        h.simulator.failNext('isc.get', {}, { delayMs: 1500 });
        const clicking = approve(serial.id, 'jamie.rivera@example.com');
        await new Promise((resolve) => setTimeout(resolve, 600));
        await h.app.poll();
        expect((await clicking).body.message).toContain('moves on');
        for (let poll = 0; poll < 3; poll++) await fn.pollNow();
        const messages = h.simulator.messagesFor(serial.id);
        expect(messages.map((m) => [...m.recipients].sort())).toEqual([['jamie.rivera@example.com'], ['carol.jones@example.com', 'jamie.rivera@example.com']]);
        expect(messages[1].message).toContain('your step');
    });

    it('moves on when the next step has the same approvers as the one just approved', async () => {
        await start();
        const { allen, amy } = h.iscSample.people;
        const reviewers = { kind: 'group' as const, id: h.iscSample.reviewers.id };
        const serial = h.simulator.isc.addApproval({ requesterId: allen.id, requesteeId: amy.id, assignedTo: [reviewers], laterSteps: [[reviewers]] });
        await fn.pollNow();
        const first = await approve(serial.id, 'carol.jones@example.com');
        expect(first.body.message).toContain('moves on');
        await fn.pollNow();
        expect(h.simulator.messagesFor(serial.id)).toHaveLength(2);
        expect((await approve(serial.id, 'jamie.rivera@example.com')).status).toBe(200);
        expect(h.simulator.isc.approvals.get(serial.id)!.status).toBe('APPROVED');
    });

    it('records a reject as rejected, and tells the requester, even when a poll sees new approvers meanwhile', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { NOTIFY_REQUESTER: 'true' } });
        fn = await startFunctionHost(h.settings);
        const { roleRequest } = h.iscSample.approvals;
        await fn.pollNow();
        h.simulator.isc.reassignTo(roleRequest.id, [{ kind: 'group', id: h.iscSample.reviewers.id }]);
        h.simulator.failNext('isc.reject', { delayMs: 1500 });
        const clicking = fn.post(`/api/approvals/${roleRequest.id}/reject`, { approverEmail: 'jamie.rivera@example.com', comment: 'No' });
        await new Promise((resolve) => setTimeout(resolve, 600));
        await h.app.poll();
        const answer = await clicking;
        expect(answer.body).toMatchObject({ status: 'rejected', message: expect.stringContaining('Rejected') });
        expect(await h.app.store.get('isc', roleRequest.id)).toMatchObject({ status: 'decided', decision: 'reject' });
        expect(h.simulator.messages.some((m) => m.recipients.includes('allen.burton@example.com'))).toBe(true);
    });

    const reviewersTwice = () => {
        const { allen, amy } = h.iscSample.people;
        const reviewers = { kind: 'group' as const, id: h.iscSample.reviewers.id };
        return h.simulator.isc.addApproval({ requesterId: allen.id, requesteeId: amy.id, assignedTo: [reviewers], laterSteps: [[reviewers]] });
    };

    it('moves on after a lost re-read even when the next step has the same approvers', async () => {
        await start();
        const serial = reviewersTwice();
        await fn.pollNow();
        h.simulator.failNext('isc.get', {}, ...Array.from({ length: 4 }, () => ({ status: 500 })));
        expect((await approve(serial.id, 'carol.jones@example.com')).status).toBe(200);
        await fn.pollNow();
        expect(await h.app.store.get('isc', serial.id)).toMatchObject({ status: 'open', step: 1 });
        expect(h.simulator.messagesFor(serial.id)).toHaveLength(2);
        expect((await approve(serial.id, 'jamie.rivera@example.com')).status).toBe(200);
    });

    it('notifies every approver of a step approved inside ISC, with the next-step heading', async () => {
        await start();
        const serial = jamieThenReviewers();
        await fn.pollNow();
        h.simulator.isc.approveStep(serial.id);
        await fn.pollNow();
        await fn.pollNow();
        const messages = h.simulator.messagesFor(serial.id);
        expect(messages.map((m) => [...m.recipients].sort())).toEqual([['jamie.rivera@example.com'], ['carol.jones@example.com', 'jamie.rivera@example.com']]);
        expect(messages[1].message).toContain('your step');
    });

    it('counts a message for the step it was sent for when the step moves on while it is being sent', async () => {
        await start();
        await fn.pollNow();
        const serial = reviewersTwice();
        h.simulator.failNext('moveworks.send', { delayMs: 2500 });
        const polling = h.app.poll();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        expect((await approve(serial.id, 'carol.jones@example.com')).body.message).toContain('moves on');
        await polling;
        for (let poll = 0; poll < 2; poll++) await fn.pollNow();
        const messages = h.simulator.messagesFor(serial.id);
        expect(messages).toHaveLength(2);
        expect(messages[1].message).toContain('your step');
    });

    it('reminds the next step again when its approvers are the same as the last one', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { REMIND_MAX: '1', REMIND_AFTER_HOURS: '24' } });
        fn = await startFunctionHost(h.settings);
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        const serial = reviewersTwice();
        await app.poll();
        clock.advance(25 * HOUR);
        await app.poll();
        expect((await app.decide({ approvalId: serial.id, decision: 'approve', approverEmail: 'carol.jones@example.com' })).message).toContain('moves on');
        await app.poll();
        clock.advance(25 * HOUR);
        await app.poll();
        const headings = h.simulator.messagesFor(serial.id).map((m) => (m.message.includes('Reminder') ? 'reminder' : m.message.includes('your step') ? 'step' : 'new'));
        expect(headings).toEqual(['new', 'reminder', 'step', 'reminder']);
    });
});
