import { RestError, TableEntity, TableEntityResult } from '@azure/data-tables';
import { z } from 'zod';
import { ApprovalCard, Decision, Recommendation, RECOMMENDATION_VERDICTS, SourceName } from '../model';
import { ApprovalRecord, ApprovalStatus, NotifiedRecipient } from './approvalRecord';
import { MAX_LIST_CHUNKS, readList, writeList } from './listColumns';
import { indexFingerprint } from './personIndex';

/**
 * One approval as a table entity and back: its columns, its lists (see listColumns.ts), its notified
 * entries grouped by send, and the `indexedFor` column that says the person index covers it.
 */

/**
 * Notified entries are stored grouped by send (one approver key and time, many emails), so a group's
 * thousand members do not each repeat the approver key. Rows written before this keep one object per email.
 */
type NotifiedGroup = { k: string; at: number; r?: true; s?: number; e: string[] };

function toNotifiedGroups(notified: NotifiedRecipient[]): NotifiedGroup[] {
    const groups = new Map<string, NotifiedGroup>();
    for (const entry of notified) {
        const key = JSON.stringify([entry.approverKey, entry.at, entry.reminder === true, entry.step ?? 0]);
        let group = groups.get(key);
        if (!group) groups.set(key, (group = { k: entry.approverKey, at: entry.at, ...(entry.reminder ? { r: true as const } : {}), ...(entry.step ? { s: entry.step } : {}), e: [] }));
        group.e.push(entry.email);
    }
    return [...groups.values()];
}

export function fromNotifiedGroups(stored: unknown[]): NotifiedRecipient[] {
    return stored.flatMap((item) => {
        if ('email' in (item as object)) return [item as NotifiedRecipient];
        const group = item as NotifiedGroup;
        return group.e.map((email) => ({ email, approverKey: group.k, at: group.at, ...(group.r ? { reminder: true } : {}), ...(group.s ? { step: group.s } : {}) }));
    });
}

export const asNumber = (value: unknown) => (value === undefined || value === null ? undefined : Number(value));
export const asString = (value: unknown) => (value === undefined || value === null ? undefined : String(value));

/** Rows a pending list shows, and so the rows the person index covers. */
export const isListed = (record: Pick<ApprovalRecord, 'status'>) => record.status === 'open' || record.status === 'deciding';

/**
 * The row's `indexedFor` column: claimed only when the record carries the fingerprint of its own
 * recipients, which withIndex sets once their entries are written. A write that changes the recipients
 * without the store indexing them (a batched write) thus leaves the row unindexed, for the poll to mend.
 */
function indexedColumn(record: ApprovalRecord): string | undefined {
    return isListed(record) && record.indexedFor === indexFingerprint(record.recipients) ? record.indexedFor : undefined;
}

/** The record as written once its entries are: a finished row claims no entries, so reopening it writes them again. */
export const withIndex = (record: ApprovalRecord): ApprovalRecord => ({ ...record, indexedFor: isListed(record) ? indexFingerprint(record.recipients) : undefined });

/** The write lists people the stored row was not indexed for (new recipients, or a reopened row). */
export const needsIndex = (record: Pick<ApprovalRecord, 'status' | 'recipients' | 'indexedFor'>) => isListed(record) && record.indexedFor !== indexFingerprint(record.recipients);

export function indexEntriesOf(records: Pick<ApprovalRecord, 'source' | 'id' | 'status' | 'recipients' | 'indexedFor'>[]) {
    return records.filter(isListed).flatMap((record) => record.recipients.map((email) => ({ email, source: record.source, id: record.id, fingerprint: record.indexedFor! })));
}

export function toEntity(record: ApprovalRecord): TableEntity {
    const entity: TableEntity = {
        partitionKey: record.source,
        rowKey: record.id,
        kind: record.kind,
        status: record.status,
        approverKey: record.approverKey,
        approverNames: record.approverNames,
        changedAt: { value: String(record.changedAt), type: 'Int64' },
        message: record.message,
        card: record.card === undefined ? undefined : JSON.stringify(record.card),
        summary: record.summary,
        dueAt: record.dueAt === undefined ? undefined : { value: String(record.dueAt), type: 'Int64' },
        recommendation: record.recommendation === undefined ? undefined : JSON.stringify(record.recommendation),
        remindersSent: record.remindersSent,
        sendLeaseUntil: { value: String(record.sendLeaseUntil), type: 'Int64' },
        leaseHolder: record.leaseHolder,
        decision: record.decision,
        decidedBy: record.decidedBy,
        decidedAt: record.decidedAt === undefined ? undefined : { value: String(record.decidedAt), type: 'Int64' },
        decidingSince: record.decidingSince === undefined ? undefined : { value: String(record.decidingSince), type: 'Int64' },
        step: record.step,
        sourceStep: record.sourceStep,
        closedReason: record.closedReason,
        createdAt: { value: String(record.createdAt), type: 'Int64' },
        updatedAt: { value: String(record.updatedAt), type: 'Int64' },
        indexedFor: indexedColumn(record),
    };
    writeList(entity, 'recipients', record.recipients);
    writeList(entity, 'notified', toNotifiedGroups(record.notified));
    writeList(entity, 'refused', record.refused);
    writeList(entity, 'reminderOwed', record.reminderOwed);
    return entity;
}

export function fromEntity(entity: TableEntityResult<Record<string, unknown>>): ApprovalRecord {
    return {
        source: entity.partitionKey as SourceName,
        id: entity.rowKey as string,
        kind: asString(entity.kind),
        status: entity.status as ApprovalStatus,
        approverKey: String(entity.approverKey),
        approverNames: String(entity.approverNames ?? ''),
        changedAt: Number(entity.changedAt),
        message: String(entity.message ?? ''),
        card: readCard(entity.card),
        recipients: readList(entity, 'recipients') as string[],
        notified: fromNotifiedGroups(readList(entity, 'notified')),
        refused: readList(entity, 'refused') as string[],
        summary: String(entity.summary ?? ''),
        dueAt: asNumber(entity.dueAt),
        recommendation: readRecommendation(entity.recommendation),
        remindersSent: Number(entity.remindersSent ?? 0),
        reminderOwed: readList(entity, 'reminderOwed') as string[],
        sendLeaseUntil: Number(entity.sendLeaseUntil ?? 0),
        leaseHolder: asString(entity.leaseHolder),
        decision: asString(entity.decision) as Decision | undefined,
        decidedBy: asString(entity.decidedBy),
        decidedAt: asNumber(entity.decidedAt),
        decidingSince: asNumber(entity.decidingSince),
        step: Number(entity.step ?? 0),
        sourceStep: asNumber(entity.sourceStep),
        closedReason: asString(entity.closedReason),
        createdAt: Number(entity.createdAt),
        updatedAt: Number(entity.updatedAt),
        indexedFor: asString(entity.indexedFor),
        etag: entity.etag,
    };
}

/** The stored card, written by this app; an unreadable one is none, and the listener is sent the message alone. */
function readCard(column: unknown): ApprovalCard | undefined {
    if (typeof column !== 'string') return undefined;
    try {
        const card = JSON.parse(column) as ApprovalCard;
        return typeof card === 'object' && card !== null && typeof card.title === 'string' ? card : undefined;
    } catch {
        return undefined;
    }
}

const storedRecommendation = z.object({ verdict: z.enum(RECOMMENDATION_VERDICTS), reasons: z.array(z.string()) });

/** The stored recommendation; a column the app cannot read (edited by hand, or from another version) is none. */
export function readRecommendation(column: unknown): Recommendation | undefined {
    if (typeof column !== 'string') return undefined;
    try {
        const parsed = storedRecommendation.safeParse(JSON.parse(column));
        return parsed.success ? parsed.data : undefined;
    } catch {
        return undefined;
    }
}

/**
 * The columns of an open row, from the entity every record makes, so a column added there is listed
 * too: the row's own names, every chunk a list may take, and not the texts.
 */
export const OPEN_ROW_COLUMNS = (() => {
    const texts = new Set(['message', 'card', 'summary', 'approverNames']);
    const lists = ['recipients', 'notified', 'refused', 'reminderOwed'];
    const names = Object.keys(toEntity({ notified: [], recipients: [], refused: [], reminderOwed: [] } as unknown as ApprovalRecord)).filter((name) => !texts.has(name));
    const chunks = lists.flatMap((list) => Array.from({ length: MAX_LIST_CHUNKS }, (_, chunk) => `${list}Gz${chunk}`));
    return [...names.map((name) => (name === 'partitionKey' ? 'PartitionKey' : name === 'rowKey' ? 'RowKey' : name)), ...chunks];
})();

export const isStatus = (error: unknown, ...statuses: number[]) => error instanceof RestError && statuses.includes(error.statusCode ?? 0);

/** The table refused this one row (a bad key, a value or entity too large), as opposed to being unreachable. */
export const isRowRefused = (error: unknown) => isStatus(error, 400, 413);
