import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';

const MINUTE = 60_000;

describe('full sweeps over a list that shifts while it is paged', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    it('keeps an IdentityIQ approval open that a shifted page hid from the sweep, so its approver can still approve', async () => {
        h = await startHarness({ settings: { IIQ_PAGE_SIZE: '2' } });
        fn = await startFunctionHost(h.settings);
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        await app.poll();
        const [first, second, third] = [...h.simulator.workItems.values()].filter((item) => item.type === 'Approval').sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
        clock.advance(16 * MINUTE);
        // While the sweep reads page 2, the first approval is completed: the third moves onto page 1, unseen.
        h.simulator.beforeListPage = (offset) => {
            if (offset === 2) h.simulator.complete(first.id);
        };
        await app.poll();
        h.simulator.beforeListPage = undefined;
        expect(await h.app.store.get('iiq', third.id)).toMatchObject({ status: 'open' });
        expect(await h.app.store.get('iiq', first.id)).toMatchObject({ status: 'open' });
        clock.advance(16 * MINUTE);
        await app.poll();
        expect(await h.app.store.get('iiq', first.id)).toMatchObject({ status: 'closed' });
        expect(await h.app.store.get('iiq', second.id)).toMatchObject({ status: 'open' });

        const approver = h.simulator.identities.get(third.ownerId)!;
        const email = approver.email ?? 'jamie.rivera@example.com';
        const answer = await fn.post(`/api/approvals/${third.id}/approve`, { approverEmail: email });
        expect(answer.status).toBe(200);
    });

    it('confirms unseen IdentityIQ approvals one by one when the plugin refuses an id filter on work items', async () => {
        h = await startHarness({ settings: { IIQ_PAGE_SIZE: '2' } });
        fn = await startFunctionHost(h.settings);
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        await app.poll();
        const [first, , third] = [...h.simulator.workItems.values()].filter((item) => item.type === 'Approval').sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
        h.simulator.workItemIdFilter = false;
        clock.advance(16 * MINUTE);
        h.simulator.beforeListPage = (offset) => {
            if (offset === 2) h.simulator.complete(first.id);
        };
        await app.poll();
        expect(await h.app.store.get('iiq', third.id)).toMatchObject({ status: 'open' });
        h.simulator.beforeListPage = undefined;
        clock.advance(16 * MINUTE);
        await app.poll();
        expect(await h.app.store.get('iiq', first.id)).toMatchObject({ status: 'closed' });
        expect(await h.app.store.get('iiq', third.id)).toMatchObject({ status: 'open' });
        expect(h.log.entries.some((entry) => entry.event === 'iiq.confirm.filter_refused')).toBe(true);
    });

    it('keeps an ISC approval open that a shifted page hid from the sweep, and closes the completed one', async () => {
        h = await startHarness({ simulator: { sources: ['isc'], moveworksPerMinute: 100_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000' } });
        fn = await startFunctionHost(h.settings);
        const carol = h.iscSample.people.carol;
        for (let i = 0; i < 300; i++) h.simulator.isc.addApproval({ assignedTo: [{ kind: 'identity', id: carol.id }] });
        await fn.pollNow();
        const listed = [...h.simulator.isc.approvals.values()];
        const shifted = listed[250];
        h.simulator.isc.beforeListPage = (offset) => {
            if (offset === 250) h.simulator.isc.complete(listed[0].id);
        };
        await fn.pollNow();
        h.simulator.isc.beforeListPage = undefined;
        expect(await h.app.store.get('isc', shifted.id)).toMatchObject({ status: 'open' });
        await fn.pollNow();
        expect(await h.app.store.get('isc', listed[0].id)).toMatchObject({ status: 'closed' });
        const answer = await fn.post(`/api/approvals/${shifted.id}/approve`, { approverEmail: 'carol.jones@example.com' });
        expect(answer.status).toBe(200);
    });

    it('reopens a row closed by mistake when the source lists the approval again', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        const { roleRequest } = h.iscSample.approvals;
        const record = (await h.app.store.get('isc', roleRequest.id))!;
        await h.app.store.update({ ...record, status: 'closed', closedReason: 'no longer pending in the source' });
        await fn.pollNow();
        expect(await h.app.store.get('isc', roleRequest.id)).toMatchObject({ status: 'open' });
        expect(h.simulator.messagesFor(roleRequest.id)).toHaveLength(1);
        const answer = await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
        expect(answer.status).toBe(200);
    });
});
