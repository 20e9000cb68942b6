import { createLimiter, mapLimited } from '../platform/concurrency';
import { IiqConfig } from '../config';
import { normalizeEmail } from '../platform/email';
import { conflict, forbidden, upstream, UpstreamError } from '../platform/errors';
import { Logger } from '../platform/log';
import { batchesOf, offsetPages, readInBatches, resumeOffset } from '../platform/paging';
import { Approval, ApprovalPage, ApprovalRef, ApprovalSource, Decision, Person, Reference } from '../model';
import { all, any, atOrAfter, equals, equalsIgnoreCase, isIn } from './filter';
import { PluginClient, describeFailure } from './pluginClient';
import { parseWorkItem, parseWorkItemList, WorkItem } from './workItemXml';

/** Stops a runaway pager if IdentityIQ kept answering full pages. */
const MAX_PAGES = 10_000;
/** Identity ids per `id.in({...})` look-up, to keep URLs well under server limits. */
const IDS_PER_LOOKUP = 100;
/** Whether an owner is a workgroup, and who its members are, changes rarely; decisions always re-read it. */
const MEMBERS_CACHE_MS = 10 * 60_000;
/** IdentityIQ look-ups (workgroup members, identity batches) in flight at once. */
const LOOKUP_CONCURRENCY = 16;

/** A sweep's position: the offset reached in the whole list, ordered by created and id. */
const RESUME_PREFIX = 'iiq-offset:';

function resumePosition(resumeAt: string | undefined): number | undefined {
    if (!resumeAt?.startsWith(RESUME_PREFIX)) return undefined;
    const offset = Number(resumeAt.slice(RESUME_PREFIX.length));
    return Number.isSafeInteger(offset) && offset >= 0 ? offset : undefined;
}

const isOpenApproval = (item: WorkItem) => item.type === 'Approval' && !item.approval.completedState;

/** A work item has exactly one owner: a person or a workgroup. */
const ownerOf = (approval: Approval): Reference => approval.approvers[0];

export class IiqSource implements ApprovalSource {
    readonly name = 'iiq' as const;
    readonly incremental = true;
    readonly stepsAfterDecision = false;
    /** The look-up itself is cached, so pages recorded side by side share one look-up of a workgroup. */
    private readonly membersCache = new Map<string, { memberIds: Promise<string[]>; until: number }>();
    /** One gate for every member and identity look-up, however many pages are recorded at once. */
    private readonly lookup = createLimiter(LOOKUP_CONCURRENCY);

    constructor(
        private readonly config: IiqConfig,
        private readonly client: PluginClient,
        private readonly log: Logger,
        private readonly now: () => number = Date.now,
    ) {}

    isApprovalId(id: string): boolean {
        return this.config.idPattern.test(id);
    }

    async *listPending(since?: number, resumeAt?: string): AsyncIterable<ApprovalPage> {
        const approvals = equals('type', 'Approval');
        const filter = since === undefined ? approvals : all(approvals, any(atOrAfter('created', since), atOrAfter('modified', since)));
        const paging = {
            pageSize: this.config.pageSize,
            maxPages: MAX_PAGES,
            onSmallerPages: (limit: number, offset: number) => this.log.warn('iiq.list.smaller_pages', { offset, limit }),
            onItemTooLarge: (offset: number) => this.log.error('iiq.list.item_too_large', { offset }),
            onTooManyPages: () => this.log.error('iiq.list.too_many_pages', { pages: MAX_PAGES, pageSize: this.config.pageSize }),
        };
        const reached = since === undefined ? resumePosition(resumeAt) : undefined;
        const pages = offsetPages(
            paging,
            async (offset, limit) => {
                const { workItems, unreadable } = parseWorkItemList(await this.client.listObjects('WorkItem', { filter, orderby: 'created,id', offset, limit }));
                for (const id of unreadable) this.log.warn('iiq.workitem.unreadable', { workItemId: id });
                const page = { approvals: workItems.filter(isOpenApproval).map((item) => item.approval), skipped: unreadable.length };
                return { page, last: workItems.length + unreadable.length < limit };
            },
            reached === undefined ? 0 : resumeOffset(reached, this.config.pageSize),
        );
        for await (const { page, nextOffset } of pages) yield since === undefined ? { ...page, resumeAt: `${RESUME_PREFIX}${nextOffset}` } : page;
    }

    async confirmPending(refs: ApprovalRef[]): Promise<{ pending: Approval[]; undetermined: string[] }> {
        const { found, undetermined } = await readInBatches(refs.map((ref) => ref.id), IDS_PER_LOOKUP, (batch) => this.pendingAmong(batch));
        return { pending: found, undetermined };
    }

    /**
     * One `id.in({...})` list request for a batch. That the plugin resolves `id` on work items is not
     * verified: if it refuses the filter, each work item is read on its own instead.
     */
    private async pendingAmong(batch: string[]): Promise<Approval[]> {
        let xml: string;
        try {
            xml = await this.client.listObjects('WorkItem', { filter: all(equals('type', 'Approval'), isIn('id', batch)), limit: batch.length });
        } catch (error) {
            if (!(error instanceof UpstreamError) || (error.status !== 400 && error.status !== 500)) throw error;
            this.log.warn('iiq.confirm.filter_refused', { status: error.status, ids: batch.length });
            const live = await mapLimited(batch, LOOKUP_CONCURRENCY, (id) => this.getApproval({ id }));
            return live.filter((approval): approval is Approval => approval !== undefined && !approval.completedState);
        }
        return parseWorkItemList(xml).workItems.filter(isOpenApproval).map((item) => item.approval).filter((approval) => batch.includes(approval.id));
    }

    async getApproval({ id }: ApprovalRef): Promise<Approval | undefined> {
        const xml = await this.client.getWorkItem(id);
        if (xml === undefined) return undefined;
        const item = parseWorkItem(xml);
        return item.type === 'Approval' ? item.approval : undefined;
    }

    async recipientsFor(approvals: Approval[]): Promise<Map<string, string[]>> {
        const byOwner = await this.recipientsByOwner(approvals.map(ownerOf));
        return new Map(approvals.map((approval) => [approval.id, byOwner.get(ownerOf(approval).id) ?? []]));
    }

    private async recipientsByOwner(owners: Reference[]): Promise<Map<string, string[]>> {
        const ownerIds = [...new Set(owners.map((owner) => owner.id))];
        const memberLists = await Promise.all(ownerIds.map((ownerId) => this.memberIds(ownerId)));
        const membersByOwner = new Map(ownerIds.map((ownerId, index) => [ownerId, memberLists[index]]));
        const people = [...new Set(ownerIds.flatMap((ownerId) => { const members = membersByOwner.get(ownerId) ?? []; return members.length > 0 ? members : [ownerId]; }))];
        const emails = await this.emailsOf(people);
        return new Map(
            ownerIds.map((ownerId) => {
                const members = membersByOwner.get(ownerId) ?? [];
                const recipients = (members.length > 0 ? members : [ownerId]).flatMap((id) => emails.get(id) ?? []);
                return [ownerId, [...new Set(recipients)]];
            }),
        );
    }

    async findPersonByEmail(email: string): Promise<Person> {
        const rows = await this.client.queryIdentities(equalsIgnoreCase('email', email));
        const matches = rows.filter((row) => normalizeEmail(row.email ?? '') === email);
        if (matches.length === 0) throw forbidden('unknown_approver', `No IdentityIQ identity has the email ${email}.`);
        if (matches.length > 1) {
            throw forbidden('ambiguous_approver', `More than one IdentityIQ identity has the email ${email}; ask an IdentityIQ administrator to make it unique.`);
        }
        const [match] = matches;
        return { id: match.id, name: match.name ?? match.id, email };
    }

    async emailOf(person: Reference): Promise<string | undefined> {
        return (await this.emailsOf([person.id])).get(person.id);
    }

    async isApprover(approval: Approval, person: Person): Promise<boolean> {
        const owner = ownerOf(approval);
        if (owner.id === person.id) return true;
        const members = await this.client.workgroupMemberIds(owner.id);
        return (members ?? []).includes(person.id);
    }

    async decide(approval: Approval, person: Person, decision: Decision, comment?: string): Promise<void> {
        const answer = await this.client.putWorkItem(approval.id, {
            approver: person.id,
            state: decision === 'approve' ? 'Finished' : 'Rejected',
            ...(comment ? { comment } : {}),
        });
        if (answer.status >= 200 && answer.status < 300) return;
        if (answer.status === 404) throw conflict('no_longer_pending', 'IdentityIQ no longer has this approval open; it was completed or withdrawn.');
        const action = decision === 'approve' ? 'approve the work item' : 'reject the work item';
        throw upstream('identityiq_failed', describeFailure(answer.status, action));
    }

    private memberIds(ownerId: string): Promise<string[]> {
        const cached = this.membersCache.get(ownerId);
        if (cached && cached.until > this.now()) return cached.memberIds;
        const memberIds = this.lookup(() => this.client.workgroupMemberIds(ownerId)).then((ids) => ids ?? []);
        this.membersCache.set(ownerId, { memberIds, until: this.now() + MEMBERS_CACHE_MS });
        // A failed look-up is not kept: the next poll asks again.
        memberIds.catch(() => this.membersCache.get(ownerId)?.memberIds === memberIds && this.membersCache.delete(ownerId));
        return memberIds;
    }

    /** In batches of IDS_PER_LOOKUP ids, under the look-up gate: a group of thousands costs a few round trips, not one per batch. */
    private async emailsOf(identityIds: string[]): Promise<Map<string, string>> {
        const asked = new Set(identityIds);
        const answers = await Promise.all(batchesOf(identityIds, IDS_PER_LOOKUP).map((batch) => this.lookup(() => this.client.queryIdentities(isIn('id', batch)))));
        const emails = new Map<string, string>();
        for (const row of answers.flat()) {
            const email = normalizeEmail(row.email ?? '');
            if (asked.has(row.id) && email) emails.set(row.id, email);
        }
        return emails;
    }
}

