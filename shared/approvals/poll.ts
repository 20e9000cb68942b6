import { ApprovalSource, SourceName } from '../model';
import { Notifier } from '../moveworks/notifier';
import { errorMessage, Logger } from '../platform/log';
import { ApprovalStore } from '../store/approvalStore';
import { isStorageFailure, storageFailure } from '../store/storageFailure';
import { SyncReport, SyncSettings } from './sync/syncContext';
import { syncSource } from './sync/syncSource';

/** A poll that waited for another runs only if at least this share of its budget is left: less could list nothing. */
const MIN_BUDGET_SHARE = 0.2;

export interface PollDependencies {
    sources: ApprovalSource[];
    store: ApprovalStore;
    notifier: Notifier;
    log: Logger;
    now: () => number;
    /** The settings of every poll; `budgetSeconds` is the whole budget of one invocation. */
    settings: SyncSettings;
    /** Per source, the connect link of a recipient who must connect first (see SyncDependencies). */
    connectLinks?: Partial<Record<SourceName, (email: string) => Promise<string | undefined>>>;
}

/**
 * The poll of every source, one at a time per process: a poll asked for while one runs waits for it and
 * then runs. The budget counts from the call, so a poll that waited gets what is left and the invocation
 * as a whole stays inside the function timeout.
 */
export function createPoll({ sources, store, notifier, log, now, settings, connectLinks }: PollDependencies): () => Promise<SyncReport[]> {
    let polling: Promise<SyncReport[]> | undefined;
    return () => {
        const calledAt = Date.now();
        const run = async () => {
            const budgetSeconds = (calledAt + settings.budgetSeconds * 1000 - Date.now()) / 1000;
            if (budgetSeconds < settings.budgetSeconds * MIN_BUDGET_SHARE) {
                // The poll it waited for took (nearly) the whole budget; the next timer tick polls.
                log.warn('sync.skipped', { reason: 'the poll before it used the budget', budgetSeconds });
                return [];
            }
            // The sources are polled side by side, each under the whole budget: one that hangs (a token
            // endpoint behind a firewall that drops packets) holds back neither the other's listing nor its sends.
            const reports = await Promise.all(
                sources.map((source) =>
                    // One source failing (its table rows, its API) must not stop the other's poll.
                    syncSource({ source, store, notifier, log, now, settings: { ...settings, budgetSeconds }, connectLinkFor: connectLinks?.[source.name] }).catch((error: unknown) => {
                        log.error('sync.failed', { source: source.name, error: errorMessage(error) });
                        if (isStorageFailure(error)) log.error('storage.failed', { source: source.name, ...storageFailure(error) });
                        return undefined;
                    }),
                ),
            );
            return reports.filter((report) => report !== undefined);
        };
        polling = (polling ?? Promise.resolve([])).catch(() => []).then(run);
        return polling;
    };
}
