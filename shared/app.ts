import { requesterAnnouncer } from './approvals/announce';
import { ActionDependencies, claimTtlMs } from './approvals/authorize';
import { cleanup } from './approvals/cleanup';
import { comment, CommentRequest } from './approvals/comment';
import { decide, DecisionRequest } from './approvals/decide';
import { pendingFor, sourceOf } from './approvals/pending';
import { createPoll } from './approvals/poll';
import { reassign, ReassignRequest } from './approvals/reassign';
import { retryRefused } from './approvals/retryRefused';
import { SyncReport } from './approvals/sync/syncContext';
import { authorizeAuditReader, AuditReader, AuditReaderCredentials } from './callers/auditReaders';
import { Caller, CallerVerifier } from './callers/callerAuth';
import { Config, loadConfig } from './config';
import { Connections, connectionsFrom } from './connections/connections';
import { ActionResult, DeepHealthReport, HealthReport, PendingList, RetryRefusedResult } from './contract';
import { PluginClient } from './iiq/pluginClient';
import { IiqSource } from './iiq/source';
import { IscClient } from './isc/client';
import { IscSource } from './isc/source';
import { ApprovalSource, SourceName } from './model';
import { notifierFor } from './moveworks/delivery';
import { healthReport, sharedPreflight } from './ops/health';
import { HttpClient } from './platform/http';
import { jsonLogger, Logger } from './platform/log';
import { Pacer } from './platform/pacer';
import { TokenCache, tokenCache } from './platform/tokens';
import { ApprovalStore } from './store/approvalStore';
import { AuditStore } from './store/auditStore';
import { IdempotencyStore } from './store/idempotencyStore';
import { openTable } from './store/table';

/**
 * The one composition root: builds the sources, the store and the Moveworks client from config and hands
 * them to the use cases. The only module that knows every adapter; it holds no use case itself (each
 * method's behaviour is documented where it is written: approvals/, connections/, ops/health.ts, callers/).
 */

export interface App {
    readonly config: Config;
    readonly store: ApprovalStore;
    readonly audit: AuditStore;
    readonly idempotency: IdempotencyStore;
    sourceOf(approvalId: string): Promise<SourceName | undefined>;
    poll(): Promise<SyncReport[]>;
    pendingFor(email: string, limit: number, offset: number): Promise<PendingList>;
    retryRefused(filter: { approvalId?: string; email?: string }): Promise<RetryRefusedResult>;
    cleanup(): Promise<{ approvals: number; auditEntries: number; connections?: number }>;
    readonly connections?: Connections;
    decide(request: DecisionRequest): Promise<ActionResult>;
    comment(request: CommentRequest): Promise<ActionResult>;
    reassign(request: ReassignRequest): Promise<ActionResult>;
    health(): HealthReport;
    preflight(): Promise<DeepHealthReport>;
    authenticate(authorization: string | null): Promise<Caller | undefined>;
    authorizeAuditReader(credentials: AuditReaderCredentials): Promise<AuditReader>;
}

export interface AppOverrides {
    log?: Logger;
    tokens?: TokenCache;
    now?: () => number;
}

export function createApp(config: Config, overrides: AppOverrides = {}): App {
    const log = overrides.log ?? jsonLogger(console);
    const now = overrides.now ?? Date.now;
    const tokens = overrides.tokens ?? tokenCache;
    const store = ApprovalStore.fromSettings(config.storage, config.http.timeoutMs);
    const audit = new AuditStore(openTable(config.storage, config.auditTableName, config.http.timeoutMs));
    const idempotency = new IdempotencyStore(openTable(config.storage, config.storage.tableName, config.http.timeoutMs));
    const http = new HttpClient(config.http, log);
    const sources: ApprovalSource[] = [];
    if (config.iiq) sources.push(new IiqSource(config.iiq, new PluginClient(config.iiq, http, tokens), log, now));
    let connections: Connections | undefined;
    if (config.isc) {
        const client = new IscClient(config.isc, http, tokens, new Pacer(config.isc.maxPer10Seconds, 10_000, now), now);
        connections = connectionsFrom(config, client, http, log, now);
        sources.push(new IscSource(config.isc, client, log, connections?.credentialFor, now));
    }
    const moveworksHttp = new HttpClient({ ...config.http, maxRetryAfterMs: 0, rateLimitsToCaller: true }, log);
    const notifier = notifierFor(config.moveworks, moveworksHttp, log, now);
    // A token refresh and the write itself, each bounded by HTTP_TIMEOUT_MS.
    const writeBudgetMs = 2 * config.http.timeoutMs;
    const actions: ActionDependencies = {
        ...{ sources, store, log, now, cards: notifier.sendsSummary },
        allowSelfApproval: config.decisions.allowSelfApproval,
        writeBudgetMs,
        // The person and approval look-ups, then the write.
        actionBudgetMs: 4 * config.http.timeoutMs,
        announce: config.decisions.notifyRequester ? requesterAnnouncer(notifier, log, now) : undefined,
    };
    const settings = { ...config.poll, concurrency: config.moveworks.concurrency, remindAfterHours: config.reminders.afterHours, remindMax: config.reminders.max, claimTtlMs: claimTtlMs(writeBudgetMs) };
    const poll = createPoll({ sources, store, notifier, log, now, settings, connectLinks: connections && { isc: connections.linkIfNotConnected } });
    const callers = config.caller ? new CallerVerifier(config.caller, config.http.timeoutMs, now, log) : undefined;

    return {
        ...{ config, store, audit, idempotency },
        sourceOf: (approvalId) => sourceOf({ store, sources }, approvalId),
        poll,
        pendingFor: (email, limit, offset) => pendingFor({ store, sources, now }, email, limit, offset),
        retryRefused: (filter) => retryRefused({ store, sources, log, now }, filter),
        connections,
        cleanup: () => cleanup({ store, audit, sources, log, now, retentionDays: config.retention.days, removeUnusedConnections: connections?.removeUnused, idempotency }),
        authenticate: async (authorization) => callers?.verify(authorization),
        authorizeAuditReader: (credentials) => authorizeAuditReader(credentials, config.auditReaderKey, config.caller?.adminRole ? callers : undefined),
        decide: (request) => decide(actions, request),
        comment: (request) => comment(actions, request),
        reassign: (request) => reassign(actions, request),
        preflight: sharedPreflight(config, log, now),
        health: () => healthReport(config),
    };
}

let instance: App | undefined;

/** The app for this process, built from the environment on first use; a bad setting throws ConfigError. */
export function getApp(): App {
    instance ??= createApp(loadConfig(process.env));
    return instance;
}
