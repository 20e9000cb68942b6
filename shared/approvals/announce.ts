import { errorMessage, Logger } from '../platform/log';
import { Notice, Notifier } from '../moveworks/notifier';
import { toOutcomeMessage } from '../moveworks/message';
import { ActionDependencies } from './authorize';

/** How long the requester's message may take: it follows a decision already made, so it must not hold the answer long. */
const ANNOUNCE_BUDGET_MS = 10_000;

/**
 * Tells the requester the outcome of their request (NOTIFY_REQUESTER), by Moveworks, after the decision
 * reached the source. A requester without an email or a message that fails is logged, never the caller's problem.
 */
export function requesterAnnouncer(notifier: Notifier, log: Logger, now: () => number): NonNullable<ActionDependencies['announce']> {
    return async (source, approval, decision, decidedBy, comment) => {
        if (!approval.requester) return;
        try {
            const email = await source.emailOf(approval.requester);
            if (!email) return;
            const message = toOutcomeMessage(approval, decision, decidedBy.name, comment);
            const notice: Notice = { type: 'approval.outcome', approvalId: approval.id, source: approval.source, kind: approval.kind, message, recipients: [email] };
            const outcome = await notifier.send(notice, now() + ANNOUNCE_BUDGET_MS);
            if (outcome.kind !== 'sent') log.warn('announce.not_sent', { approvalId: approval.id, reason: outcome.reason });
        } catch (error) {
            log.warn('announce.failed', { approvalId: approval.id, error: errorMessage(error) });
        }
    };
}
