import { PendingList } from '../contract';
import { ApprovalSource, SourceName } from '../model';
import { ApprovalStore } from '../store/approvalStore';

/**
 * The approvals waiting on one person that the app notified, newest first: the person's own index
 * entries, each checked against its row, so the cost follows their approvals and not everyone's.
 */
export async function pendingFor(
    { store, sources, now }: { store: ApprovalStore; sources: ApprovalSource[]; now: () => number },
    email: string,
    limit: number,
    offset: number,
): Promise<PendingList> {
    const order = sources.map((source) => source.name);
    const mine = await store.openFor(email, order, now());
    mine.sort((a, b) => b.changedAt - a.changedAt || order.indexOf(a.source) - order.indexOf(b.source));
    // Texts only for the page shown; a row removed since it was checked is left out of the page.
    const described = await Promise.all(
        mine.slice(offset, offset + limit).map(async ({ source, id }) => {
            const texts = await store.listedTexts(source, id);
            if (!texts) return [];
            const notifiedAt = Math.max(0, ...texts.notified.filter((sent) => sent.email === email).map((sent) => sent.at));
            return [
                {
                    approvalId: id,
                    source,
                    summary: texts.summary,
                    approvers: texts.approverNames,
                    ...(notifiedAt > 0 ? { notifiedAt } : {}),
                    ...(texts.dueAt !== undefined ? { dueAt: texts.dueAt } : {}),
                    ...(texts.recommendation ? { recommendation: texts.recommendation.verdict } : {}),
                },
            ];
        }),
    );
    return { approvals: described.flat(), total: mine.length, ...(offset + limit < mine.length ? { nextOffset: offset + limit } : {}) };
}

/** Which source a notified approval belongs to, from the table; undefined when the app never notified it. */
export async function sourceOf({ store, sources }: { store: ApprovalStore; sources: ApprovalSource[] }, approvalId: string): Promise<SourceName | undefined> {
    for (const source of sources) {
        if (source.isApprovalId(approvalId) && (await store.get(source.name, approvalId))) return source.name;
    }
    return undefined;
}
