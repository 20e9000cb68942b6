import { Config } from '../config';
import { DeepHealthReport, HealthReport } from '../contract';
import { Logger } from '../platform/log';

/** `GET /api/health`: which sources are configured, and how Moveworks is reached. */
export function healthReport(config: Config): HealthReport {
    return {
        status: 'ok',
        sources: { iiq: { configured: config.iiq !== undefined }, isc: { configured: config.isc !== undefined, apiVersion: config.isc?.apiVersion, kinds: config.isc?.kinds } },
        moveworks: { delivery: config.moveworks.delivery.kind, baseUrl: config.moveworks.baseUrl, maxPerMinute: config.moveworks.maxPerMinute },
    };
}

/** A deep health answer is reused this long, however often it is asked for. */
const DEEP_HEALTH_REUSE_MS = 30_000;

/**
 * The preflight's checks for `GET /api/health?deep=true`. Callers arriving while the checks run, or soon
 * after, share them: a burst of deep health checks, or a monitor polling it, costs SailPoint one set of
 * calls per DEEP_HEALTH_REUSE_MS. The checks' module is loaded on the first one, not at every cold start.
 */
export function sharedPreflight(config: Config, log: Logger, now: () => number): () => Promise<DeepHealthReport> {
    let last: { at: number; report: Promise<DeepHealthReport> } | undefined;
    return () => {
        if (!last || now() - last.at >= DEEP_HEALTH_REUSE_MS) {
            const entry = { at: now(), report: import('./preflight').then(({ runPreflight }) => runPreflight(config, { log })) };
            last = entry;
            entry.report.catch(() => {
                if (last === entry) last = undefined;
            });
        }
        return last.report;
    };
}
