import { ApprovalSource } from '../model';
import { Logger } from '../platform/log';
import { ApprovalStore } from '../store/approvalStore';
import { AuditStore } from '../store/auditStore';

/** Removes decided and closed approvals, and audit entries, older than the retention period. */
export async function cleanup({
    store,
    audit,
    sources,
    log,
    now,
    retentionDays,
}: {
    store: ApprovalStore;
    audit: AuditStore;
    sources: ApprovalSource[];
    log: Logger;
    now: () => number;
    retentionDays: number;
}): Promise<{ approvals: number; auditEntries: number }> {
    const cutoff = now() - retentionDays * 86_400_000;
    let approvals = 0;
    for (const source of sources) approvals += await store.removeFinishedBefore(source.name, cutoff);
    const auditEntries = await audit.removeBefore(cutoff);
    log.info('cleanup.done', { approvals, auditEntries, retentionDays });
    return { approvals, auditEntries };
}
