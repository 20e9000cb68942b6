/**
 * The ground floor every layer may use: the source-neutral approval, the people who decide it, and the
 * ports (source, store, notifier) the use cases are handed.
 */

export type SourceName = 'iiq';

export interface Reference {
    id: string;
    name: string;
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
    owner: Reference;
    requester?: Reference;
    requestee?: Reference;
    createdAt: number;
    /** The source's own clock: the latest of created and modified, used for the watermark. */
    changedAt: number;
    priority?: string;
    lines: ApprovalLine[];
    comments: ApprovalComment[];
    /** Present once the source considers the approval complete. */
    completedState?: string;
}

export type Decision = 'approve' | 'reject';

export interface ApprovalPage {
    approvals: Approval[];
    /** Items the source returned that could not be read; they are logged and skipped. */
    skipped: number;
}

export interface ApprovalSource {
    readonly name: SourceName;
    /** Whether an id has the shape this source issues; anything else is refused before any lookup. */
    isApprovalId(id: string): boolean;
    /** Pending approvals changed at or after `since` (source clock), or all of them when `since` is absent. */
    listPending(since?: number): AsyncIterable<ApprovalPage>;
    /** The live approval, or undefined when the source no longer has it. */
    getApproval(id: string): Promise<Approval | undefined>;
    /** For each owner id, the emails to notify: the person's, or every member's of a group owner. */
    recipientsOf(owners: Reference[]): Promise<Map<string, string[]>>;
    /** The one person with this email; throws PersonNotFound or PersonAmbiguous. */
    findPersonByEmail(email: string): Promise<Person>;
    /** Whether the person is the approval's owner or a member of its owner group, read live. */
    isApprover(approval: Approval, person: Person): Promise<boolean>;
    decide(approval: Approval, person: Person, decision: Decision, comment?: string): Promise<void>;
}

export interface Notification {
    approval: Approval;
    message: string;
    recipients: string[];
}
