import { Harness, startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

/** Ordinary corporate addresses: long enough that 1,300 of them overflow one 64 KiB table property. */
const memberEmail = (i: number) => `firstname.lastname-${String(i).padStart(4, '0')}@corporate-division.example.com`;

describe('open rows as a poll lists them, without the texts of their messages', () => {
    let h: Harness;
    let proxy: TableProxy | undefined;
    afterEach(async () => {
        await proxy?.stop();
        proxy = undefined;
        await h.stop();
    });

    it("reads a 1,300-member group's row whole on a later poll: no look-up and no write for it", async () => {
        h = await startHarness({ simulator: { moveworksPerMinute: 100_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000' } });
        const workgroup = h.simulator.addIdentity({ name: 'All Approvers', workgroup: true });
        for (let i = 0; i < 1300; i++) h.simulator.addIdentity({ name: `member.${i}`, email: memberEmail(i), memberOf: [workgroup.id] });
        const big = h.simulator.addWorkItem({ ownerId: workgroup.id });
        await h.app.poll();
        expect(h.simulator.messagesFor(big.id).flatMap((message) => message.recipients)).toHaveLength(1300);

        proxy = new TableProxy();
        const app = h.newApp({ AzureWebJobsStorage: await proxy.start() });
        const writes: string[] = [];
        proxy.fail({ matches: ({ method, path }) => (method !== 'GET' && (path.includes("PartitionKey='iiq'") || path.endsWith('/$batch')) && writes.push(`${method} ${path}`), false) });
        const lookups = h.simulator.calls['iiq.identities'] + h.simulator.calls['iiq.members'];
        const [report] = await app.poll();
        expect(report).toMatchObject({ listed: 4, newApprovals: 0, reassigned: 0, messagesSent: 0 });
        expect(h.simulator.calls['iiq.identities'] + h.simulator.calls['iiq.members']).toBe(lookups);
        expect(writes).toEqual([]);
    });

    it('sends a message owed from an earlier poll with its whole text', async () => {
        h = await startHarness();
        const { roleRequest } = h.sample.workItems;
        h.simulator.failNext('moveworks.send', { status: 503 }, { status: 503 }, { status: 503 });
        await h.app.poll();
        const owed = (await h.app.store.get('iiq', roleRequest.id))!;
        expect(owed.notified).toEqual([]);
        await h.app.poll();
        const [message] = h.simulator.messagesFor(roleRequest.id);
        expect(message.message).toBe(owed.message);
        expect(message.message).toContain('IT Database Manager');
        expect(await h.app.store.get('iiq', roleRequest.id)).toMatchObject({ message: owed.message, summary: owed.summary, approverNames: owed.approverNames });
    });

    it('rewrites a reassigned row without reading it first, and tells the new approver with the whole text', async () => {
        h = await startHarness();
        const { roleRequest } = h.sample.workItems;
        await h.app.poll();
        h.simulator.reassign(roleRequest.id, h.sample.people.carol.id);
        proxy = new TableProxy();
        const app = h.newApp({ AzureWebJobsStorage: await proxy.start() });
        const reads: string[] = [];
        proxy.fail({ matches: ({ method, path }) => (method === 'GET' && path.includes(`RowKey='${roleRequest.id}'`) && reads.push(path), false) });
        const [report] = await app.poll();
        expect(report).toMatchObject({ reassigned: 1 });
        const [toCarol] = h.simulator.messagesFor(roleRequest.id).filter((message) => message.recipients.includes('carol.jones@example.com'));
        expect(toCarol.message).toContain('IT Database Manager');
        expect(reads).toEqual([]);
    });
});
