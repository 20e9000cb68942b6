/**
 * Paces calls to a rate limit: a call may start only while fewer than `limit` calls started in the last
 * window, so no window of that length ever holds more (Moveworks counts 120 a minute per organisation, ISC
 * 100 per 10 seconds per client). A 429's Retry-After pauses every caller. Hand-written because the pause must be shared and a caller must
 * be able to give up at its deadline rather than queue past it; module state is per process, and the
 * timer trigger runs one poll at a time across instances.
 */
export class Pacer {
    private readonly starts: number[] = [];
    private pausedUntil = 0;

    private readonly windowMs: number;

    constructor(
        private readonly limit: number,
        windowMs = 60_000,
        private readonly now: () => number = Date.now,
    ) {
        // The server counts arrivals, not our starts: keep a little slack so a call that left on time but
        // arrived late cannot fall into the same server-side window as one started a full window later.
        this.windowMs = windowMs + Math.max(250, windowMs * 0.02);
    }

    /** Waits for a slot and takes it; answers false (taking nothing) once `deadline` has passed, or when the slot would open after it. */
    async acquire(deadline: number): Promise<boolean> {
        for (;;) {
            const now = this.now();
            // A free slot is no reason to start past the deadline: the caller's time budget is spent.
            if (now >= deadline) return false;
            while (this.starts.length > 0 && this.starts[0] <= now - this.windowMs) this.starts.shift();
            const openAt = Math.max(this.pausedUntil, this.starts.length < this.limit ? now : this.starts[0] + this.windowMs);
            if (openAt <= now) {
                this.starts.push(now);
                return true;
            }
            if (openAt > deadline) return false;
            await new Promise((resolve) => setTimeout(resolve, Math.min(openAt - now, 1_000)));
        }
    }

    pause(untilEpochMs: number): void {
        this.pausedUntil = Math.max(this.pausedUntil, untilEpochMs);
    }
}
