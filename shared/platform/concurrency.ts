/** Runs `task` over `items` with at most `limit` at once, keeping the results in order. */
export async function mapLimited<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
    const run = createLimiter(limit);
    return Promise.all(items.map((item) => run(() => task(item))));
}

/**
 * A first-come, first-served gate: at most `limit` tasks run at once, the others wait their turn. A
 * finishing task hands its slot straight to the first waiter, so a task arriving meanwhile cannot take
 * it too.
 */
export function createLimiter(limit: number) {
    let active = 0;
    const waiting: (() => void)[] = [];
    return async function run<T>(task: () => Promise<T>): Promise<T> {
        if (active < limit) active++;
        else await new Promise<void>((resolve) => waiting.push(resolve));
        try {
            return await task();
        } finally {
            const next = waiting.shift();
            if (next) next();
            else active--;
        }
    };
}
