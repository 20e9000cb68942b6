import { ApprovalCard, SourceName } from '../model';

/**
 * What the poll and the actions hand Moveworks, whichever way it is delivered (MOVEWORKS_DELIVERY): through
 * a published Classic event (eventsClient.ts) or to an Agent Studio webhook listener (listenerClient.ts).
 */

export interface Notice {
    /** `approval.outcome` is the requester's message (NOTIFY_REQUESTER). */
    type: 'approval.pending' | 'approval.reminder' | 'approval.outcome';
    approvalId: string;
    source: SourceName;
    kind?: string;
    /** The rendered chat markup, the same on either path. */
    message: string;
    recipients: string[];
    /** The approval in fields, for a listener's compound action; absent on a row written while delivering through the event. */
    summary?: ApprovalCard;
}

export type SendOutcome =
    | { kind: 'sent' }
    /** Not sent now (rate limit, outage, deadline); the caller keeps it for the next poll. */
    | { kind: 'later'; reason: string; cause: 'rate-limit' | 'unavailable' }
    /** Moveworks refused the recipients: at least one of them is unknown to it or not allowed. */
    | { kind: 'refused'; reason: string }
    /** Too large to send as one: the caller sends the recipients in halves. */
    | { kind: 'too-large'; reason: string }
    /**
     * Moveworks refused the whole request: nobody in it is to blame, so it stays owed. `every-message` when
     * every request would fail the same way (API key, event id), `this-message` when only this one would.
     */
    | { kind: 'failed'; reason: string; scope: 'every-message' | 'this-message' };

export interface Notifier {
    /** The most recipients one notice may name. */
    readonly maxRecipients: number;
    /** Whether it sends the notice's summary: only then do the rows keep the approval's card for it. */
    readonly sendsSummary: boolean;
    send(notice: Notice, deadline: number): Promise<SendOutcome>;
}
