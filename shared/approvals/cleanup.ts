import { ApprovalSource } from '../model';
import { Logger } from '../platform/log';
import { ApprovalStore } from '../store/approvalStore';
import { AuditStore } from '../store/auditStore';
import { IdempotencyStore, KEY_LIFETIME_MS } from '../store/idempotencyStore';

/**
 * Removes decided and closed approvals, and audit entries, older than the retention period; unused ISC
 * connections; and Idempotency-Keys older than a day.
 */
export async function cleanup({
    store,
    audit,
    sources,
    log,
    now,
    retentionDays,
    removeUnusedConnections,
    idempotency,
}: {
    store: ApprovalStore;
    audit: AuditStore;
    sources: ApprovalSource[];
    log: Logger;
    now: () => number;
    retentionDays: number;
    /** ISC_DECIDE_AS=user: the connections unused for CONNECTION_RETENTION_DAYS (see connections/). */
    removeUnusedConnections?: () => Promise<number>;
    idempotency?: IdempotencyStore;
}): Promise<{ approvals: number; auditEntries: number; connections?: number }> {
    const cutoff = now() - retentionDays * 86_400_000;
    let approvals = 0;
    for (const source of sources) approvals += await store.removeFinishedBefore(source.name, cutoff);
    const auditEntries = await audit.removeBefore(cutoff);
    const connections = await removeUnusedConnections?.();
    const idempotencyKeys = await idempotency?.removeBefore(now() - KEY_LIFETIME_MS);
    log.info('cleanup.done', { approvals, auditEntries, retentionDays, connections, idempotencyKeys });
    return { approvals, auditEntries, ...(connections === undefined ? {} : { connections }) };
}
