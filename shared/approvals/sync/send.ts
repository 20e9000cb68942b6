import { createLimiter } from '../../platform/concurrency';
import { batchesOf } from '../../platform/paging';
import { errorMessage } from '../../platform/log';
import { toReminderMessage, withConnectLink } from '../../moveworks/message';
import { Notice } from '../../moveworks/notifier';
import { ApprovalRecord, hasTexts, notifiedInStep, OpenRow, pendingRecipients } from '../../store/approvalRecord';
import { SEND_LEASE_MS } from '../records';
import { detached } from '../../platform/text';
import { asListed } from './record';
import { SendQueue, SyncDependencies, SyncReport, TABLE_CONCURRENCY } from './syncContext';

/** The send step of a poll: the Sender, which works through what rows are owed, and one row's delivery and its record. */

/**
 * Sends what rows are owed, oldest first, as they are queued, at most `concurrency` at once. Once one send
 * is put off (rate limit, outage, budget spent) the rest would be too, so they are left untouched. What was
 * sent is recorded after the send gives up its place, so the next one starts while the table writes, and
 * the records of sends finishing together share a table transaction.
 */
export class Sender implements SendQueue {
    private readonly run: ReturnType<typeof createLimiter>;
    private readonly latest = new Map<string, OpenRow | ApprovalRecord>();
    private readonly handled = new Set<string>();
    private readonly sending: Promise<void>[] = [];
    private readonly untouched: ApprovalRecord[] = [];
    private putOff = false;
    private unavailableInARow = 0;
    private room?: { below: number; open: () => void };

    constructor(
        private readonly deps: SyncDependencies,
        private readonly deadline: number,
        private readonly report: SyncReport,
        private readonly now: () => number,
        private readonly pollId: string,
        /** Runs a write that records work already done, past the poll's deadline if need be. */
        private readonly recording: <T>(write: () => Promise<T>) => Promise<T>,
    ) {
        this.run = createLimiter(deps.settings.concurrency);
    }

    /** Queues a row, or refreshes the queued copy of it (a later write changed its ETag). */
    enqueue(record: OpenRow | ApprovalRecord): void {
        if (this.handled.has(record.id) || pendingRecipients(record).length === 0) return;
        const queued = this.latest.has(record.id);
        this.latest.set(record.id, record);
        // Handled from the moment it is queued: a send that fails while later pages are still listed must not
        // become an unhandled rejection, which would end the worker process and any action running in it.
        if (!queued) this.sending.push(this.send(record.id).catch((error: unknown) => this.failed(record.id, error)));
    }

    /**
     * Resolves once fewer than `below` rows wait for their turn, or at `deadline`, after which sends wind
     * down and the listing must still finish.
     */
    async roomFor(below: number, deadline: number): Promise<void> {
        if (this.latest.size < below) return;
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((open) => {
            this.room = { below, open };
            timer = setTimeout(open, Math.max(0, deadline - this.now()));
        });
        clearTimeout(timer);
        this.room = undefined;
    }

    private failed(id: string, error: unknown): void {
        this.report.owedForNextPoll++;
        this.deps.log.error('sync.send_failed', { source: this.deps.source.name, approvalId: id, error: errorMessage(error) });
    }

    async finish(): Promise<void> {
        await Promise.all(this.sending);
        // Leases this poll took when it recorded new approvals must not keep the next poll from sending them.
        await this.recording(() =>
            Promise.all(
                this.untouched.map((record) =>
                    this.deps.store.modifyBatched(record, (latest) => (latest.leaseHolder === this.pollId ? { ...latest, sendLeaseUntil: 0, leaseHolder: undefined } : undefined)),
                ),
            ),
        );
    }

    private async send(id: string): Promise<void> {
        const delivery = await this.run(() => this.deliver(id));
        if (!delivery) return;
        await this.recording(() => recordDelivery(this.deps, delivery, this.now));
        if (delivery.owed) this.report.owedForNextPoll++;
        else if (delivery.sent.length > 0) {
            this.report.messagesSent++;
            this.report.recipientsNotified += delivery.sent.length;
        }
    }

    private async deliver(id: string): Promise<Delivery | undefined> {
        // Only the id stays once a row is taken up, so a large backlog is not held in memory twice.
        const record = this.latest.get(id)!;
        this.latest.delete(id);
        this.handled.add(detached(id));
        if (this.room && this.latest.size < this.room.below) this.room.open();
        if (this.putOff) {
            if (hasTexts(record) && record.leaseHolder === this.pollId) this.untouched.push(record);
            this.report.owedForNextPoll++;
            return undefined;
        }
        const delivery = await deliver(this.deps, record, this.deadline, this.now, this.pollId);
        if (delivery?.owed) {
            // A rate limit, a spent budget, a bad key or event would put off every other send too; one
            // unavailable answer may be a blip (a write is not retried after it), several in a row an
            // outage; a message refused for itself says nothing about the others.
            if (delivery.owed === 'every-message') this.putOff = true;
            if (delivery.owed === 'maybe-every-message' && ++this.unavailableInARow >= UNAVAILABLE_IN_A_ROW_IS_AN_OUTAGE) this.putOff = true;
        } else this.unavailableInARow = 0;
        return delivery;
    }
}

/** Recipients of one row who get a message of their own with their connect link, and how many are checked (see connectLinks). */
const MAX_LINKED_RECIPIENTS = 20;
const MAX_RECIPIENTS_CHECKED = 200;

/** Unavailable answers in a row taken for an outage, after which every other send is put off. */
const UNAVAILABLE_IN_A_ROW_IS_AN_OUTAGE = 3;

/** What an owed message says of the others: they would be put off too, maybe (Moveworks unavailable), or not. */
type OwedScope = 'every-message' | 'maybe-every-message' | 'this-message';

/** One row's messages: who got one and who was refused, under the lease taken for them; `owed` when some stay owed. */
interface Delivery {
    record: ApprovalRecord;
    reminders: Set<string>;
    sent: string[];
    refused: string[];
    owed?: OwedScope;
}

/** Sends what one row is owed, under a lease so that a concurrent poll does not send it too; undefined when another holds it. */
async function deliver(deps: SyncDependencies, queued: OpenRow | ApprovalRecord, deadline: number, now: () => number, pollId: string): Promise<Delivery | undefined> {
    const { store, notifier, log, source } = deps;
    const ours = queued.leaseHolder === pollId && queued.sendLeaseUntil > now();
    if (!ours && queued.sendLeaseUntil > now()) return undefined;
    const initial = await asListed(store, queued);
    if (!initial) return undefined;
    const record = ours ? initial : await store.update({ ...initial, sendLeaseUntil: now() + SEND_LEASE_MS, leaseHolder: pollId, updatedAt: now() });
    if (!record) return undefined;
    const reminders = new Set(record.reminderOwed);
    const recipients = pendingRecipients(record);
    const delivery: Delivery = { record, reminders, sent: [], refused: [] };
    const batches: { type: Notice['type']; message: string; emails: string[] }[] = [];
    const links = await connectLinks(deps, recipients);
    for (const [type, message, emails] of [
        ['approval.pending', record.message, recipients.filter((email) => !reminders.has(email))],
        ['approval.reminder', toReminderMessage(record.message), recipients.filter((email) => reminders.has(email))],
    ] as const) {
        for (const batch of batchesOf(emails.filter((email) => !links.has(email)), notifier.maxRecipients)) batches.push({ type, message, emails: batch });
        for (const email of emails.filter((candidate) => links.has(candidate))) batches.push({ type, message: withConnectLink(message, links.get(email)!), emails: [email] });
    }
    while (batches.length > 0 && !delivery.owed) {
        const { type, message, emails: batch } = batches.shift()!;
        const notice: Notice = { type, approvalId: record.id, source: record.source, kind: record.kind, message, recipients: batch, summary: record.card };
        const outcome = await notifier.send(notice, deadline);
        if (outcome.kind === 'sent') delivery.sent.push(...batch);
        else if ((outcome.kind === 'refused' || outcome.kind === 'too-large') && batch.length > 1) {
            // Moveworks refuses a whole request when one recipient is unknown to it: find who by halves, so
            // one unknown member of a group of 500 costs 19 requests (one, then two per halving) rather than 500.
            // A notice too large for a listener is halved the same way until it fits.
            const half = Math.ceil(batch.length / 2);
            batches.unshift({ type, message, emails: batch.slice(0, half) }, { type, message, emails: batch.slice(half) });
        } else if (outcome.kind === 'too-large') {
            delivery.owed = 'this-message';
            log.error('sync.message_failed', { source: source.name, approvalId: record.id, reason: outcome.reason });
        } else if (outcome.kind === 'refused') {
            delivery.refused.push(...batch);
            log.error('sync.message_refused', { source: source.name, approvalId: record.id, recipients: batch.length, reason: outcome.reason });
        } else if (outcome.kind === 'failed') {
            delivery.owed = outcome.scope;
            log.error('sync.message_failed', { source: source.name, approvalId: record.id, reason: outcome.reason });
        } else {
            delivery.owed = outcome.cause === 'unavailable' ? 'maybe-every-message' : 'every-message';
            log.warn('sync.message_owed', { source: source.name, approvalId: record.id, reason: outcome.reason });
        }
    }
    return delivery;
}

/**
 * Recipients who must connect their SailPoint account before they can decide (ISC_DECIDE_AS=user) get their
 * own message ending with their link, at most MAX_LINKED_RECIPIENTS a row: each costs a message of its own
 * against the Moveworks rate, so the rest of a large group gets the shared message, and the link when they act.
 * Their connections are read TABLE_CONCURRENCY at a time, and no more than MAX_RECIPIENTS_CHECKED of them, so a
 * group of thousands costs a bounded number of reads however many of them are connected.
 */
async function connectLinks(deps: SyncDependencies, recipients: string[]): Promise<Map<string, string>> {
    const links = new Map<string, string>();
    const linkFor = deps.connectLinkFor;
    if (!linkFor) return links;
    for (const batch of batchesOf(recipients.slice(0, MAX_RECIPIENTS_CHECKED), TABLE_CONCURRENCY)) {
        const found = await Promise.all(
            batch.map((email) =>
                linkFor(email).catch((error: unknown) => {
                    deps.log.warn('sync.connect_link_failed', { source: deps.source.name, error: errorMessage(error) });
                    return undefined;
                }),
            ),
        );
        for (const [index, link] of found.entries()) if (link && links.size < MAX_LINKED_RECIPIENTS) links.set(batch[index], link);
        if (links.size >= MAX_LINKED_RECIPIENTS) break;
    }
    return links;
}

/** Records who was sent to or refused and gives the lease up; throws, leaving the message owed, when the table write fails. */
async function recordDelivery(deps: SyncDependencies, { record, reminders, sent, refused }: Delivery, now: () => number): Promise<void> {
    const at = now();
    const sentOrRefused = new Set([...sent, ...refused]);
    const saved = await deps.store.modifyBatched(record, (latest) => {
        // Recorded for the step and approvers the message was written for, even if the row moved on meanwhile;
        // once only, when a write that timed out had recorded it already.
        const inStep = notifiedInStep(latest.notified, record.step);
        const alreadyNotified = new Set(inStep.map((entry) => entry.email));
        const alreadyRecorded = new Set(inStep.filter((entry) => entry.at === at).map((entry) => entry.email));
        return {
            ...latest,
            notified: [
                ...latest.notified,
                ...sent
                    .filter((email) => !alreadyRecorded.has(email) && (reminders.has(email) || !alreadyNotified.has(email)))
                    .map((email) => ({ email, approverKey: record.approverKey, at, ...(reminders.has(email) ? { reminder: true } : {}), ...(record.step ? { step: record.step } : {}) })),
            ],
            reminderOwed: latest.reminderOwed.filter((email) => !sentOrRefused.has(email)),
            refused: [...new Set([...latest.refused, ...refused])],
            sendLeaseUntil: 0,
            leaseHolder: undefined,
            updatedAt: at,
        };
    });
    if (!saved) deps.log.error('sync.notification_not_recorded', { source: deps.source.name, approvalId: record.id, recipients: sent.length });
}
