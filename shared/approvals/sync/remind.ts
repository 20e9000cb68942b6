import { mapLimited } from '../../platform/concurrency';
import { errorMessage } from '../../platform/log';
import { approverKey } from '../../model';
import { OpenRow, pendingRecipients } from '../../store/approvalRecord';
import { lastNotifiedAt } from '../records';
import { asListed, closeVanished } from './record';
import { SendQueue, SyncDependencies, SyncReport, TABLE_CONCURRENCY } from './syncContext';

/** The remind step of a poll: which open approvals are owed a reminder, claimed once per step, read live first. */

/**
 * Approvals still pending `remindAfterHours` after their approvers' last message (or halfway to their due
 * date, when that comes sooner) get a reminder, at most `remindMax` times. The ETag-guarded claim of the
 * step (remindersSent + 1) is what keeps two polls from reminding twice.
 */
export async function queueReminders(
    deps: SyncDependencies,
    known: Map<string, OpenRow>,
    seen: Set<string>,
    sender: SendQueue,
    report: SyncReport,
    now: () => number,
): Promise<void> {
    const { remindAfterHours, remindMax } = deps.settings;
    if (remindMax === 0) return;
    const after = remindAfterHours * 3_600_000;
    const due = [...known.values()].filter((record) => {
        if (record.status !== 'open' || record.remindersSent >= remindMax || pendingRecipients(record).length > 0) return false;
        if (!deps.source.incremental && !seen.has(record.id)) return false;
        const last = lastNotifiedAt(record);
        if (last === 0) return false;
        const halfwayToDue = record.dueAt !== undefined && record.dueAt > last ? last + (record.dueAt - last) / 2 : Infinity;
        return now() >= Math.min(last + after, halfwayToDue) && (record.dueAt === undefined || now() < record.dueAt);
    });
    await mapLimited(due, TABLE_CONCURRENCY, async (record) => {
        // Reminders are rare: read the approval live first, so nobody is reminded of one that was completed
        // or reassigned inside the source since the last listing.
        const live = await deps.source.getApproval(record).then(
            (approval) => ({ approval }),
            (error: unknown) => {
                deps.log.warn('sync.reminder_check_failed', { source: deps.source.name, approvalId: record.id, error: errorMessage(error) });
                return undefined;
            },
        );
        if (!live) return;
        if (!live.approval || live.approval.completedState) {
            report.closed += (await closeVanished(deps.store, record, now())) ? 1 : 0;
            return;
        }
        if (approverKey(live.approval) !== record.approverKey || live.approval.inFlight) return;
        const whole = await asListed(deps.store, record);
        if (!whole) return;
        // Recipients Moveworks refused are owed nothing until an administrator asks for them again (refused/retry).
        const refused = new Set(whole.refused);
        const reminderOwed = whole.recipients.filter((email) => !refused.has(email));
        if (reminderOwed.length === 0) return;
        const claimed = await deps.store.update({ ...whole, remindersSent: whole.remindersSent + 1, reminderOwed, updatedAt: now() });
        if (!claimed) return;
        report.remindersQueued++;
        sender.enqueue(claimed);
    });
}
