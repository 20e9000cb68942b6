import { RetryRefusedResult } from '../contract';
import { ApprovalSource } from '../model';
import { Logger } from '../platform/log';
import { ApprovalStore } from '../store/approvalStore';

/**
 * Clears the recipients Moveworks refused on open approvals (one approval's, one person's, or all), so the
 * next poll sends to them: what an administrator asks for once the person exists in Moveworks.
 */
export async function retryRefused(
    { store, sources, log, now }: { store: ApprovalStore; sources: ApprovalSource[]; log: Logger; now: () => number },
    { approvalId, email }: { approvalId?: string; email?: string },
): Promise<RetryRefusedResult> {
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
}
