import { createHash } from 'node:crypto';
import { truncate } from './platform/text';

/**
 * The ground floor every layer may use: the source-neutral approval, the people who decide it, and the
 * ports (source, store, notifier) the use cases are handed.
 */

export type SourceName = 'iiq' | 'isc';

export const SOURCE_TITLES: Record<SourceName, string> = { iiq: 'IdentityIQ', isc: 'Identity Security Cloud' };

export interface Reference {
    id: string;
    name: string;
    /** When the source gives it inline (ISC); IdentityIQ references carry none. */
    email?: string;
}

/** Someone the approval currently waits on: a person, or a group whose members may decide. */
export interface Approver extends Reference {
    email?: string;
    /** A group's members, when the source gives them inline. */
    members?: { id: string; name: string; email?: string }[];
}

export interface Person {
    id: string;
    name: string;
    email: string;
}

export interface ApprovalLine {
    operation?: string;
    attribute?: string;
    value?: string;
    application?: string;
    requesterComment?: string;
    startDate?: number;
    endDate?: number;
}

export const RECOMMENDATION_VERDICTS = ['YES', 'NO', 'MAYBE'] as const;

/** SailPoint Identity AI's view of an access request: whether it recommends the access, and the sentences that say why. */
export interface Recommendation {
    verdict: (typeof RECOMMENDATION_VERDICTS)[number];
    reasons: string[];
}

export const ACCESS_ITEM_TYPES = ['ENTITLEMENT', 'ACCESS_PROFILE', 'ROLE'] as const;

export interface ApprovalComment {
    author?: string;
    text: string;
    date?: number;
}

export interface Approval {
    source: SourceName;
    id: string;
    /** The number the source's own UI shows (IdentityIQ's work item name). */
    number?: string;
    description?: string;
    /** Who the approval currently waits on (IdentityIQ: the owner; ISC: the assigned identities and groups). */
    approvers: Approver[];
    /** The approval's own name and kind, where the source has them. */
    name?: string;
    type?: string;
    dueAt?: number;
    requester?: Reference;
    requestee?: Reference;
    createdAt?: number;
    /** The source's own clock: the latest of created and modified, used for the watermark. */
    changedAt: number;
    priority?: string;
    lines: ApprovalLine[];
    comments: ApprovalComment[];
    /** Present once the source considers the approval complete. */
    completedState?: string;
    /** Which serial step the approval is at, where the source says (ISC `serialStep`). */
    step?: number;
    /**
     * Who has decided it so far, and how (ISC `approvedBy`, `rejectedBy`): in a parallel step each decision
     * takes its approver out of `approvers` while the approval stays pending for the rest.
     */
    decisions?: { id: string; decision: Decision; at?: number }[];
    /** The source's own kind of approval, where it has several (ISC: `access-request` or `generic`); absent means the source's first kind. */
    kind?: string;
    /** The access request the approval belongs to (ISC), which an approval mirroring it shares. */
    requestId?: string;
    /**
     * A decision the source is already carrying out (ISC `actionInProcess`: APPROVED, REJECTED, FORWARDED):
     * nobody is notified of it, and actions on it answer 409.
     */
    inFlight?: string;
    /** The source refuses a rejection without a reason (ISC `commentRequiredWhenRejected`). */
    reasonRequiredToReject?: boolean;
    privilegeLevel?: string;
    /** The latest hand-over inside the source (ISC `forwardHistory`). */
    forwarded?: { from?: string; to?: string; by?: string; at?: number; comment?: string };
    /** Separation-of-duties conflicts the request would create: the policy, and the conflicting access on each side. */
    conflicts?: { policy: string; left: string[]; right: string[] }[];
    /** The access requested to be granted, as the source names it (ISC `requestedObject`): what a recommendation is asked for. */
    accessItem?: { id: string; type: (typeof ACCESS_ITEM_TYPES)[number] };
    /** The source's recommendation, when it gave one (see ApprovalSource.recommend). */
    recommendation?: Recommendation;
}

/**
 * The approval in plain fields (not markup), for a listener's compound action to lay out its own card:
 * kept on the row beside the message, so a reminder carries the same.
 */
export interface ApprovalCard {
    title: string;
    sourceTitle: string;
    requestedFor?: string;
    requestedBy?: string;
    items: { operation?: string; name: string; application?: string }[];
    /** Items left out to stay within the bound. */
    moreItems?: number;
    conflicts: { policy: string; left: string[]; right: string[] }[];
    dueAt?: number;
    recommendation?: Approval['recommendation'];
}

/** What names one approval to its source: the id, and the kind when the source has several. */
export type ApprovalRef = Pick<Approval, 'id' | 'kind'>;

export type Decision = 'approve' | 'reject';

export interface ApprovalPage {
    approvals: Approval[];
    /** Items the source returned that could not be read; they are logged and skipped. */
    skipped: number;
    /** Where a whole-list sweep cut short after this page resumes (see listPending); opaque to the caller. */
    resumeAt?: string;
}

export interface ApprovalSource {
    readonly name: SourceName;
    /** Whether an id has the shape this source issues; anything else is refused before any lookup. */
    isApprovalId(id: string): boolean;
    /**
     * Pending approvals changed at or after `since` (source clock), or all of them when `since` is absent.
     * A whole-list sweep may start at `resumeAt`, a page's position from an earlier sweep; a position the
     * source does not recognise (another setting, another version) starts from the beginning.
     */
    listPending(since?: number, resumeAt?: string): AsyncIterable<ApprovalPage>;
    /** The live approval, or undefined when the source no longer has it. */
    getApproval(ref: ApprovalRef): Promise<Approval | undefined>;
    /** True when `listPending(since)` returns only what changed; false when it always lists everything pending. */
    readonly incremental: boolean;
    /** True when an approval may stay pending for further approvers after a decision (ISC serial steps). */
    readonly stepsAfterDecision: boolean;
    /**
     * Of these ids, the approvals the source still has pending, read live in batches, and the ids it could
     * not tell (too large to read): a sweep asks before it closes a row it did not see, since a list that
     * shifts while it is paged can hide an item.
     */
    confirmPending(refs: ApprovalRef[]): Promise<{ pending: Approval[]; undetermined: string[] }>;
    /** For each approval id, the emails to notify: each approver's, or every member's of a group approver. */
    recipientsFor(approvals: Approval[]): Promise<Map<string, string[]>>;
    /** The one person with this email; throws PersonNotFound or PersonAmbiguous. */
    findPersonByEmail(email: string): Promise<Person>;
    /** Whether the person is one of the approval's current approvers or a member of an approver group, read live. */
    isApprover(approval: Approval, person: Person): Promise<boolean>;
    decide(approval: Approval, person: Person, decision: Decision, comment?: string): Promise<void>;
    /** The email of a person the approval names (for the requester's outcome message). */
    emailOf(person: Reference): Promise<string | undefined>;
    /** Adds a comment without deciding; absent when the source cannot. */
    comment?(approval: Approval, person: Person, text: string): Promise<void>;
    /** False for the kinds of approval the source cannot comment on even though it has `comment`. */
    canComment?(ref: ApprovalRef): boolean;
    /**
     * The source's recommendation for each of these approvals that has one, by approval id; absent when the
     * source gives none. Never throws, and ends within a few seconds whatever the source does, since a
     * recommendation must never hold a message back.
     */
    recommend?(approvals: Approval[]): Promise<Map<string, Recommendation>>;
    /** Hands the person's part of the approval to someone else; absent when the source cannot. */
    reassign?(approval: Approval, person: Person, to: Person, comment?: string): Promise<void>;
}

/**
 * Identifies the current set of approvers, to notice a reassignment: their ids joined, or, when that is longer
 * than a table string property holds (an approval assigned to a thousand identities one by one), a digest of
 * it. The digest's prefix marks it, and a joined list that happens to start with it is digested too, so a
 * digest never equals a list's key.
 */
export function approverKey(approval: Approval): string {
    const joined = approval.approvers.map((approver) => approver.id).sort().join(',');
    if (joined.length <= MAX_APPROVER_KEY_CHARS && !joined.startsWith(DIGEST_PREFIX)) return joined;
    return `${DIGEST_PREFIX}${createHash('sha256').update(joined).digest('hex')}`;
}

/** Azure Tables holds at most 32 K UTF-16 characters in a string property; every key stored so far fits it. */
const MAX_APPROVER_KEY_CHARS = 32 * 1024;
const DIGEST_PREFIX = 'sha256:';

/** Who the approval waits on, in words, cut so that it fits answers, lists and a table property. */
export const approverNames = (approval: Approval) => truncate(approval.approvers.map((approver) => truncate(approver.name, MAX_NAME_LENGTH)).join(', '), MAX_NAMES_LENGTH);

const MAX_NAME_LENGTH = 200;
const MAX_NAMES_LENGTH = 1_000;
