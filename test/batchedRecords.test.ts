import { App } from '../shared/app';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

/** Table requests a poll makes, seen through the proxy: row writes and entity group transactions. */
function watchTable(proxy: TableProxy) {
    const requests: string[] = [];
    proxy.fail({ matches: ({ method, path }) => (requests.push(`${method} ${path}`), false) });
    return {
        requests,
        rowWrites: () => requests.filter((request) => request.startsWith('PUT ') && request.includes("PartitionKey='iiq'")).length,
        transactions: () => requests.filter((request) => request.startsWith('POST ') && request.endsWith('/$batch')).length,
    };
}

const waitFor = async (condition: () => boolean) => {
    for (let waited = 0; !condition(); waited += 20) {
        if (waited > 10_000) throw new Error('timed out waiting');
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
};

describe('recording notifications in table transactions', () => {
    let h: Harness;
    let proxy: TableProxy;
    let fn: FunctionHost | undefined;
    afterEach(async () => {
        await fn?.stop();
        fn = undefined;
        await proxy.stop();
        await h.stop();
    });
    const start = async (settings: Record<string, string> = {}, now?: () => number): Promise<App> => {
        h = await startHarness({ simulator: { latencyMs: 20 }, settings: { MOVEWORKS_CONCURRENCY: '16', ...settings } });
        proxy = new TableProxy();
        return h.newApp({ AzureWebJobsStorage: await proxy.start() }, now);
    };
    const addForJamie = (count: number) => Array.from({ length: count }, () => h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id }));

    it('records what a burst of sends notified in a few transactions, not a write per approval', async () => {
        const app = await start();
        const items = addForJamie(60);
        const table = watchTable(proxy);
        await app.poll();
        const ids = h.simulator.messages.map((message) => message.slots.approval_id);
        expect(ids).toHaveLength(63);
        expect(new Set(ids).size).toBe(63);
        expect(table.rowWrites()).toBeLessThan(63 / 2);
        expect(table.transactions()).toBeGreaterThan(0);
        for (const item of items) {
            expect(await app.store.get('iiq', item.id)).toMatchObject({
                notified: [expect.objectContaining({ email: 'jamie.rivera@example.com' })],
                sendLeaseUntil: 0,
                leaseHolder: undefined,
            });
        }
        await app.poll();
        expect(h.simulator.messages).toHaveLength(63);
    });

    it('keeps the decisions taken while the messages were in flight, and records every message once, when the transaction meets the changed rows', async () => {
        const app = await start();
        fn = await startFunctionHost(h.settings);
        await app.poll();
        const items = addForJamie(8);
        const sentBefore = h.simulator.calls['moveworks.send'];
        h.simulator.failNext('moveworks.send', ...items.map(() => ({ delayMs: 1500 })));
        const table = watchTable(proxy);
        const polling = app.poll();
        await waitFor(() => h.simulator.calls['moveworks.send'] - sentBefore >= items.length);
        const answers = await Promise.all(items.map((item) => fn!.post(`/api/approvals/${item.id}/approve`, { approverEmail: 'jamie.rivera@example.com' })));
        expect(answers.map((answer) => answer.status)).toEqual(items.map(() => 200));
        const transactionsBefore = table.transactions();
        const [report] = await polling;

        // The sends finish together, so their records share a transaction; every row in it had changed.
        expect(table.transactions()).toBeGreaterThan(transactionsBefore);
        expect(report).toMatchObject({ messagesSent: items.length, owedForNextPoll: 0 });
        for (const item of items) {
            expect(await app.store.get('iiq', item.id)).toMatchObject({
                status: 'decided',
                decision: 'approve',
                notified: [expect.objectContaining({ email: 'jamie.rivera@example.com' })],
                leaseHolder: undefined,
            });
        }
        expect(h.log.entries.filter((entry) => ['sync.notification_not_recorded', 'sync.send_failed'].includes(entry.event))).toEqual([]);
        await app.poll();
        for (const item of items) expect(h.simulator.messagesFor(item.id)).toHaveLength(1);
    });

    it('leaves every message of a transaction the table fails owed, and a later poll records them', async () => {
        const clock = manualClock();
        const app = await start({}, clock.now);
        await app.poll();
        const items = addForJamie(8);
        const sentBefore = h.simulator.calls['moveworks.send'];
        h.simulator.failNext('moveworks.send', ...items.map(() => ({ delayMs: 800 })));
        const polling = app.poll();
        await waitFor(() => h.simulator.calls['moveworks.send'] - sentBefore >= items.length);
        proxy.fail({ matches: ({ method, path }) => path.endsWith('/$batch') || (method === 'PUT' && items.some((item) => path.includes(item.id))), status: 403 });
        const [report] = await polling;
        expect(proxy.failed.some((request) => request.endsWith('/$batch'))).toBe(true);
        expect(report).toMatchObject({ messagesSent: 0, owedForNextPoll: items.length });
        expect(h.log.entries.filter((entry) => entry.event === 'sync.send_failed')).toHaveLength(items.length);
        for (const item of items) expect((await app.store.get('iiq', item.id))?.notified).toEqual([]);

        // Sent but not recorded: once the poll's lease on them lapses, they are owed and sent again.
        proxy.heal();
        clock.advance(3 * 60_000);
        await app.poll();
        for (const item of items) {
            expect(h.simulator.messagesFor(item.id)).toHaveLength(2);
            expect((await app.store.get('iiq', item.id))?.notified).toEqual([expect.objectContaining({ email: 'jamie.rivera@example.com' })]);
        }
    });
});

describe('a gathered change that throws', () => {
    it('fails alone, and the changes gathered after it are still written', async () => {
        const h = await startHarness();
        try {
            await h.app.poll();
            const [first, second] = await Promise.all([h.sample.workItems.roleRequest.id, h.sample.workItems.removal.id].map((id) => h.app.store.get('iiq', id)));
            const failing = h.app.store.modifyBatched(first!, () => {
                throw new Error('a change that cannot be made');
            });
            const written = h.app.store.modifyBatched(second!, (row) => ({ ...row, remindersSent: row.remindersSent + 1 }));
            await expect(failing).rejects.toThrow('a change that cannot be made');
            expect((await written)?.remindersSent).toBe(second!.remindersSent + 1);
        } finally {
            await h.stop();
        }
    });
});
