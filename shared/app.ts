import { isStorageFailure, storageFailure } from './store/storageFailure';
import { ActionDependencies, claimTtlMs } from './approvals/authorize';
import { comment, CommentRequest } from './approvals/comment';
import { decide, DecisionRequest } from './approvals/decide';
import { reassign, ReassignRequest } from './approvals/reassign';
import { SyncReport } from './approvals/sync/syncContext';
import { syncSource } from './approvals/sync/syncSource';
import { Config, loadConfig } from './config';
import { HttpClient } from './platform/http';
import { PluginClient } from './iiq/pluginClient';
import { IiqSource } from './iiq/source';
import { IscClient } from './isc/client';
import { IscSource } from './isc/source';
import { errorMessage, jsonLogger, Logger } from './platform/log';
import { ApprovalSource, SourceName } from './model';
import { EventsClient } from './moveworks/eventsClient';
import { toOutcomeMessage } from './moveworks/message';
import { Pacer } from './platform/pacer';
import { ApprovalStore } from './store/approvalStore';
import { openTable } from './store/table';
import { AuditStore } from './store/auditStore';
import { ActionResult, DeepHealthReport, HealthReport, PendingList, RetryRefusedResult } from './contract';
import { TokenCache, tokenCache } from './platform/tokens';
import { AuditReader, AuditReaderCredentials, authorizeAuditReader } from './callers/auditReaders';
import { Caller, CallerVerifier } from './callers/callerAuth';

/**
 * The one composition root: builds the sources, the store and the Moveworks client from config and hands
 * them to the use cases. The only module that knows every adapter.
 */


export interface App {
    readonly config: Config;
    readonly store: ApprovalStore;
    readonly audit: AuditStore;
    /** Which source a notified approval belongs to, from the table; undefined when the app never notified it. */
    sourceOf(approvalId: string): Promise<SourceName | undefined>;
    poll(): Promise<SyncReport[]>;
    /** The approvals waiting on this person that the app notified, newest first. */
    pendingFor(email: string, limit: number, offset: number): Promise<PendingList>;
    /** Clears refused recipients of open approvals (one approval's, one person's, or all), so the next poll sends to them. */
    retryRefused(filter: { approvalId?: string; email?: string }): Promise<RetryRefusedResult>;
    /** Removes decided and closed approvals, and audit entries, older than RETENTION_DAYS. */
    cleanup(): Promise<{ approvals: number; auditEntries: number }>;
    decide(request: DecisionRequest): Promise<ActionResult>;
    comment(request: CommentRequest): Promise<ActionResult>;
    reassign(request: ReassignRequest): Promise<ActionResult>;
    health(): HealthReport;
    /** Every configured dependency tried, read-only (`npm run check`'s checks, without the test message). */
    preflight(): Promise<DeepHealthReport>;
    /** The verified caller behind an Authorization header; undefined when caller tokens are off (CALLER_JWT_ISSUER unset). */
    authenticate(authorization: string | null): Promise<Caller | undefined>;
    /** Who reads the audit trail at `audit/delegated`; throws 404 when that is off, 401 or 403 when refused. */
    authorizeAuditReader(credentials: AuditReaderCredentials): Promise<AuditReader>;
}

export interface AppOverrides {
    log?: Logger;
    tokens?: TokenCache;
    now?: () => number;
}

/** A poll that waited for another runs only if at least this share of its budget is left: less could list nothing. */
const MIN_BUDGET_SHARE = 0.2;

/** A deep health answer is reused this long, however often it is asked for. */
const DEEP_HEALTH_REUSE_MS = 30_000;

export function createApp(config: Config, overrides: AppOverrides = {}): App {
    const log = overrides.log ?? jsonLogger(console);
    const now = overrides.now ?? Date.now;
    const tokens = overrides.tokens ?? tokenCache;
    const store = ApprovalStore.fromSettings(config.storage, config.http.timeoutMs);
    const audit = new AuditStore(openTable(config.storage, config.auditTableName, config.http.timeoutMs));
    const http = new HttpClient(config.http, log);
    const sources: ApprovalSource[] = [];
    if (config.iiq) sources.push(new IiqSource(config.iiq, new PluginClient(config.iiq, http, tokens), log, now));
    if (config.isc) {
        const pacer = new Pacer(config.isc.maxPer10Seconds, 10_000, now);
        sources.push(new IscSource(config.isc, new IscClient(config.isc, http, tokens, pacer, now), log));
    }
    const moveworksHttp = new HttpClient({ ...config.http, maxRetryAfterMs: 0 }, log);
    const events = new EventsClient(config.moveworks, moveworksHttp, new Pacer(config.moveworks.maxPerMinute, 60_000, now), log, now);
    const announce: ActionDependencies['announce'] = async (source, approval, decision, decidedBy, comment) => {
        if (!approval.requester) return;
        try {
            const email = await source.emailOf(approval.requester);
            if (!email) return;
            const outcome = await events.send(toOutcomeMessage(approval, decision, decidedBy.name, comment), [email], approval.id, now() + 10_000);
            if (outcome.kind !== 'sent') log.warn('announce.not_sent', { approvalId: approval.id, reason: outcome.reason });
        } catch (error) {
            log.warn('announce.failed', { approvalId: approval.id, error: errorMessage(error) });
        }
    };
    // A token refresh and the write itself, each bounded by HTTP_TIMEOUT_MS.
    const writeBudgetMs = 2 * config.http.timeoutMs;
    const actions: ActionDependencies = {
        sources,
        store,
        log,
        now,
        allowSelfApproval: config.decisions.allowSelfApproval,
        writeBudgetMs,
        // The person and approval look-ups, then the write.
        actionBudgetMs: 4 * config.http.timeoutMs,
        announce: config.decisions.notifyRequester ? announce : undefined,
    };
    let polling: Promise<SyncReport[]> | undefined;
    let lastPreflight: { at: number; report: Promise<DeepHealthReport> } | undefined;
    const callers = config.caller ? new CallerVerifier(config.caller, config.http.timeoutMs, now, log) : undefined;

    return {
        config,
        store,
        audit,
        async sourceOf(approvalId) {
            for (const source of sources) {
                if (source.isApprovalId(approvalId) && (await store.get(source.name, approvalId))) return source.name;
            }
            return undefined;
        },
        async pendingFor(email, limit, offset) {
            // The person's own index entries, each checked against its row: the cost follows their approvals, not everyone's.
            const order = sources.map((source) => source.name);
            const mine = await store.openFor(email, order, now());
            mine.sort((a, b) => b.changedAt - a.changedAt || order.indexOf(a.source) - order.indexOf(b.source));
            // Texts only for the page shown; a row removed since it was checked is left out of the page.
            const described = await Promise.all(
                mine.slice(offset, offset + limit).map(async ({ source, id }) => {
                    const texts = await store.listedTexts(source, id);
                    if (!texts) return [];
                    const notifiedAt = Math.max(0, ...texts.notified.filter((sent) => sent.email === email).map((sent) => sent.at));
                    return [
                        {
                            approvalId: id,
                            source,
                            summary: texts.summary,
                            approvers: texts.approverNames,
                            ...(notifiedAt > 0 ? { notifiedAt } : {}),
                            ...(texts.dueAt !== undefined ? { dueAt: texts.dueAt } : {}),
                        },
                    ];
                }),
            );
            return { approvals: described.flat(), total: mine.length, ...(offset + limit < mine.length ? { nextOffset: offset + limit } : {}) };
        },
        async retryRefused({ approvalId, email }) {
            const result = { approvals: 0, recipients: 0 };
            const again = (refused: string[]) => refused.filter((refusedEmail) => email === undefined || refusedEmail === email);
            for (const source of sources) {
                for await (const record of store.listOpen(source.name)) {
                    if (approvalId !== undefined && record.id !== approvalId) continue;
                    if (again(record.refused).length === 0) continue;
                    let cleared = 0;
                    const saved = await store.modify(record, (latest) => {
                        const retried = new Set(again(latest.refused));
                        cleared = retried.size;
                        return retried.size === 0 ? undefined : { ...latest, refused: latest.refused.filter((refusedEmail) => !retried.has(refusedEmail)), updatedAt: now() };
                    });
                    if (!saved) continue;
                    result.approvals++;
                    result.recipients += cleared;
                }
            }
            log.info('refused.retry', { ...result, approvalId, email });
            return result;
        },
        async cleanup() {
            const cutoff = now() - config.retention.days * 86_400_000;
            let approvals = 0;
            for (const source of sources) approvals += await store.removeFinishedBefore(source.name, cutoff);
            const auditEntries = await audit.removeBefore(cutoff);
            log.info('cleanup.done', { approvals, auditEntries, retentionDays: config.retention.days });
            return { approvals, auditEntries };
        },
        poll() {
            // One poll at a time per process: a poll asked for while one runs waits for it and then runs.
            // The budget counts from the call: a poll that waited for the one before it gets what is left, so
            // the invocation as a whole stays inside the function timeout.
            const calledAt = Date.now();
            const run = async () => {
                const budgetSeconds = (calledAt + config.poll.budgetSeconds * 1000 - Date.now()) / 1000;
                if (budgetSeconds < config.poll.budgetSeconds * MIN_BUDGET_SHARE) {
                    // The poll it waited for took (nearly) the whole budget; the next timer tick polls.
                    log.warn('sync.skipped', { reason: 'the poll before it used the budget', budgetSeconds });
                    return [];
                }
                // The sources are polled side by side, each under the whole budget: one that hangs (a token
                // endpoint behind a firewall that drops packets) holds back neither the other's listing nor its sends.
                const settings = { ...config.poll, budgetSeconds, concurrency: config.moveworks.concurrency, remindAfterHours: config.reminders.afterHours, remindMax: config.reminders.max, claimTtlMs: claimTtlMs(writeBudgetMs) };
                const reports = await Promise.all(
                    sources.map((source) =>
                        // One source failing (its table rows, its API) must not stop the other's poll.
                        syncSource({ source, store, events, log, now, settings }).catch((error: unknown) => {
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
        },
        authenticate: async (authorization) => callers?.verify(authorization),
        authorizeAuditReader: (credentials) => authorizeAuditReader(credentials, config.auditReaderKey, config.caller?.adminRole ? callers : undefined),
        decide: (request) => decide(actions, request),
        comment: (request) => comment(actions, request),
        reassign: (request) => reassign(actions, request),
        preflight() {
            // Callers arriving while the checks run, or soon after, share them: a burst of deep health checks,
            // or a monitor polling it, costs SailPoint one set of calls per DEEP_HEALTH_REUSE_MS. The checks'
            // module is loaded on the first one, not at every cold start.
            if (!lastPreflight || now() - lastPreflight.at >= DEEP_HEALTH_REUSE_MS) {
                const entry = { at: now(), report: import('./ops/preflight').then(({ runPreflight }) => runPreflight(config, { log })) };
                lastPreflight = entry;
                entry.report.catch(() => {
                    if (lastPreflight === entry) lastPreflight = undefined;
                });
            }
            return lastPreflight.report;
        },
        health() {
            return {
                status: 'ok',
                sources: { iiq: { configured: config.iiq !== undefined }, isc: { configured: config.isc !== undefined, apiVersion: config.isc?.apiVersion, kinds: config.isc?.kinds } },
                moveworks: { baseUrl: config.moveworks.baseUrl, maxPerMinute: config.moveworks.maxPerMinute },
            };
        },
    };
}

let instance: App | undefined;

/** The app for this process, built from the environment on first use; a bad setting throws ConfigError. */
export function getApp(): App {
    instance ??= createApp(loadConfig(process.env));
    return instance;
}
