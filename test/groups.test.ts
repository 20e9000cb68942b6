import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/** Ordinary corporate addresses: long enough that 1,300 of them overflow one 64 KiB table property. */
const memberEmail = (i: number) => `firstname.lastname-${String(i).padStart(4, '0')}@corporate-division.example.com`;

describe('large approver groups', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });
    const start = async (sources: ('iiq' | 'isc')[]) => {
        h = await startHarness({ simulator: { sources, moveworksPerMinute: 100_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000' } });
        fn = await startFunctionHost(h.settings);
    };

    const expectEachMemberNotifiedOnce = (approvalId: string, count: number) => {
        const messages = h.simulator.messagesFor(approvalId);
        const recipients = messages.flatMap((message) => message.recipients);
        expect(messages.every((message) => message.recipients.length <= 500)).toBe(true);
        expect(recipients).toHaveLength(count);
        expect(new Set(recipients).size).toBe(count);
    };

    it('notifies each of 1,300 governance group members exactly once, lists it for each, and keeps later approvals flowing', async () => {
        await start(['isc']);
        const members = Array.from({ length: 1300 }, (_, i) => h.simulator.isc.addIdentity({ name: `Member ${i}`, email: memberEmail(i) }));
        const group = h.simulator.isc.addGroup('Everyone in Finance', members.map((member) => member.id));
        const big = h.simulator.isc.addApproval({ assignedTo: [{ kind: 'group', id: group.id }] });
        await fn.pollNow();
        expectEachMemberNotifiedOnce(big.id, 1300);

        await fn.pollNow();
        expectEachMemberNotifiedOnce(big.id, 1300);
        for (const i of [0, 649, 1299]) {
            const listed = await fn.get(`/api/approvals?approverEmail=${encodeURIComponent(memberEmail(i))}`);
            expect(listed.body.approvals.map((entry: { approvalId: string }) => entry.approvalId)).toEqual([big.id]);
        }

        const next = h.simulator.isc.addApproval({ assignedTo: [{ kind: 'identity', id: h.iscSample.people.carol.id }] });
        await fn.pollNow();
        expect(h.simulator.messagesFor(next.id).map((message) => message.recipients)).toEqual([['carol.jones@example.com']]);
    });

    it('notifies each of 1,300 IdentityIQ workgroup members exactly once and lists it for each', async () => {
        await start(['iiq']);
        const workgroup = h.simulator.addIdentity({ name: 'All Approvers', workgroup: true });
        for (let i = 0; i < 1300; i++) h.simulator.addIdentity({ name: `member.${i}`, email: memberEmail(i), memberOf: [workgroup.id] });
        const big = h.simulator.addWorkItem({ ownerId: workgroup.id });
        await fn.pollNow();
        expectEachMemberNotifiedOnce(big.id, 1300);

        await fn.pollNow();
        expectEachMemberNotifiedOnce(big.id, 1300);
        const listed = await fn.get(`/api/approvals?approverEmail=${encodeURIComponent(memberEmail(1299))}`);
        expect(listed.body.approvals.map((entry: { approvalId: string }) => entry.approvalId)).toEqual([big.id]);

        const next = h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        await fn.pollNow();
        expect(h.simulator.messagesFor(next.id)).toHaveLength(1);
    });

    it("looks up a 1,300-member workgroup's addresses in parallel batches, a bounded number at a time", async () => {
        await start(['iiq']);
        const workgroup = h.simulator.addIdentity({ name: 'All Approvers', workgroup: true });
        for (let i = 0; i < 1300; i++) h.simulator.addIdentity({ name: `member.${i}`, email: memberEmail(i), memberOf: [workgroup.id] });
        h.simulator.latencyMs = 20;
        const big = h.simulator.addWorkItem({ ownerId: workgroup.id });
        await fn.pollNow();
        expectEachMemberNotifiedOnce(big.id, 1300);
        expect(h.simulator.peakInFlight['iiq.identities']).toBeGreaterThan(1);
        expect(h.simulator.peakInFlight['iiq.identities']).toBeLessThanOrEqual(16);
    });

    it("looks a workgroup's members up once when its approvals span pages listed while earlier ones are recorded", async () => {
        h = await startHarness({ simulator: { moveworksPerMinute: 100_000, latencyMs: 20 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000', IIQ_PAGE_SIZE: '2' } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        const workgroup = h.simulator.addIdentity({ name: 'Late Approvers', workgroup: true });
        for (let i = 0; i < 3; i++) h.simulator.addIdentity({ name: `late.${i}`, email: memberEmail(i), memberOf: [workgroup.id] });
        const items = Array.from({ length: 8 }, () => h.simulator.addWorkItem({ ownerId: workgroup.id }));
        const before = h.simulator.calls['iiq.members'];
        // The first look-up is slow, so the next pages are listed and recorded while it is still in flight.
        h.simulator.failNext('iiq.members', { delayMs: 300 });
        await fn.pollNow();
        for (const item of items) expectEachMemberNotifiedOnce(item.id, 3);
        expect(h.simulator.calls['iiq.members'] - before).toBe(1);
    });
});
