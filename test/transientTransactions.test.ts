import { App } from '../shared/app';
import { Harness, manualClock, startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

/** A transaction of conditional replaces: how a poll records what it sent. */
const recordsDeliveries = (body: string) => body.includes('If-Match:');
/** A transaction of inserts: how a poll records new approvals. */
const insertsApprovals = (body: string) => /^POST http/m.test(body);
const isTransaction = ({ method, path }: { method: string; path: string }) => method === 'POST' && path.endsWith('/$batch');

describe('a table transaction recording deliveries that fails for a moment', () => {
    let h: Harness;
    let proxy: TableProxy;
    afterEach(async () => {
        await proxy.stop();
        await h.stop();
    });
    const clock = manualClock();
    const start = async (): Promise<App> => {
        h = await startHarness({ simulator: { latencyMs: 20 }, settings: { MOVEWORKS_CONCURRENCY: '16', HTTP_TIMEOUT_MS: '2000' } });
        proxy = new TableProxy();
        return h.newApp({ AzureWebJobsStorage: await proxy.start() }, clock.now);
    };
    /** The next poll comes after every send lease of the first has lapsed. */
    const afterLeases = () => clock.advance(5 * 60_000);
    const addForJamie = (count: number) => Array.from({ length: count }, () => h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id }));
    const messagesPerApproval = () => {
        const counts = new Map<string, number>();
        for (const message of h.simulator.messages) counts.set(String(message.slots.approval_id), (counts.get(String(message.slots.approval_id)) ?? 0) + 1);
        return counts;
    };

    it.each([
        ['the table answers it with 503', { status: 503 }],
        ['the table wrote it but its answer was lost', { loseAnswer: true }],
    ])('sends nobody a second message when %s', async (_, fault) => {
        const app = await start();
        addForJamie(60);
        proxy.fail({ matches: isTransaction, bodyMatches: recordsDeliveries, times: 20, ...fault });

        await app.poll();
        afterLeases();
        await app.poll();

        expect(proxy.failed.length).toBeGreaterThan(0);
        expect(messagesPerApproval().size).toBe(63);
        expect(Math.max(...messagesPerApproval().values())).toBe(1);
    });
});

describe('a table transaction inserting new approvals whose answer was lost', () => {
    let h: Harness;
    let proxy: TableProxy;
    afterEach(async () => {
        await proxy.stop();
        await h.stop();
    });

    it('still sends each new approval once, in the same poll', async () => {
        h = await startHarness({ simulator: { latencyMs: 20 }, settings: { MOVEWORKS_CONCURRENCY: '16', HTTP_TIMEOUT_MS: '2000' } });
        proxy = new TableProxy();
        const app = h.newApp({ AzureWebJobsStorage: await proxy.start() });
        for (let i = 0; i < 60; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.jamie.id });
        proxy.fail({ matches: isTransaction, bodyMatches: insertsApprovals, loseAnswer: true, times: 3 });

        await app.poll();

        expect(proxy.failed.length).toBeGreaterThan(0);
        expect(new Set(h.simulator.messages.map((message) => message.slots.approval_id)).size).toBe(63);
        await app.poll();
        expect(h.simulator.messages).toHaveLength(63);
    });
});
