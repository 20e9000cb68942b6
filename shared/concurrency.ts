/** Runs `task` over `items` with at most `limit` at once, keeping the results in order. */
export async function mapLimited<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
    const results = new Array<R>(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const index = next++;
            results[index] = await task(items[index]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return results;
}

/** A first-come, first-served gate: at most `limit` tasks run at once, the others wait their turn. */
export function createLimiter(limit: number) {
    let active = 0;
    const waiting: (() => void)[] = [];
    return async function run<T>(task: () => Promise<T>): Promise<T> {
        if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
        active++;
        try {
            return await task();
        } finally {
            active--;
            waiting.shift()?.();
        }
    };
}
