import { createLimiter } from '../shared/platform/concurrency';

describe('the concurrency limiter', () => {
    it('never runs more tasks at once than its limit, even for a task that arrives just as another finishes', async () => {
        const run = createLimiter(1);
        let active = 0;
        let most = 0;
        const counted = async () => {
            active++;
            most = Math.max(most, active);
            await new Promise((resolve) => setTimeout(resolve, 5));
            active--;
        };
        let release: () => void = () => undefined;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const first = run(() => gate);
        const waiting = run(counted);
        // Queued on the same promise as the first task's end, so it runs after the slot is freed and before the waiter wakes.
        const arriving = gate.then(() => run(counted));
        release();
        await Promise.all([first, waiting, arriving]);
        expect(most).toBe(1);
    });

    it('runs waiting tasks in the order they arrived', async () => {
        const run = createLimiter(2);
        const order: number[] = [];
        await Promise.all(Array.from({ length: 10 }, (_, i) => run(async () => void order.push(i))));
        expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });
});
