import { Harness, startHarness } from './support/harness';

describe('approval ids that cannot be table keys', () => {
    let h: Harness;
    afterEach(() => h.stop());

    it('sets an ISC approval with a "/" in its id aside and keeps notifying the rest, poll after poll', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { ISC_ID_PATTERN: '.+' } });
        const carol = h.iscSample.people.carol;
        h.simulator.isc.addApproval({ id: 'bad/id', assignedTo: [{ kind: 'identity', id: carol.id }] });
        const [first] = await h.app.poll();
        expect(first.listingFailed).toBe(false);
        expect(new Set(h.simulator.messages.map((m) => m.slots.approval_id))).toEqual(new Set(Object.values(h.iscSample.approvals).map((a) => a.id)));
        expect(h.log.entries.some((entry) => entry.event === 'sync.unusable_id' && entry.level === 'warn')).toBe(true);

        const later = h.simulator.isc.addApproval({ assignedTo: [{ kind: 'identity', id: carol.id }] });
        await h.app.poll();
        expect(h.simulator.messagesFor(later.id)).toHaveLength(1);
        expect(h.simulator.messagesFor('bad/id')).toEqual([]);
    });

    it('sets an IdentityIQ work item with a "#" in its id aside when IIQ_ID_PATTERN lets it through', async () => {
        h = await startHarness({ settings: { IIQ_ID_PATTERN: '.+' } });
        h.simulator.workItems.set('bad#id', { ...h.sample.workItems.roleRequest, id: 'bad#id', name: '0000000099' });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(false);
        expect(report.newApprovals).toBe(3);
        const later = h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        await h.app.poll();
        expect(h.simulator.messagesFor(later.id)).toHaveLength(1);
    });

    it('closes nothing when a wrong ISC_ID_PATTERN makes every listed id look unusable', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] } });
        await h.app.poll();
        await h.newApp({ ISC_ID_PATTERN: '^[0-9]{4}$' }).poll();
        for (const { id } of Object.values(h.iscSample.approvals)) expect(await h.app.store.get('isc', id)).toMatchObject({ status: 'open' });
    });
});
