import { TableClient } from '@azure/data-tables';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

/**
 * GET /api/approvals through the local host: a person's pending list reads what their own approvals
 * take, however many other people have approvals open, and stays exact as approvals are decided,
 * completed, reassigned, or written only half-way.
 */
describe("a person's pending list", () => {
    let h: Harness;
    let proxy: TableProxy | undefined;
    let host: FunctionHost | undefined;

    const jamie = 'jamie.rivera@example.com';

    async function start(settings: Record<string, string> = {}) {
        h = await startHarness({ simulator: { moveworksPerMinute: 1_000_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000', MOVEWORKS_CONCURRENCY: '32', ...settings } });
        proxy = new TableProxy();
        host = await startFunctionHost({ ...h.settings, AzureWebJobsStorage: await proxy.start() });
    }

    afterEach(async () => {
        await host?.stop();
        await proxy?.stop();
        await h?.stop();
        host = undefined;
        proxy = undefined;
    });

    /** IdentityIQ approvals of other people, one each. */
    function addOthersApprovals(count: number, from: number) {
        for (let i = from; i < from + count; i++) {
            const owner = h.simulator.addIdentity({ name: `other.${i}`, email: `other.person-${String(i).padStart(4, '0')}@example.com` });
            h.simulator.addWorkItem({ ownerId: owner.id, description: `Approval - Account Changes for User: Person ${i}` });
        }
    }

    const listFor = async (email: string) => {
        const answer = await host!.get(`/api/approvals?approverEmail=${encodeURIComponent(email)}&limit=100`);
        expect(answer.status).toBe(200);
        return answer.body as { approvals: { approvalId: string }[]; total: number; nextOffset?: number };
    };
    const idsListedFor = async (email: string) => (await listFor(email)).approvals.map((approval) => approval.approvalId);

    /** The list and the bytes the table answered while it was read. */
    async function listWithTableBytes(email: string) {
        const before = proxy!.answeredBytes;
        const list = await listFor(email);
        return { list, bytes: proxy!.answeredBytes - before };
    }

    it('reads as much of the table for one person with 500 other people waiting as with 10', async () => {
        await start();
        addOthersApprovals(10, 0);
        await host!.pollNow();
        const few = await listWithTableBytes(jamie);
        addOthersApprovals(490, 10);
        await host!.pollNow();
        expect((await listFor('other.person-0499@example.com')).total).toBe(1);

        const many = await listWithTableBytes(jamie);
        expect(many.list).toEqual(few.list);
        expect(few.list.total).toBeGreaterThan(0);
        expect(many.bytes).toBeLessThanOrEqual(few.bytes * 1.1);
    });

    it('lists approvals recorded before the person index existed, once the next poll has run', async () => {
        await start();
        await host!.pollNow();
        const listed = await listFor(jamie);
        expect(listed.total).toBeGreaterThanOrEqual(2);
        await asRecordedBeforeTheIndex(h.settings);

        await host!.pollNow();
        expect(await listFor(jamie)).toEqual(listed);
    });

    it("drops an approval from the approver's list once they approve it", async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        await host!.pollNow();
        const before = await listFor(jamie);
        expect(before.approvals.map((approval) => approval.approvalId)).toContain(roleRequest.id);

        const approved = await host!.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: jamie });
        expect(approved.status).toBe(200);
        const after = await listFor(jamie);
        expect(after.approvals.map((approval) => approval.approvalId)).not.toContain(roleRequest.id);
        expect(after.total).toBe(before.total - 1);
    });

    it('drops an approval completed inside the source from every approver once a poll closes it', async () => {
        await start({ FULL_SWEEP_MINUTES: '0' });
        const { entitlementRequest } = h.sample.workItems;
        await host!.pollNow();
        expect(await idsListedFor('carol.jones@example.com')).toContain(entitlementRequest.id);

        h.simulator.complete(entitlementRequest.id);
        await host!.pollNow();
        expect(await idsListedFor(jamie)).not.toContain(entitlementRequest.id);
        expect(await idsListedFor('carol.jones@example.com')).not.toContain(entitlementRequest.id);
    });

    it("moves a reassigned approval from the old approver's list to the new approver's", async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        await host!.pollNow();
        expect(await idsListedFor('bob.smith@example.com')).toEqual([]);

        h.simulator.reassign(roleRequest.id, h.sample.people.bob.id);
        await host!.pollNow();
        expect(await idsListedFor(jamie)).not.toContain(roleRequest.id);
        expect(await idsListedFor('bob.smith@example.com')).toEqual([roleRequest.id]);
    });

    it('shows a reassignment to nobody while its row could not be written, and to the new approver once it is', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        await host!.pollNow();
        h.simulator.reassign(roleRequest.id, h.sample.people.bob.id);
        // The writer stops after whatever it writes before the approval's own row, as a process dying there would.
        proxy!.fail({ matches: ({ method, path }) => method !== 'GET' && path.includes(`PartitionKey='iiq',RowKey='${roleRequest.id}'`), status: 500 });
        await host!.pollNow();
        expect(proxy!.failed.length).toBeGreaterThan(0);
        expect(await idsListedFor('bob.smith@example.com')).toEqual([]);
        expect(await idsListedFor(jamie)).toContain(roleRequest.id);

        proxy!.heal();
        await host!.pollNow();
        expect(await idsListedFor('bob.smith@example.com')).toEqual([roleRequest.id]);
        expect(await idsListedFor(jamie)).not.toContain(roleRequest.id);
    });

    it('stops reading what an approval left behind in the index once it has been out of the list for an hour', async () => {
        h = await startHarness({ settings: { FULL_SWEEP_MINUTES: '0' } });
        const clock = manualClock();
        const app = h.newApp({}, clock.now);
        const { entitlementRequest } = h.sample.workItems;
        await app.poll();
        const read = async () => {
            const before = app.store.operations;
            const list = await app.pendingFor(jamie, 20, 0);
            return { list, operations: app.store.operations - before };
        };
        h.simulator.complete(entitlementRequest.id);
        await app.poll();
        const justClosed = await read();
        expect(justClosed.list.approvals.map((approval) => approval.approvalId)).not.toContain(entitlementRequest.id);

        clock.advance(2 * 3_600_000);
        await read();
        const later = await read();
        expect(later.list).toEqual(justClosed.list);
        expect(later.operations).toBeLessThan(justClosed.operations);
    });
});

/**
 * The table as a version without the person index left it: no index rows, and approval rows that do
 * not say they were indexed.
 */
async function asRecordedBeforeTheIndex(settings: Record<string, string>) {
    const table = TableClient.fromConnectionString(settings.AzureWebJobsStorage, settings.STATE_TABLE_NAME, { allowInsecureConnection: true });
    for await (const entity of table.listEntities<Record<string, unknown>>()) {
        const { partitionKey, rowKey, etag, timestamp, indexedFor, ...columns } = entity as Record<string, unknown> & { partitionKey: string; rowKey: string };
        if (partitionKey.startsWith('pending-')) await table.deleteEntity(partitionKey, rowKey);
        else if (indexedFor !== undefined) await table.updateEntity({ partitionKey, rowKey, ...withoutMetadata(columns) }, 'Replace');
    }
}

const withoutMetadata = (columns: Record<string, unknown>) => Object.fromEntries(Object.entries(columns).filter(([name]) => !name.startsWith('odata.')));
