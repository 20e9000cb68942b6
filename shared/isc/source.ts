import { IscConfig } from '../config';
import { normalizeEmail } from '../email';
import { badRequest, conflict, forbidden, upstream } from '../errors';
import { quoteFilterValue } from '../filterValue';
import { Logger } from '../log';
import { offsetPages, readInBatches } from '../paging';
import { Approval, ApprovalPage, ApprovalSource, Approver, Decision, Person, Reference } from '../model';
import { fromIscApproval } from './approvalJson';
import { describeIscFailure, IscClient } from './client';

/** ISC's largest page of approvals. */
const PAGE_SIZE = 250;
const MAX_PAGES = 1_000;
const IDS_PER_LOOKUP = 50;

/**
 * SailPoint Identity Security Cloud, v2025 generic approvals. The app's API client acts "on behalf of the
 * caller", so ISC records its own identity as the decider: the real approver's name and email go into the
 * comment ISC stores. ISC lists approvals in no documented order and cannot filter on change time
 * reliably, so every poll lists all pending approvals (`incremental` is false).
 */
export class IscSource implements ApprovalSource {
    readonly name = 'isc' as const;
    readonly incremental = false;
    readonly stepsAfterDecision = true;

    constructor(
        private readonly config: IscConfig,
        private readonly client: IscClient,
        private readonly log: Logger,
    ) {}

    isApprovalId(id: string): boolean {
        return this.config.idPattern.test(id);
    }

    listPending(): AsyncIterable<ApprovalPage> {
        const paging = {
            pageSize: PAGE_SIZE,
            maxPages: MAX_PAGES,
            onSmallerPages: (limit: number, offset: number) => this.log.warn('isc.list.smaller_pages', { offset, limit }),
            onItemTooLarge: (offset: number) => this.log.error('isc.list.item_too_large', { offset }),
            onTooManyPages: () => this.log.error('isc.list.too_many_pages', { pages: MAX_PAGES }),
        };
        return offsetPages(paging, async (offset, limit) => {
            const { items, total } = await this.client.listPending(offset, limit);
            const approvals: Approval[] = [];
            let skipped = 0;
            for (const item of items) {
                const approval = fromIscApproval(item);
                if (approval && !approval.completedState) approvals.push(approval);
                else if (!approval) {
                    skipped++;
                    this.log.warn('isc.approval.unreadable', { offset });
                }
            }
            return { page: { approvals, skipped }, last: items.length < limit || (total !== undefined && offset + items.length >= total) };
        });
    }

    async confirmPending(ids: string[]): Promise<{ pending: Approval[]; undetermined: string[] }> {
        const { found, undetermined } = await readInBatches(ids, IDS_PER_LOOKUP, async (batch) => {
            const { items } = await this.client.listPending(0, batch.length, batch);
            return items.flatMap((item) => fromIscApproval(item) ?? []).filter((approval) => !approval.completedState && batch.includes(approval.id));
        });
        return { pending: found, undetermined };
    }

    async getApproval(id: string): Promise<Approval | undefined> {
        const json = await this.client.getApproval(id);
        if (json === undefined) return undefined;
        const approval = fromIscApproval(json);
        if (!approval) throw upstream('source_unavailable', 'Identity Security Cloud answered with an approval the app could not read.');
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

    async findPersonByEmail(email: string): Promise<Person> {
        const rows = await this.client.findIdentities(`email eq ${quoteFilterValue(email)}`);
        const matches = rows.filter((row) => normalizeEmail(row.emailAddress ?? '') === email);
        if (matches.length === 0) throw forbidden('unknown_approver', `No Identity Security Cloud identity has the email ${email}.`);
        if (matches.length > 1) {
            throw forbidden('ambiguous_approver', `More than one Identity Security Cloud identity has the email ${email}; ask an ISC administrator to make it unique.`);
        }
        return { id: matches[0].id, name: matches[0].name ?? matches[0].id, email };
    }

    async isApprover(approval: Approval, person: Person): Promise<boolean> {
        return approval.approvers.some((approver) => approver.id === person.id || (approver.members ?? []).some((member) => member.id === person.id));
    }

    async decide(approval: Approval, person: Person, decision: Decision, comment?: string): Promise<void> {
        const action = decision === 'approve' ? 'approve' : 'reject';
        await this.expectDone(await this.client.act(approval.id, action, { comment: attributed(person, comment) }), `${action} the approval`);
    }

    async emailOf(person: Reference): Promise<string | undefined> {
        return normalizeEmail(person.email ?? (await this.emailsOf([person.id])).get(person.id) ?? '');
    }

    async comment(approval: Approval, person: Person, text: string): Promise<void> {
        await this.expectDone(await this.client.act(approval.id, 'comments', { comment: attributed(person, text) }), 'add the comment');
    }

    async reassign(approval: Approval, person: Person, to: Person, comment?: string): Promise<void> {
        // Reassign the caller's own assignment; when they approve through a group, the group's.
        const from = approval.approvers.find((approver) => approver.id === person.id) ?? approval.approvers.find((approver) => approver.members?.some((m) => m.id === person.id));
        const body = { reassignTo: to.id, reassignFrom: from?.id ?? person.id, comment: attributed(person, comment) };
        await this.expectDone(await this.client.act(approval.id, 'reassign', body), 'reassign the approval');
    }

    private async expectDone(answer: { status: number; body: string; headers: Record<string, string> }, action: string): Promise<void> {
        if (answer.status >= 200 && answer.status < 300) return;
        if (answer.status === 404) throw conflict('no_longer_pending', 'Identity Security Cloud no longer has this approval pending; it was completed or withdrawn.');
        if (answer.status === 400) throw badRequest('rejected_by_source', describeIscFailure(answer, action));
        throw upstream('isc_failed', describeIscFailure(answer, action));
    }

    private async emailsOf(identityIds: string[]): Promise<Map<string, string>> {
        const emails = new Map<string, string>();
        for (let start = 0; start < identityIds.length; start += IDS_PER_LOOKUP) {
            const batch = identityIds.slice(start, start + IDS_PER_LOOKUP);
            for (const row of await this.client.findIdentities(`id in (${batch.map(quoteFilterValue).join(',')})`)) {
                if (batch.includes(row.id) && row.emailAddress) emails.set(row.id, row.emailAddress);
            }
        }
        return emails;
    }
}

/** ISC records the API client as the decider, so the comment carries who really acted. */
export function attributed(person: Person, comment?: string): string {
    const who = `via Moveworks, on behalf of ${person.name} <${person.email}>`;
    return comment ? `${comment} (${who})` : `(${who})`;
}
