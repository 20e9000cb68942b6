import { mapLimited } from '../platform/concurrency';
import { truncate } from '../platform/text';
import { IscApprovalKind, IscConfig } from '../config';
import { normalizeEmail } from '../platform/email';
import { badRequest, conflict, decisionUnderWay, forbidden, upstream } from '../platform/errors';
import { quoteFilterValue } from '../platform/filterValue';
import { errorMessage, Logger } from '../platform/log';
import { batchesOf, offsetPages, readInBatches, resumeOffset } from '../platform/paging';
import { Approval, ApprovalPage, ApprovalRef, ApprovalSource, Approver, Decision, Person, Recommendation, Reference, SOURCE_TITLES } from '../model';
import { fromIscPendingApproval } from './accessRequestJson';
import { fromIscApproval } from './approvalJson';
import { describeIscFailure, IscClient, IscCredential, ListPage } from './client';
import { IscRecommendations } from './recommendations';

/** ISC's largest page of approvals. */
const PAGE_SIZE = 250;
const MAX_PAGES = 1_000;
const IDS_PER_LOOKUP = 50;
/** Identity look-ups in flight at once: enough to overlap their round trips, few against ISC's rate limit. */
const LOOKUPS_AT_ONCE = 4;
/** ISC's ForwardApprovalDto takes a comment of 1 to 255 characters. */
const FORWARD_COMMENT_MAX = 255;

/** Rows written before access requests were supported carry no kind: they are generic approvals. */
/** A sweep's position, `{kind}@{offset}`; one naming a kind not listed now (the setting changed) starts over. */
function resumePosition(resumeAt: string | undefined, kinds: IscApprovalKind[]): { kind: IscApprovalKind; offset: number } | undefined {
    const match = /^([a-z-]+)@(\d{1,9})$/.exec(resumeAt ?? '');
    const kind = kinds.find((listed) => listed === match?.[1]);
    return match && kind ? { kind, offset: Number(match[2]) } : undefined;
}

const kindOf = (ref: ApprovalRef) => (ref.kind === 'access-request' ? 'access-request' : 'generic');

/**
 * SailPoint Identity Security Cloud: access-request approvals (`/access-request-approvals`) and generic
 * approvals (`/generic-approvals`), as ISC_APPROVAL_KINDS says. The app's personal access token acts "on
 * behalf of the caller", so ISC records the token's identity as the decider: the real approver's name and
 * email go into the comment ISC stores. Every poll lists all pending approvals of each kind
 * (`incremental` is false), since ISC's change times are not a reliable filter.
 */
export class IscSource implements ApprovalSource {
    readonly name = 'isc' as const;
    readonly incremental = false;
    readonly stepsAfterDecision = true;
    /** ISC_RECOMMENDATIONS: asked with the service credential, in either ISC_DECIDE_AS mode. */
    private readonly recommendations?: IscRecommendations;

    constructor(
        private readonly config: IscConfig,
        private readonly client: IscClient,
        private readonly log: Logger,
        /** ISC_DECIDE_AS=user: each approver's own credential, for every write; the service credential then only reads. */
        private readonly actingAs?: (person: Person) => Promise<IscCredential>,
        now: () => number = Date.now,
    ) {
        if (config.recommendations) this.recommendations = new IscRecommendations(client, log, now);
    }

    isApprovalId(id: string): boolean {
        return this.config.idPattern.test(id);
    }

    async recommend(approvals: Approval[]): Promise<Map<string, Recommendation>> {
        return this.recommendations ? this.recommendations.for(approvals) : new Map();
    }

    listPending(_since?: number, resumeAt?: string): AsyncIterable<ApprovalPage> {
        return this.listEveryKind(resumePosition(resumeAt, this.config.kinds));
    }

    /**
     * Each kind's pages in turn. One kind failing (a 403 for a scope only it needs) does not keep the other's
     * approvals from their approvers: the other is still listed, and the failure is thrown at the end, so
     * the poll closes nothing it did not see.
     */
    private async *listEveryKind(resume?: { kind: IscApprovalKind; offset: number }): AsyncIterable<ApprovalPage> {
        // The access requests listed as pending this poll, to tell the operator about mirrors without one.
        const pendingRequests = new Set<string>();
        const noting = (approvals: Approval[]) => {
            for (const approval of approvals) if (approval.requestId) pendingRequests.add(approval.requestId);
            return approvals;
        };
        const listings: Record<IscApprovalKind, (startOffset: number) => AsyncIterable<{ page: ApprovalPage; nextOffset: number }>> = {
            'access-requests': (startOffset) =>
                this.pages('isc.access_requests', (offset, limit) => this.client.listAccessRequests(offset, limit), fromIscPendingApproval, noting, startOffset),
            generic: (startOffset) =>
                this.pages('isc', (offset, limit) => this.client.listGeneric(offset, limit), fromIscApproval, (approvals) => this.withoutMirrors(approvals, pendingRequests), startOffset),
        };
        // A resumed sweep starts at the kind it had reached; the kinds before it were listed by the earlier part.
        const kinds = resume ? this.config.kinds.slice(this.config.kinds.indexOf(resume.kind)) : this.config.kinds;
        let failure: unknown;
        for (const kind of kinds) {
            try {
                const startOffset = kind === resume?.kind ? resumeOffset(resume.offset, PAGE_SIZE) : 0;
                for await (const { page, nextOffset } of listings[kind](startOffset)) yield { ...page, resumeAt: `${kind}@${nextOffset}` };
            } catch (error) {
                this.log.error('isc.list.failed', { kind, error: errorMessage(error) });
                failure ??= error;
            }
        }
        if (failure !== undefined) throw failure;
    }

    /** Every page of one kind's pending list; `logPrefix` names the kind in the paging logs. */
    private pages(
        logPrefix: string,
        list: (offset: number, limit: number) => Promise<ListPage>,
        parse: (json: unknown) => Approval | undefined,
        keep: (approvals: Approval[]) => Approval[] = (approvals) => approvals,
        startOffset = 0,
    ): AsyncIterable<{ page: ApprovalPage; nextOffset: number }> {
        const paging = {
            pageSize: PAGE_SIZE,
            maxPages: MAX_PAGES,
            onSmallerPages: (limit: number, offset: number) => this.log.warn(`${logPrefix}.list.smaller_pages`, { offset, limit }),
            onItemTooLarge: (offset: number) => this.log.error(`${logPrefix}.list.item_too_large`, { offset }),
            onTooManyPages: () => this.log.error(`${logPrefix}.list.too_many_pages`, { pages: MAX_PAGES }),
        };
        return offsetPages(paging, async (offset, limit) => {
            const { items, total } = await list(offset, limit);
            const approvals: Approval[] = [];
            let skipped = 0;
            for (const item of items) {
                const approval = parse(item);
                if (approval && !approval.completedState) approvals.push(approval);
                else if (!approval) {
                    skipped++;
                    this.log.warn(`${logPrefix}.approval.unreadable`, { offset });
                }
            }
            // Only a short page ends the list: a count that went stale while paging must not cut it short.
            const last = items.length < limit;
            if (last && total !== undefined && offset + items.length < total) this.log.warn(`${logPrefix}.list.fewer_than_counted`, { offset, listed: items.length, total });
            return { page: { approvals: keep(approvals), skipped }, last };
        }, startOffset);
    }

    /**
     * With both kinds on, a generic approval that mirrors an access request is left out: the
     * access-request approval is the one notified and acted on, so the approver gets one message.
     */
    private withoutMirrors(approvals: Approval[], pendingRequests?: Set<string>): Approval[] {
        const mirrors = approvals.filter((approval) => this.isLeftOutMirror(approval));
        if (mirrors.length === 0) return approvals;
        if (pendingRequests) {
            // Mirrors whose access request /pending does not list, poll after poll, would mean the tenant lists
            // some access requests only as generic approvals (see docs/facts-to-verify.md).
            const withoutPendingAccessRequest = mirrors.filter((mirror) => !pendingRequests.has(mirror.requestId as string)).length;
            this.log.info('isc.list.mirrors_left_out', { count: mirrors.length, withoutPendingAccessRequest });
        }
        return approvals.filter((approval) => !this.isLeftOutMirror(approval));
    }

    /** With both kinds on, a generic mirror is acted on only through its access-request approval. */
    private isLeftOutMirror(approval: Approval): boolean {
        return this.config.kinds.includes('access-requests') && approval.requestId !== undefined;
    }

    /** Rows of either kind are confirmed whatever ISC_APPROVAL_KINDS says now: a changed setting does not close them. */
    async confirmPending(refs: ApprovalRef[]): Promise<{ pending: Approval[]; undetermined: string[] }> {
        const ids = (kind: 'access-request' | 'generic') => refs.filter((ref) => kindOf(ref) === kind).map((ref) => ref.id);
        const accessRequests = await readInBatches(ids('access-request'), IDS_PER_LOOKUP, async (batch) => {
            const { items } = await this.client.listAccessRequests(0, batch.length, batch);
            return items.flatMap((item) => fromIscPendingApproval(item) ?? []).filter((approval) => batch.includes(approval.id));
        });
        const generic = await readInBatches(ids('generic'), IDS_PER_LOOKUP, async (batch) => {
            const { items } = await this.client.listGeneric(0, batch.length, batch);
            const pending = items.flatMap((item) => fromIscApproval(item) ?? []).filter((approval) => !approval.completedState && batch.includes(approval.id));
            return this.withoutMirrors(pending);
        });
        return { pending: [...accessRequests.found, ...generic.found], undetermined: [...accessRequests.undetermined, ...generic.undetermined] };
    }

    async getApproval(ref: ApprovalRef): Promise<Approval | undefined> {
        if (kindOf(ref) === 'access-request') {
            const { items } = await this.client.listAccessRequests(0, 1, [ref.id]);
            const read = items.map((item) => fromIscPendingApproval(item));
            const live = read.find((approval) => approval?.id === ref.id);
            if (!live && read.includes(undefined)) throw upstream('source_unavailable', 'Identity Security Cloud answered with an access-request approval the app could not read.');
            return live;
        }
        const json = await this.client.getApproval(ref.id);
        if (json === undefined) return undefined;
        const approval = fromIscApproval(json);
        if (!approval) throw upstream('source_unavailable', 'Identity Security Cloud answered with an approval the app could not read.');
        if (this.isLeftOutMirror(approval) && !approval.completedState) {
            throw conflict('no_longer_pending', 'This request is now decided through its Identity Security Cloud access-request approval: use the newest message about it.');
        }
        return approval;
    }

    async recipientsFor(approvals: Approval[]): Promise<Map<string, string[]>> {
        const people = (approver: Approver) => (approver.members !== undefined ? approver.members : [approver]);
        const missing = [...new Set(approvals.flatMap((approval) => approval.approvers.flatMap(people).filter((person) => !person.email).map((person) => person.id)))];
        const looked = await this.emailsOf(missing);
        return new Map(
            approvals.map((approval) => {
                const emails = approval.approvers.flatMap(people).flatMap((person) => {
                    const email = normalizeEmail(person.email ?? looked.get(person.id) ?? '');
                    return email ? [email] : [];
                });
                return [approval.id, [...new Set(emails)]];
            }),
        );
    }

    findPersonByEmail(email: string): Promise<Person> {
        return findIscPerson(this.client, email);
    }

    async isApprover(approval: Approval, person: Person): Promise<boolean> {
        return approval.approvers.some((approver) => approver.id === person.id || (approver.members ?? []).some((member) => member.id === person.id));
    }

    async decide(approval: Approval, person: Person, decision: Decision, comment?: string): Promise<void> {
        if (kindOf(approval) === 'access-request') {
            // ISC requires a reason to reject an access request, so a sentence naming who acted stands in for a missing one.
            const said = comment ?? (decision === 'approve' ? 'Approved in chat' : 'Rejected in chat');
            return this.actOnAccessRequest(approval, person, decision, { comment: this.commentBy(person, said) }, `${decision} the access request`);
        }
        await this.expectDone(await this.client.act(approval.id, decision, { comment: this.commentBy(person, comment) }, await this.actingAs?.(person)), `${decision} the approval`);
    }

    async emailOf(person: Reference): Promise<string | undefined> {
        return normalizeEmail(person.email ?? (await this.emailsOf([person.id])).get(person.id) ?? '');
    }

    /** ISC has no call that comments on an access-request approval without deciding it. */
    canComment(ref: ApprovalRef): boolean {
        return kindOf(ref) === 'generic';
    }

    async comment(approval: Approval, person: Person, text: string): Promise<void> {
        await this.expectDone(await this.client.act(approval.id, 'comments', { comment: this.commentBy(person, text) }, await this.actingAs?.(person)), 'add the comment');
    }

    async reassign(approval: Approval, person: Person, to: Person, comment?: string): Promise<void> {
        if (kindOf(approval) === 'access-request') {
            const body = { newOwnerId: to.id, comment: this.commentBy(person, comment ?? `Forwarded in chat to ${to.name}`, FORWARD_COMMENT_MAX) };
            return this.actOnAccessRequest(approval, person, 'forward', body, 'forward the access request');
        }
        // Reassign the caller's own assignment; when they approve through a group, the group's.
        const from = approval.approvers.find((approver) => approver.id === person.id) ?? approval.approvers.find((approver) => approver.members?.some((m) => m.id === person.id));
        const body = { reassignTo: to.id, reassignFrom: from?.id ?? person.id, comment: this.commentBy(person, comment) };
        await this.expectDone(await this.client.act(approval.id, 'reassign', body, await this.actingAs?.(person)), 'reassign the approval');
    }

    /**
     * ISC refuses an action on an access request whose decision is already under way or done (400 or 404):
     * the live item then says which, so the caller hears 409 for what happened rather than ISC's refusal.
     */
    private async actOnAccessRequest(approval: Approval, person: Person, action: 'approve' | 'reject' | 'forward', body: Record<string, unknown>, what: string): Promise<void> {
        const answer = await this.client.actOnAccessRequest(approval.id, action, body, await this.actingAs?.(person));
        if (answer.status === 400 || answer.status === 404) {
            const live = await this.getApproval(approval).then(
                (found) => ({ found }),
                () => undefined,
            );
            if (live?.found?.inFlight) throw decisionUnderWay(SOURCE_TITLES.isc, live.found.inFlight);
            if (live && !live.found) throw conflict('no_longer_pending', 'Identity Security Cloud no longer has this access request pending; it was decided or withdrawn.');
        }
        await this.expectDone(answer, what);
    }

    /** The comment ISC stores: as the approver's own (user mode, ISC records them), or attributed to them (service). */
    private commentBy(person: Person, comment: string | undefined, max = Infinity): string | undefined {
        return this.actingAs ? comment && truncate(comment, max) : attributed(person, comment, max);
    }

    private async expectDone(answer: { status: number; body: string; headers: Record<string, string> }, action: string): Promise<void> {
        if (answer.status >= 200 && answer.status < 300) return;
        // With the approver's own token, ISC's refusal is its verdict on them: nothing is retried as anyone else.
        if (answer.status === 403 && this.actingAs) throw forbidden('not_approver', `Identity Security Cloud refused to let you ${action} (403).`);
        if (answer.status === 404) throw conflict('no_longer_pending', 'Identity Security Cloud no longer has this approval pending; it was completed or withdrawn.');
        if (answer.status === 400) throw badRequest('rejected_by_source', describeIscFailure(answer, action));
        throw upstream('isc_failed', describeIscFailure(answer, action));
    }

    /**
     * Emails by identity id, 50 ids a request, a few requests at once. An approver ISC names by id is who it
     * is, correlated or not, so the look-up does not leave uncorrelated identities out.
     */
    private async emailsOf(identityIds: string[]): Promise<Map<string, string>> {
        const batches = batchesOf(identityIds, IDS_PER_LOOKUP);
        const answers = await mapLimited(batches, LOOKUPS_AT_ONCE, (batch) => this.client.findIdentities(`id in (${batch.map(quoteFilterValue).join(',')})`, { uncorrelated: true }));
        const emails = new Map<string, string>();
        for (const [index, rows] of answers.entries()) {
            for (const row of rows) if (batches[index].includes(row.id) && row.emailAddress) emails.set(row.id, row.emailAddress);
        }
        return emails;
    }
}

/**
 * The ISC identity with this email, as every action resolves it: correlated identities first, as ISC lists
 * them by default; only when none has the email, the uncorrelated ones too, so an approver ISC has not
 * correlated (it notifies them) can still act. More than one is refused rather than guessed.
 */
export async function findIscPerson(client: IscClient, email: string): Promise<Person> {
    const withEmail = async (uncorrelated: boolean) =>
        (await client.findIdentities(`email eq ${quoteFilterValue(email)}`, { uncorrelated })).filter((row) => normalizeEmail(row.emailAddress ?? '') === email);
    let matches = await withEmail(false);
    if (matches.length === 0) matches = await withEmail(true);
    if (matches.length === 0) throw forbidden('unknown_approver', `No Identity Security Cloud identity has the email ${email}.`);
    if (matches.length > 1) {
        throw forbidden('ambiguous_approver', `More than one Identity Security Cloud identity has the email ${email}; ask an ISC administrator to make it unique.`);
    }
    return { id: matches[0].id, name: matches[0].name ?? matches[0].id, email };
}

/**
 * ISC records the app's service identity as the decider, so the comment carries who really acted. Within
 * `max` characters the person's text is cut first, so the attribution survives.
 */
export function attributed(person: Person, comment?: string, max = Infinity): string {
    const who = `(via Moveworks, on behalf of ${person.name} <${person.email}>)`;
    if (!comment) return truncate(who, max);
    const room = max - who.length - 1;
    if (room < 2) return truncate(`${comment} ${who}`, max);
    return `${truncate(comment, room)} ${who}`;
}

