import { Approval, ApprovalLine, approverNames, Recommendation, SOURCE_TITLES } from '../model';
import { singleLine, truncate } from '../platform/text';
import { escapeHtml, escapeHtmlWithin } from './escape';

/**
 * Approval -> Moveworks chat markup (the conversation design of the guide: work item, requested by/for/on,
 * priority, then every requested item). Every source value is escaped; long free text is cut so the whole
 * message stays within the Events API's 20,000 characters.
 */

export const MAX_MESSAGE_LENGTH = 20_000;
const MAX_FIELD_LENGTH = 300;
const MAX_COMMENT_LENGTH = 500;
const LATEST_COMMENTS = 3;
/** The share of the message the conflict warnings may take, so the requested items still fit. */
const MAX_CONFLICTS_LENGTH = 6_000;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function formatInstant(epochMs: number): string {
    const date = new Date(epochMs);
    const pad = (value: number) => String(value).padStart(2, '0');
    return `${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
}

/** A source value as markup on one line, in at most `max` characters however much escaping it needs. */
const escaped = (value: string, max: number) => escapeHtmlWithin(singleLine(value), max);

const field = (label: string, value: string | undefined, max = MAX_FIELD_LENGTH) =>
    value === undefined || value.trim() === '' ? [] : [`- <i>${label}</i>: ${escaped(value, max)}`];

/** Labels as each source's own UI words them: IdentityIQ roles and attributes, ISC requested access. */
function lineLabels(source: Approval['source'], line: ApprovalLine) {
    if (source === 'isc') return { operation: 'Request', attribute: 'Access type', value: 'Access' };
    const isRole = line.application === 'IIQ';
    return { operation: 'Operation', attribute: isRole ? 'Role type' : 'Attribute', value: isRole ? 'Role name' : 'Value' };
}

function lineBlock(source: Approval['source'], line: ApprovalLine, index: number, count: number): string {
    const labels = lineLabels(source, line);
    return [
        `<b>Request item ${index + 1}/${count}</b>`,
        ...field(labels.operation, line.operation),
        ...field(labels.attribute, line.attribute),
        ...field(labels.value, line.value),
        ...field('Application', line.application),
        ...field('Requester comment', line.requesterComment, MAX_COMMENT_LENGTH),
        ...field('Starts', line.startDate === undefined ? undefined : formatInstant(line.startDate)),
        ...field('Ends', line.endDate === undefined ? undefined : formatInstant(line.endDate)),
    ].join('<br>');
}

/** A warning line for every conflict, as many as fit in their share of the message; the rest are counted. */
function conflictWarnings(approval: Approval): string[] {
    const conflicts = approval.conflicts ?? [];
    const shown: string[] = [];
    let length = 0;
    for (const conflict of conflicts) {
        const line = conflictWarning(conflict);
        if (length + line.length > MAX_CONFLICTS_LENGTH) break;
        shown.push(line);
        length += line.length;
    }
    const more = conflicts.length - shown.length;
    return more > 0 ? [...shown, `⚠️ <i>…and ${more} more separation-of-duties conflict(s): open ${SOURCE_TITLES[approval.source]} to see them all.</i>`] : shown;
}

/** "⚠️ Separation-of-duties conflict (policy): A conflicts with B", naming the access on each side. */
function conflictWarning(conflict: NonNullable<Approval['conflicts']>[number]): string {
    const side = (names: string[]) => (names.length === 0 ? 'access named by the policy' : escaped(names.join(', '), MAX_FIELD_LENGTH));
    return `⚠️ <b>Separation-of-duties conflict</b> (${escaped(conflict.policy, MAX_FIELD_LENGTH)}): ${side(conflict.left)} conflicts with ${side(conflict.right)}`;
}

/**
 * Identity AI's recommendation in one line with its first sentences: a NO stands with the warnings at the
 * top, a YES or MAYBE just above the buttons.
 */
function recommendationLine(recommendation: Recommendation): string {
    const why = recommendation.reasons.length > 0 ? `: ${recommendation.reasons.map((reason) => escaped(reason, MAX_FIELD_LENGTH)).join(' ')}` : '';
    if (recommendation.verdict === 'NO') return `⚠️ <b>SailPoint Identity AI does not recommend this access</b>${why}`;
    if (recommendation.verdict === 'YES') return `💡 <b>SailPoint Identity AI recommends this access</b>${why}`;
    return '💡 <i>SailPoint Identity AI has no clear recommendation for this access.</i>';
}

function describeForward(forward: NonNullable<Approval['forwarded']>): string {
    const route = [forward.from && `from ${forward.from}`, forward.to && `to ${forward.to}`, forward.by && `by ${forward.by}`].filter(Boolean).join(' ');
    const at = forward.at === undefined ? '' : ` on ${formatInstant(forward.at)}`;
    return `${route || 'yes'}${at}${forward.comment ? `: ${forward.comment}` : ''}`;
}

export interface MessageOptions {
    /** Set when the approval was reassigned to the recipients after a first notification. */
    reassigned?: boolean;
    /** Set when an earlier step approved and the approval now waits on the recipients' step. */
    nextStep?: boolean;
}

export function toApprovalMessage(approval: Approval, options: MessageOptions = {}): string {
    const heading = options.nextStep
        ? '📋 SailPoint approval request: your step'
        : options.reassigned
          ? '📋 SailPoint approval request reassigned to you'
          : '📋 New SailPoint approval request';
    const header = [
        `<b>${heading}</b>`,
        ...(approval.recommendation?.verdict === 'NO' ? [recommendationLine(approval.recommendation)] : []),
        ...conflictWarnings(approval),
        ...field('Source', SOURCE_TITLES[approval.source]),
        ...field(approval.source === 'iiq' ? 'Work item' : 'Approval', approval.number ? `${approval.number} (${approval.id})` : approval.id),
        ...field('Name', approval.name),
        ...field('Type', approval.type),
        ...field('Description', approval.description),
        ...field('Requested by', approval.requester?.name),
        ...field('Requested for', approval.requestee?.name),
        ...field('Requested on', approval.createdAt === undefined ? undefined : formatInstant(approval.createdAt)),
        ...field('Due', approval.dueAt === undefined ? undefined : formatInstant(approval.dueAt)),
        ...field('Priority', approval.priority),
        ...field('Privilege level', approval.privilegeLevel),
        ...field('Approver', approverNames(approval)),
        ...field('Forwarded', approval.forwarded && describeForward(approval.forwarded), MAX_COMMENT_LENGTH),
    ].join('<br>');
    const comments = approval.comments.slice(-LATEST_COMMENTS).map((comment) =>
        `${escaped(comment.author ?? 'Someone', MAX_FIELD_LENGTH)}${comment.date ? ` (${formatInstant(comment.date)})` : ''}: ${escaped(comment.text, MAX_COMMENT_LENGTH)}`,
    );
    const footer = [
        ...(comments.length > 0 ? ['<b>Latest comments</b>', ...comments] : []),
        ...(approval.reasonRequiredToReject ? ['<i>A reason is required to reject this request.</i>'] : []),
        ...(approval.recommendation && approval.recommendation.verdict !== 'NO' ? [recommendationLine(approval.recommendation)] : []),
        'Choose <b>Approve</b> or <b>Reject</b> below.',
    ].join('<br>');

    const blocks: string[] = [];
    let length = header.length + footer.length + 200;
    for (const [index, line] of approval.lines.entries()) {
        const block = lineBlock(approval.source, line, index, approval.lines.length);
        if (length + block.length + 8 > MAX_MESSAGE_LENGTH) {
            blocks.push(`<i>…and ${approval.lines.length - index} more item(s): open ${SOURCE_TITLES[approval.source]} to see them all.</i>`);
            break;
        }
        blocks.push(block);
        length += block.length + 8;
    }
    return [header, ...blocks, footer].join('<br><br>');
}

/** "Amy Cox's request for IT Database Manager" (plain text), for answers, lists and outcome messages. */
export function describeRequest(approval: Approval): string {
    const first = truncate(singleLine(approval.lines[0]?.value ?? approval.name ?? approval.description ?? 'access'), MAX_FIELD_LENGTH);
    const what = approval.lines.length > 1 ? `${first} and ${approval.lines.length - 1} more` : first;
    return approval.requestee ? `${truncate(singleLine(approval.requestee.name), MAX_FIELD_LENGTH)}'s request for ${what}` : `the request for ${what}`;
}

/** Where the approval lives, as a person would look it up: "IdentityIQ work item 0000000046". */
export function approvalReference(approval: Approval): string {
    if (approval.source === 'iiq') return `IdentityIQ work item ${approval.number ?? approval.id}`;
    return `Identity Security Cloud ${approval.kind === 'access-request' ? 'access-request approval' : 'approval'} ${approval.id}`;
}

/** The sentence an approve/reject answer carries for Creator Studio to show as is. */
export function outcomeSentence(approval: Approval, decision: 'approve' | 'reject'): string {
    const done = decision === 'approve' ? 'Approved' : 'Rejected';
    const request = describeRequest(approval);
    // ISC accepts an access-request decision (202) and carries it out afterwards.
    if (approval.kind === 'access-request') return `${done} ${request}; Identity Security Cloud is carrying out the decision on access-request approval ${approval.id}.`;
    return `${done} ${request}; ${approvalReference(approval)} is complete.`;
}

/** The answer to an approver whose decision handed the approval to the next step's approvers. */
export function movesOnSentence(approval: Approval, nextApproverNames: string): string {
    return `Approved ${describeRequest(approval)}; it now moves on to ${nextApproverNames} for the next step.`;
}

/**
 * The answer to an approver whose decision the source took while the approval still waits on others (the
 * rest of a parallel step), naming them when known.
 */
export function recordedSentence(approval: Approval, decision: 'approve' | 'reject', stillWaitingOn?: string): string {
    const yours = decision === 'approve' ? 'Your approval' : 'Your rejection';
    const rest = stillWaitingOn ? `still waits on ${stillWaitingOn}` : 'may still wait on other approvers';
    return `${yours} of ${describeRequest(approval)} is recorded; ${approvalReference(approval)} ${rest}.`;
}

export function toReminderMessage(message: string): string {
    return `<b>⏰ Reminder: this request is still waiting for your decision</b><br><br>${message}`;
}

/** The message for an approver who must connect their SailPoint account before deciding (ISC_DECIDE_AS=user). */
export function withConnectLink(message: string, connectUrl: string): string {
    return `${message}<br><br>To approve or reject here, <a href="${escapeHtml(connectUrl)}">connect your SailPoint account</a> once.`;
}

/** The requester's message when NOTIFY_REQUESTER is on. */
export function toOutcomeMessage(approval: Approval, decision: 'approve' | 'reject', decidedBy: string, reason?: string): string {
    const done = decision === 'approve' ? 'approved' : 'rejected';
    return [
        `<b>Your SailPoint request was ${done}</b>`,
        `${escaped(describeRequest(approval), MAX_FIELD_LENGTH)} was ${done} by ${escaped(decidedBy, MAX_FIELD_LENGTH)}.`,
        ...(reason ? [`<i>Reason</i>: ${escaped(reason, MAX_COMMENT_LENGTH)}`] : []),
        escapeHtml(approvalReference(approval)),
    ].join('<br>');
}
