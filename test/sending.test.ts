import { startFunctionHost } from './support/functionHost';
import { startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

describe('sending while a poll still lists', () => {
    it('keeps a send that fails on the table as owed, with no unhandled rejection, while later pages are listed', async () => {
        const unhandled: unknown[] = [];
        const listener = (reason: unknown) => unhandled.push(reason);
        process.on('unhandledRejection', listener);
        const proxy = new TableProxy();
        const h = await startHarness({ settings: { IIQ_PAGE_SIZE: '2' } });
        const settings = { ...h.settings, AzureWebJobsStorage: await proxy.start() };
        const fn = await startFunctionHost(settings);
        try {
            const { roleRequest } = h.sample.workItems;
            h.simulator.failNext('moveworks.send', { status: 503 }, { status: 503 }, { status: 503 });
            await fn.pollNow();
            const owed = (await h.app.store.get('iiq', roleRequest.id))!;
            expect(owed.notified).toEqual([]);

            // Next poll: the owed row is sent first, and its lease write fails while slow list pages still arrive.
            proxy.fail({ matches: ({ method, path }) => method !== 'GET' && path.includes(`RowKey='${owed.id}'`), status: 403 });
            for (let page = 0; page < 3; page++) h.simulator.failNext('iiq.list', { status: 0, delayMs: 700 });
            await fn.pollNow();
            await new Promise((resolve) => setImmediate(resolve));
            expect(proxy.failed.length).toBeGreaterThan(0);
            expect(unhandled).toEqual([]);

            proxy.heal();
            await fn.pollNow();
            expect(h.simulator.messagesFor(roleRequest.id)).toHaveLength(1);
        } finally {
            process.off('unhandledRejection', listener);
            await fn.stop();
            await proxy.stop();
            await h.stop();
        }
    });

    it('sends the rest of the poll when one message meets a single 503, and the next poll sends that one', async () => {
        const h = await startHarness({ settings: { MOVEWORKS_CONCURRENCY: '1' } });
        try {
            h.simulator.failNext('moveworks.send', { status: 503 });
            const [first] = await h.app.poll();
            expect(first).toMatchObject({ messagesSent: 2, owedForNextPoll: 1 });
            await h.app.poll();
            expect(new Set(h.simulator.messages.map((m) => m.slots.approval_id)).size).toBe(3);
            expect(h.simulator.messages).toHaveLength(3);
        } finally {
            await h.stop();
        }
    });
});
