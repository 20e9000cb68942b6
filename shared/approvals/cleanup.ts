import { ApprovalSource } from '../model';
import { Logger } from '../platform/log';
import { ApprovalStore } from '../store/approvalStore';
import { AuditStore } from '../store/auditStore';

/** Removes decided and closed approvals, and audit entries, older than the retention period; and unused ISC connections. */
export async function cleanup({
    store,
    audit,
    sources,
    log,
    now,
    retentionDays,
    removeUnusedConnections,
}: {
    store: ApprovalStore;
    audit: AuditStore;
    sources: ApprovalSource[];
    log: Logger;
    now: () => number;
    retentionDays: number;
    /** ISC_DECIDE_AS=user: the connections unused for CONNECTION_RETENTION_DAYS (see connections/). */
    removeUnusedConnections?: () => Promise<number>;
}): Promise<{ approvals: number; auditEntries: number; connections?: number }> {
    const cutoff = now() - retentionDays * 86_400_000;
    let approvals = 0;
    for (const source of sources) approvals += await store.removeFinishedBefore(source.name, cutoff);
    const auditEntries = await audit.removeBefore(cutoff);
    const connections = await removeUnusedConnections?.();
    log.info('cleanup.done', { approvals, auditEntries, retentionDays, connections });
    return { approvals, auditEntries, ...(connections === undefined ? {} : { connections }) };
}
