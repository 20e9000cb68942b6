import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';

const MINUTE = 60_000;

/**
 * A worker that died between the claim and its release (a host restart, a deploy, scale-in) leaves the
 * row `deciding`, as does a table write that failed after SailPoint decided. Stood in for here by the row
 * a claim writes, taken long enough ago for the claim to have lapsed.
 */
async function leaveClaimed(h: Harness, approvalId: string, claimedAt: number): Promise<void> {
    const record = await h.app.store.get('iiq', approvalId);
    await h.app.store.update({ ...record!, status: 'deciding', decidingSince: claimedAt, updatedAt: claimedAt });
}

const listed = async (fn: FunctionHost, email: string) =>
    ((await fn.get(`/api/approvals?approverEmail=${email}`)).body.approvals as { approvalId: string }[]).map((approval) => approval.approvalId);

describe('a decision whose worker died after claiming the row', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    beforeEach(async () => {
        h = await startHarness();
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
    });

    it('lets the approver decide it with the next click once the claim has lapsed', async () => {
        const { roleRequest } = h.sample.workItems;
        await leaveClaimed(h, roleRequest.id, Date.now() - 10 * MINUTE);

        const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });

        expect(answer.status).toBe(200);
        expect(h.simulator.decisions.map((decision) => decision.workItemId)).toEqual([roleRequest.id]);
    });

    it('is closed by the next poll when IdentityIQ finished it, and leaves the approver list', async () => {
        const { roleRequest } = h.sample.workItems;
        h.simulator.complete(roleRequest.id);
        await leaveClaimed(h, roleRequest.id, Date.now() - 10 * MINUTE);

        await fn.pollNow();

        expect(await h.app.store.get('iiq', roleRequest.id)).toMatchObject({ status: 'closed' });
        expect(await listed(fn, 'jamie.rivera@example.com')).not.toContain(roleRequest.id);
    });

    it('answers 409 no_longer_pending to a click once IdentityIQ finished it', async () => {
        const { roleRequest } = h.sample.workItems;
        h.simulator.complete(roleRequest.id);
        await leaveClaimed(h, roleRequest.id, Date.now() - 10 * MINUTE);
        await fn.pollNow();

        const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });

        expect(answer.status).toBe(409);
        expect(answer.body.error.code).toBe('no_longer_pending');
        expect(h.simulator.decisions).toEqual([]);
    });

    it('is open again after the next poll when IdentityIQ still has it pending', async () => {
        const { roleRequest } = h.sample.workItems;
        await leaveClaimed(h, roleRequest.id, Date.now() - 10 * MINUTE);

        await fn.pollNow();

        expect(await h.app.store.get('iiq', roleRequest.id)).toMatchObject({ status: 'open', decidingSince: undefined });
    });

    it('keeps a claim that has not lapsed: the poll leaves the row to the action holding it', async () => {
        const { roleRequest } = h.sample.workItems;
        await leaveClaimed(h, roleRequest.id, Date.now());

        await fn.pollNow();

        expect(await h.app.store.get('iiq', roleRequest.id)).toMatchObject({ status: 'deciding' });
        expect((await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' })).body.error.code).toBe('decision_in_progress');
    });
});

describe('reminders for a row whose claim lapsed', () => {
    let h: Harness;
    afterEach(() => h.stop());

    it('reminds its approver as for any open approval', async () => {
        h = await startHarness({ settings: { REMIND_AFTER_HOURS: '1' } });
        const clock = manualClock();
        const app = h.newApp({ REMIND_AFTER_HOURS: '1' }, clock.now);
        await app.poll();
        const { roleRequest } = h.sample.workItems;
        await leaveClaimed(h, roleRequest.id, clock.now());
        clock.advance(2 * 60 * MINUTE);

        await app.poll();

        expect(h.simulator.messagesFor(roleRequest.id)).toHaveLength(2);
    });
});
