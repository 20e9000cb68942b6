import { Harness, startHarness } from './support/harness';

describe('notifying approvers', () => {
    let h: Harness;
    beforeEach(async () => {
        h = await startHarness();
    });
    afterEach(() => h.stop());

    it('sends one Events API message per pending approval, carrying the work item id as approval_id', async () => {
        await h.app.poll();
        const { roleRequest, entitlementRequest, removal } = h.sample.workItems;
        expect(h.simulator.messages.map((m) => m.slots.approval_id).sort()).toEqual([roleRequest.id, entitlementRequest.id, removal.id].sort());
        expect(h.simulator.messagesFor(roleRequest.id)[0].recipients).toEqual(['jamie.rivera@example.com']);
    });

    it('does not notify the same approval again on later polls', async () => {
        await h.app.poll();
        await h.app.poll();
        await h.newApp().poll();
        expect(h.simulator.messages).toHaveLength(3);
    });

    it('ignores work items that are not approvals', async () => {
        await h.app.poll();
        const formOwner = h.sample.people.allen.email;
        expect(h.simulator.messages.flatMap((m) => m.recipients)).not.toContain(formOwner);
    });

    it('notifies every member of a workgroup owner, in one message', async () => {
        await h.app.poll();
        const [message] = h.simulator.messagesFor(h.sample.workItems.entitlementRequest.id);
        expect(message.recipients.sort()).toEqual(['carol.jones@example.com', 'jamie.rivera@example.com']);
    });

    it('shows the conversation design fields and every requested item', async () => {
        await h.app.poll();
        const [{ message }] = h.simulator.messagesFor(h.sample.workItems.entitlementRequest.id);
        for (const text of ['Work item', h.sample.workItems.entitlementRequest.name, 'Requested by', 'Allen.Burton', 'Requested for', 'Amy.Cox', 'Requested on', 'Priority', 'High']) {
            expect(message).toContain(text);
        }
        expect(message).toContain('Request item 1/2');
        expect(message).toContain('Request item 2/2');
        expect(message).toContain('Finance-Writers');
        expect(message).toContain('Active Directory');
    });

    it('HTML-escapes every value that comes from IdentityIQ', async () => {
        const item = h.simulator.addWorkItem({
            ownerId: h.sample.people.jamie.id,
            requesterId: h.sample.people.allen.id,
            description: '<script>alert("x")</script> & more',
            items: [{ application: 'A<b>pp', name: 'memberOf', value: "O'Brien <admins>", operation: 'Add' }],
        });
        await h.app.poll();
        const [{ message }] = h.simulator.messagesFor(item.id);
        expect(message).not.toContain('<script>');
        expect(message).not.toContain('<admins>');
        expect(message).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
        expect(message).toContain('O&#39;Brien &lt;admins&gt;');
        expect(message).toContain('A&lt;b&gt;pp');
    });

    it('notifies the new owner when a work item is forwarded, and not the old owner again', async () => {
        await h.app.poll();
        const { roleRequest } = h.sample.workItems;
        h.simulator.reassign(roleRequest.id, h.sample.people.bob.id);
        await h.app.poll();
        const messages = h.simulator.messagesFor(roleRequest.id);
        expect(messages.map((m) => m.recipients)).toEqual([['jamie.rivera@example.com'], ['bob.smith@example.com']]);
        expect(messages[1].message).toContain('reassigned to you');
        await h.app.poll();
        expect(h.simulator.messagesFor(roleRequest.id)).toHaveLength(2);
    });

    it('records what it notified, to whom and when, in the table', async () => {
        await h.app.poll();
        const record = await h.app.store.get('iiq', h.sample.workItems.removal.id);
        expect(record).toMatchObject({ status: 'open', approverKey: h.sample.people.carol.id, recipients: ['carol.jones@example.com'] });
        expect(record?.notified).toEqual([expect.objectContaining({ email: 'carol.jones@example.com', approverKey: h.sample.people.carol.id, at: expect.any(Number) })]);
    });

    it('notifies each approval once when two polls run at the same moment', async () => {
        for (let i = 0; i < 30; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        await Promise.all([h.app.poll(), h.newApp().poll(), h.newApp().poll()]);
        const ids = h.simulator.messages.map((m) => m.slots.approval_id);
        expect(ids).toHaveLength(33);
        expect(new Set(ids).size).toBe(33);
    });
});
