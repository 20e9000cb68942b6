import { odata, RestError, TableClient, TableEntity, TableEntityResult } from '@azure/data-tables';
import { gunzipSync, gzipSync } from 'node:zlib';
import { mapLimited } from '../platform/concurrency';
import { Config } from '../config';
import { currentDeadline } from '../platform/http';
import { Decision, SourceName } from '../model';
import { toStorageCredential } from './credential';
import { indexFingerprint, PersonIndex, StoredEntry } from './personIndex';
import { writtenEtags } from './transactionAnswer';

/**
 * Azure Table Storage state: one row per approval (PartitionKey = source, RowKey = approval id) and one
 * cursor row per source. Every change is a conditional write on the row's ETag, so of two writers racing
 * (two polls, twenty clicks) exactly one wins and the other learns it lost.
 */

export type ApprovalStatus = 'open' | 'deciding' | 'decided' | 'closed';

export interface NotifiedRecipient {
    email: string;
    /** The approvers the notification was for (see approverKey). */
    approverKey: string;
    at: number;
    reminder?: boolean;
    /** The serial step it was sent for (see ApprovalRecord.step); absent means 0. */
    step?: number;
}

export interface ApprovalRecord {
    source: SourceName;
    id: string;
    /** The source's kind of approval (see Approval.kind). */
    kind?: string;
    status: ApprovalStatus;
    /** The current approvers (see approverKey), and their names for messages. */
    approverKey: string;
    approverNames: string;
    /** Source clock: when the source last changed the approval. */
    changedAt: number;
    /** The message for the current approvers' recipients. */
    message: string;
    /** Everyone who should hold a notification for the current approvers. */
    recipients: string[];
    /** Everyone notified so far, under any approvers. */
    notified: NotifiedRecipient[];
    /** Recipients Moveworks refused as unknown; sent to again only after POST /api/refused/retry. */
    refused: string[];
    /** The serial step the row's approvers belong to (0 first); who was notified for an earlier step is owed a message again. */
    step: number;
    /** The source's own step number for it (ISC `serialStep`), when it says: a higher one listed is the next step. */
    sourceStep?: number;
    /** "Amy Cox's request for IT Database Manager", for lists and answers. */
    summary: string;
    /** When the source expires the approval, if it says (source clock). */
    dueAt?: number;
    remindersSent: number;
    /** Recipients owed the current reminder. */
    reminderOwed: string[];
    /** A sender holds the row until then (local clock); a lapsed lease may be taken over. */
    sendLeaseUntil: number;
    /** Which poll holds the lease. */
    leaseHolder?: string;
    decision?: Decision;
    decidedBy?: string;
    decidedAt?: number;
    /** While status is `deciding`: when the claim was taken (local clock). */
    decidingSince?: number;
    closedReason?: string;
    createdAt: number;
    updatedAt: number;
    /** The recipients the person index holds entries for, as a fingerprint (see personIndex.ts); the store alone sets it. */
    indexedFor?: string;
    etag?: string;
}

export interface SyncCursor {
    source: SourceName;
    /** Source clock: the latest created/modified value seen. */
    watermark?: number;
    /** Local clock: when the last full sweep finished. */
    lastFullSweepAt?: number;
    /** A sweep cut short: when it started (local clock) and where the next poll resumes it (see ApprovalPage.resumeAt). */
    sweep?: { startedAt: number; resumeAt: string };
    etag?: string;
}

/** Notifications sent for one serial step (under any approvers of it: a reassignment is the same step). */
export function notifiedInStep(notified: NotifiedRecipient[], step: number): NotifiedRecipient[] {
    return notified.filter((entry) => (entry.step ?? 0) === step);
}

/**
 * An open row as a poll lists it: everything but the texts of its message, which a poll needs only for
 * the few rows it writes or sends (see listOpenRows, and hasTexts to tell the two apart).
 */
export type OpenRow = Omit<ApprovalRecord, 'message' | 'summary' | 'approverNames'>;

export const hasTexts = (row: OpenRow | ApprovalRecord): row is ApprovalRecord => 'message' in row;

/** Recipients still owed a notification for the current approvers. */
export function pendingRecipients(record: Pick<ApprovalRecord, 'recipients' | 'notified' | 'refused' | 'reminderOwed' | 'step'>): string[] {
    const done = new Set([...notifiedInStep(record.notified, record.step).map((entry) => entry.email), ...record.refused]);
    return [...new Set([...record.recipients.filter((email) => !done.has(email)), ...record.reminderOwed])];
}

const CURSOR_PARTITION = 'cursor';

/**
 * An entity group transaction holds at most 100 operations on one partition and 4 MiB in all; the size
 * is estimated from the entities with room left for the multipart envelope around each.
 */
const MAX_ROWS_PER_TRANSACTION = 100;
const MAX_TRANSACTION_BYTES = 3.5 * 2 ** 20;
const ENVELOPE_BYTES_PER_ROW = 1024;
/**
 * Transactions of gathered changes written at once: while they are in flight the next changes gather, so
 * a quiet moment writes a change at once and a busy one writes a hundred in one request.
 */
const TRANSACTIONS_IN_FLIGHT = 2;
/** Row writes at once when a transaction's rows are written one by one. */
const ROW_WRITES_IN_FLIGHT = 16;

/**
 * Azure Tables caps a string property at 64 KiB (32 K UTF-16 characters), a binary one at 64 KiB, and an
 * entity at 1 MiB and 252 properties. A list column is kept as plain JSON while it is small; a larger one
 * (a group of a thousand members) is gzipped, which shrinks a list of one domain's addresses several
 * times over, and split into binary chunks `{name}Gz0`, `{name}Gz1`, ...
 */
const MAX_INLINE_LIST_CHARS = 30_000;
const LIST_CHUNK_BYTES = 60_000;

function writeList(entity: Entity, name: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json.length <= MAX_INLINE_LIST_CHARS) {
        entity[name] = json;
        return;
    }
    const packed = gzipSync(json);
    for (let start = 0, chunk = 0; start < packed.length; start += LIST_CHUNK_BYTES, chunk++) {
        entity[`${name}Gz${chunk}`] = new Uint8Array(packed.subarray(start, start + LIST_CHUNK_BYTES));
    }
}

/** An entity holds at most 1 MiB, so no list takes more chunks than this. */
const MAX_LIST_CHUNKS = Math.ceil(2 ** 20 / LIST_CHUNK_BYTES);

/** Every column a list may be gzipped into, for a read that selects it. */
const listChunkColumns = (name: string) => Array.from({ length: MAX_LIST_CHUNKS }, (_, chunk) => `${name}Gz${chunk}`);

/** Index entries written by one call to indexUnindexed (a poll), so rows written before the index heal over a few polls, not one long one. */
const MAX_ENTRIES_INDEXED_AT_ONCE = 20_000;

/** A list column; a column that a query selects and the row lacks may come back as null. */
function readList(entity: Record<string, unknown>, name: string): unknown[] {
    if (entity[`${name}Gz0`] == null) return JSON.parse(String(entity[name] ?? '[]')) as unknown[];
    const chunks: Buffer[] = [];
    for (let chunk = 0; entity[`${name}Gz${chunk}`] != null; chunk++) chunks.push(asBytes(entity[`${name}Gz${chunk}`]));
    return JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as unknown[];
}

/** Binary properties arrive as base64 text when type conversion is off, as bytes otherwise. */
const asBytes = (value: unknown) => (typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value as Uint8Array));

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

function fromNotifiedGroups(stored: unknown[]): NotifiedRecipient[] {
    return stored.flatMap((item) => {
        if ('email' in (item as object)) return [item as NotifiedRecipient];
        const group = item as NotifiedGroup;
        return group.e.map((email) => ({ email, approverKey: group.k, at: group.at, ...(group.r ? { reminder: true } : {}), ...(group.s ? { step: group.s } : {}) }));
    });
}

type Entity = TableEntity;

/**
 * About the bytes an entity takes in a request body: binary values travel as base64, text as UTF-8 (its
 * JSON escapes are left to the margin; a transaction the table still finds too large is written row by row).
 */
function entityBytes(entity: Entity): number {
    let bytes = ENVELOPE_BYTES_PER_ROW;
    for (const name in entity) {
        const value = entity[name];
        if (value instanceof Uint8Array) bytes += name.length + Math.ceil(value.byteLength / 3) * 4;
        else if (typeof value === 'string') bytes += name.length + Buffer.byteLength(value);
        else if (value !== undefined) bytes += name.length + 64;
    }
    return bytes;
}

/** Consecutive groups of items that each fit in one transaction, the first of at most `firstRows`. */
function transactionGroups<T>(items: T[], bytesOf: (item: T) => number, firstRows = MAX_ROWS_PER_TRANSACTION): T[][] {
    const groups: T[][] = [];
    let bytes = 0;
    for (const item of items) {
        const size = bytesOf(item);
        const last = groups[groups.length - 1];
        const rows = groups.length === 1 ? Math.min(firstRows, MAX_ROWS_PER_TRANSACTION) : MAX_ROWS_PER_TRANSACTION;
        if (last && last.length < rows && bytes + size <= MAX_TRANSACTION_BYTES) {
            last.push(item);
            bytes += size;
        } else {
            groups.push([item]);
            bytes = size;
        }
    }
    return groups;
}

type Change = (record: ApprovalRecord) => ApprovalRecord | undefined;

/** A change waiting for the next transaction (see modifyBatched). */
interface GatheredChange {
    record: ApprovalRecord;
    change: Change;
    settle: (outcome: Promise<ApprovalRecord | undefined>) => void;
}

const asNumber = (value: unknown) => (value === undefined || value === null ? undefined : Number(value));
const asString = (value: unknown) => (value === undefined || value === null ? undefined : String(value));

/** Rows a pending list shows, and so the rows the person index covers. */
const isListed = (record: Pick<ApprovalRecord, 'status'>) => record.status === 'open' || record.status === 'deciding';

/**
 * The row's `indexedFor` column: claimed only when the record carries the fingerprint of its own
 * recipients, which withIndex sets once their entries are written. A write that changes the recipients
 * without the store indexing them (a batched write) thus leaves the row unindexed, for the poll to mend.
 */
function indexedColumn(record: ApprovalRecord): string | undefined {
    return isListed(record) && record.indexedFor === indexFingerprint(record.recipients) ? record.indexedFor : undefined;
}

/** The record as written once its entries are: a finished row claims no entries, so reopening it writes them again. */
const withIndex = (record: ApprovalRecord): ApprovalRecord => ({ ...record, indexedFor: isListed(record) ? indexFingerprint(record.recipients) : undefined });

/** The write lists people the stored row was not indexed for (new recipients, or a reopened row). */
const needsIndex = (record: Pick<ApprovalRecord, 'status' | 'recipients' | 'indexedFor'>) => isListed(record) && record.indexedFor !== indexFingerprint(record.recipients);

function indexEntriesOf(records: Pick<ApprovalRecord, 'source' | 'id' | 'status' | 'recipients' | 'indexedFor'>[]) {
    return records.filter(isListed).flatMap((record) => record.recipients.map((email) => ({ email, source: record.source, id: record.id, fingerprint: record.indexedFor! })));
}

function toEntity(record: ApprovalRecord): Entity {
    const entity: Entity = {
        partitionKey: record.source,
        rowKey: record.id,
        kind: record.kind,
        status: record.status,
        approverKey: record.approverKey,
        approverNames: record.approverNames,
        changedAt: { value: String(record.changedAt), type: 'Int64' },
        message: record.message,
        summary: record.summary,
        dueAt: record.dueAt === undefined ? undefined : { value: String(record.dueAt), type: 'Int64' },
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

function fromEntity(entity: TableEntityResult<Record<string, unknown>>): ApprovalRecord {
    return {
        source: entity.partitionKey as SourceName,
        id: entity.rowKey as string,
        kind: asString(entity.kind),
        status: entity.status as ApprovalStatus,
        approverKey: String(entity.approverKey),
        approverNames: String(entity.approverNames ?? ''),
        changedAt: Number(entity.changedAt),
        message: String(entity.message ?? ''),
        recipients: readList(entity, 'recipients') as string[],
        notified: fromNotifiedGroups(readList(entity, 'notified')),
        refused: readList(entity, 'refused') as string[],
        summary: String(entity.summary ?? ''),
        dueAt: asNumber(entity.dueAt),
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

/**
 * The columns of an open row, from the entity every record makes, so a column added there is listed
 * too: the row's own names, every chunk a list may take, and not the texts.
 */
const OPEN_ROW_COLUMNS = (() => {
    const texts = new Set(['message', 'summary', 'approverNames']);
    const lists = ['recipients', 'notified', 'refused', 'reminderOwed'];
    const names = Object.keys(toEntity({ notified: [], recipients: [], refused: [], reminderOwed: [] } as unknown as ApprovalRecord)).filter((name) => !texts.has(name));
    const chunks = lists.flatMap((list) => Array.from({ length: MAX_LIST_CHUNKS }, (_, chunk) => `${list}Gz${chunk}`));
    return [...names.map((name) => (name === 'partitionKey' ? 'PartitionKey' : name === 'rowKey' ? 'RowKey' : name)), ...chunks];
})();

const isStatus = (error: unknown, ...statuses: number[]) => error instanceof RestError && statuses.includes(error.statusCode ?? 0);

/** The table refused this one row (a bad key, a value or entity too large), as opposed to being unreachable. */
export const isRowRefused = (error: unknown) => isStatus(error, 400, 413);

export class ApprovalStore {
    private ready?: Promise<void>;
    private readonly gathered: GatheredChange[] = [];
    private transactionsInFlight = 0;

    /** Table operations issued, for the benchmark's idle-poll figure. */
    operations = 0;

    private readonly index: PersonIndex;

    constructor(private readonly table: TableClient) {
        this.index = new PersonIndex(table, () => this.operations++);
    }

    static fromSettings(storage: Config['storage'], attemptTimeoutMs: number): ApprovalStore {
        return new ApprovalStore(openTable(storage, storage.tableName, attemptTimeoutMs));
    }

    /** Where the table lives, for health and tests. */
    get tableUrl(): string {
        return this.table.url;
    }

    async get(source: SourceName, id: string): Promise<ApprovalRecord | undefined> {
        await this.ensureTable();
        this.operations++;
        try {
            return fromEntity(await this.table.getEntity(source, id, { disableTypeConversion: true }).then(unwrapTyped));
        } catch (error) {
            if (isStatus(error, 404)) return undefined;
            throw error;
        }
    }

    /** Inserts a new row; answers undefined when the row already exists (another writer was first). */
    async insert(record: ApprovalRecord): Promise<ApprovalRecord | undefined> {
        await this.ensureTable();
        const indexed = withIndex(record);
        await this.index.write(indexEntriesOf([indexed]));
        return this.createRow(indexed);
    }

    /** The row alone, its index entries written already. */
    private async createRow(record: ApprovalRecord): Promise<ApprovalRecord | undefined> {
        this.operations++;
        try {
            const { etag } = await this.table.createEntity(toEntity(record));
            return { ...record, etag };
        } catch (error) {
            if (isStatus(error, 409)) return undefined;
            throw error;
        }
    }

    /**
     * Inserts new rows of one source, up to 100 to a transaction (a table request per hundred rows rather
     * than per row), and answers each transaction's outcome as soon as it is known, so its rows can be
     * sent while the next ones are written. A transaction fails whole when one row exists already (another
     * poll was first, or the row was decided or closed) or one row is refused; its rows are then inserted
     * one by one. Answers the rows inserted, the ids that existed already, and the rows the table refused
     * (see isRowRefused). A caller that sends what it inserts keeps the first transaction to what it sends
     * at once (`firstRows`), so the first sends wait for a small write rather than a hundred-row one.
     */
    async *insertMany(
        records: ApprovalRecord[],
        firstRows = MAX_ROWS_PER_TRANSACTION,
    ): AsyncIterable<{ inserted: ApprovalRecord[]; existing: string[]; refused: { id: string; error: unknown }[] }> {
        await this.ensureTable();
        const indexed = records.map(withIndex);
        // Every row's entries at once, before any row: one round of index transactions rather than one per group.
        await this.index.write(indexEntriesOf(indexed));
        const entities = indexed.map((record) => ({ record, entity: toEntity(record) }));
        for (const group of transactionGroups(entities, ({ entity }) => entityBytes(entity), firstRows)) {
            const result = { inserted: [] as ApprovalRecord[], existing: [] as string[], refused: [] as { id: string; error: unknown }[] };
            this.operations++;
            try {
                const answer = await this.table.submitTransaction(group.map(({ entity }) => ['create', entity]));
                const etags = writtenEtags(answer, group.map(({ record }) => record.id));
                result.inserted.push(...group.map(({ record }, index) => ({ ...record, etag: etags[index] })));
            } catch {
                // Row by row, several at once (two polls at once meet here), the results kept in the rows' order:
                // after a refusal (a row exists or is refused), and after a timeout or a 5xx too, when the
                // transaction may or may not have been written.
                const outcomes = await mapLimited(group, ROW_WRITES_IN_FLIGHT, async ({ record }) => {
                    try {
                        return { record, inserted: (await this.createRow(record)) ?? (await this.writtenByUs(record)) };
                    } catch (rowError) {
                        if (!isRowRefused(rowError)) throw rowError;
                        return { record, refused: rowError };
                    }
                });
                for (const { record, inserted, refused } of outcomes) {
                    if (inserted) result.inserted.push(inserted);
                    else if (refused) result.refused.push({ id: record.id, error: refused });
                    else result.existing.push(record.id);
                }
            }
            yield result;
        }
    }

    /**
     * The row a new record's insert found already there, when it is the one this writer inserted (the same
     * lease holder and nothing written since): a transaction whose answer was lost had been written after all.
     */
    private async writtenByUs(record: ApprovalRecord): Promise<ApprovalRecord | undefined> {
        if (record.leaseHolder === undefined) return undefined;
        const stored = await this.get(record.source, record.id);
        return stored?.leaseHolder === record.leaseHolder && stored.updatedAt === record.updatedAt ? stored : undefined;
    }

    /** Replaces the row if nobody changed it since it was read; answers undefined when someone did. */
    async update(record: ApprovalRecord): Promise<ApprovalRecord | undefined> {
        await this.ensureTable();
        const indexed = withIndex(record);
        // Entries first: a row that says it is indexed always is. An unconditional write cannot know what it replaces.
        if (needsIndex(record) || record.etag === undefined) await this.index.write(indexEntriesOf([indexed]));
        this.operations++;
        try {
            const { etag } = await this.table.updateEntity(toEntity(indexed), 'Replace', { etag: record.etag ?? '*' });
            return { ...indexed, etag };
        } catch (error) {
            if (isStatus(error, 412, 404)) return undefined;
            throw error;
        }
    }

    /**
     * Applies `change` to the row and writes it conditionally, re-reading and re-applying when another
     * writer got in first. `change` answers undefined to give up (the row no longer allows the change).
     */
    async modify(
        current: ApprovalRecord,
        change: Change,
        attempts = 5,
    ): Promise<ApprovalRecord | undefined> {
        let record: ApprovalRecord | undefined = current;
        for (let attempt = 0; attempt < attempts && record; attempt++) {
            const changed = change(record);
            if (!changed) return undefined;
            const saved = await this.update(changed);
            if (saved) return saved;
            record = await this.get(current.source, current.id);
        }
        return undefined;
    }

    /**
     * As modify, for a writer that can let its change wait for others: changes asked for while earlier
     * ones are being written gather into entity group transactions (one partition, distinct rows), each
     * row still conditional on the ETag it was read with. When a transaction fails, for whatever reason, its
     * rows go through modify one by one: a changed row is re-read and the change re-applied, a refused one
     * fails alone. A change must therefore hold when applied to a row that already has it (a timed-out
     * transaction may have been written).
     */
    modifyBatched(current: ApprovalRecord, change: Change): Promise<ApprovalRecord | undefined> {
        return new Promise((resolve, reject) => {
            this.gathered.push({ record: current, change, settle: (outcome) => void outcome.then(resolve, reject) });
            this.writeGathered();
        });
    }

    private writeGathered(): void {
        while (this.transactionsInFlight < TRANSACTIONS_IN_FLIGHT && this.gathered.length > 0) {
            this.transactionsInFlight++;
            void this.writeTogether(this.takeGathered()).finally(() => {
                this.transactionsInFlight--;
                this.writeGathered();
            });
        }
    }

    /** The oldest gathered changes of one partition that fit one transaction; a second change to a row waits for the next. */
    private takeGathered(): { gathered: GatheredChange; changed: ApprovalRecord; entity: Entity }[] {
        const taken: { gathered: GatheredChange; changed: ApprovalRecord; entity: Entity }[] = [];
        const rows = new Set<string>();
        const partition = this.gathered[0].record.source;
        let bytes = 0;
        for (let index = 0; index < this.gathered.length && taken.length < MAX_ROWS_PER_TRANSACTION; ) {
            const gathered = this.gathered[index];
            if (gathered.record.source !== partition || rows.has(gathered.record.id)) {
                index++;
                continue;
            }
            let prepared: { changed: ApprovalRecord; entity: Entity } | undefined;
            try {
                const next = gathered.change(gathered.record);
                prepared = next && { changed: next, entity: toEntity(next) };
            } catch (error) {
                // One change that throws fails alone: left at the head, it would hold every later one back.
                this.gathered.splice(index, 1);
                gathered.settle(Promise.reject(error));
                continue;
            }
            if (!prepared) {
                this.gathered.splice(index, 1);
                gathered.settle(Promise.resolve(undefined));
                continue;
            }
            const { changed, entity } = prepared;
            const size = entityBytes(entity);
            if (taken.length > 0 && bytes + size > MAX_TRANSACTION_BYTES) break;
            this.gathered.splice(index, 1);
            rows.add(gathered.record.id);
            taken.push({ gathered, changed, entity });
            bytes += size;
        }
        return taken;
    }

    private async writeTogether(taken: { gathered: GatheredChange; changed: ApprovalRecord; entity: Entity }[]): Promise<void> {
        if (taken.length === 0) return;
        const oneByOne = () =>
            mapLimited(taken, ROW_WRITES_IN_FLIGHT, async ({ gathered }) => {
                const outcome = this.modify(gathered.record, gathered.change);
                gathered.settle(outcome);
                await outcome.catch(() => undefined);
            });
        if (taken.length === 1) return void (await oneByOne());
        try {
            await this.ensureTable();
            this.operations++;
            const answer = await this.table.submitTransaction(taken.map(({ changed, entity }) => ['update', entity, 'Replace', { etag: changed.etag ?? '*' }]));
            const etags = writtenEtags(answer, taken.map(({ changed }) => changed.id));
            taken.forEach(({ gathered, changed }, index) => gathered.settle(Promise.resolve({ ...changed, etag: etags[index] })));
        } catch {
            // Nothing of a refused transaction was written (412, 404, 400, 413), and a timed-out or 5xx one
            // may or may not have been: either way its rows go through modify one by one, each re-read and its
            // change re-applied where the transaction did write it, so a slow moment costs row writes, not
            // the record of a hundred messages sent (which the next poll would send again).
            await oneByOne();
        }
    }

    listOpen(source: SourceName): AsyncIterable<ApprovalRecord> {
        return this.query(odata`PartitionKey eq ${source} and (status eq 'open' or status eq 'deciding')`);
    }

    /**
     * The open rows without their texts: a poll reads every open row and writes or sends few of them, and
     * the texts are most of a row, so leaving them out keeps a sweep of many rows small to read and hold.
     */
    async *listOpenRows(source: SourceName): AsyncIterable<OpenRow> {
        for await (const record of this.query(odata`PartitionKey eq ${source} and (status eq 'open' or status eq 'deciding')`, OPEN_ROW_COLUMNS)) {
            const { message, summary, approverNames, ...row } = record;
            yield row;
        }
    }

    /** Removes approvals decided or closed before `cutoff` (local clock); answers how many. */
    async removeFinishedBefore(source: SourceName, cutoff: number): Promise<number> {
        let removed = 0;
        for await (const record of this.query(`PartitionKey eq '${source}' and (status eq 'decided' or status eq 'closed') and updatedAt lt ${Math.floor(cutoff)}L`)) {
            await this.ensureTable();
            this.operations++;
            const deleted = await this.table.deleteEntity(record.source, record.id, { etag: record.etag }).then(
                () => true,
                (error: unknown) => {
                    if (!isStatus(error, 404, 412)) throw error;
                    return false;
                },
            );
            // Everyone the row may ever have been indexed for: its recipients now, and those notified or refused under earlier approvers.
            if (deleted) await this.index.removeFor([...record.recipients, ...record.notified.map((entry) => entry.email), ...record.refused], record.source, record.id, Date.now());
            removed++;
        }
        return removed;
    }

    /**
     * Writes the index entries of open rows that have none for their recipients (rows written before the
     * person index, or by a batched write that changed recipients), then marks each row indexed if it is
     * still as listed, a bounded number a call. Answers those rows with their new ETags; a row changed
     * meanwhile was indexed by that write, or is left to the next call.
     */
    async indexUnindexed(rows: OpenRow[]): Promise<OpenRow[]> {
        const unindexed: OpenRow[] = [];
        let entries = 0;
        for (const row of rows) {
            if (entries >= MAX_ENTRIES_INDEXED_AT_ONCE) break;
            if (!needsIndex(row) || row.etag === undefined) continue;
            unindexed.push({ ...row, indexedFor: indexFingerprint(row.recipients) });
            entries += row.recipients.length;
        }
        if (unindexed.length === 0) return [];
        await this.ensureTable();
        await this.index.write(indexEntriesOf(unindexed));
        const marked = await mapLimited(unindexed, ROW_WRITES_IN_FLIGHT, async (row) => {
            this.operations++;
            try {
                const { etag } = await this.table.updateEntity({ partitionKey: row.source, rowKey: row.id, indexedFor: row.indexedFor }, 'Merge', { etag: row.etag });
                return { ...row, etag };
            } catch (error) {
                if (isStatus(error, 412, 404)) return undefined;
                throw error;
            }
        });
        return marked.filter((row) => row !== undefined);
    }

    /**
     * The open approvals of `sources` that list `email`, found through the person's index entries and each
     * checked against its row, reading a few columns of it. Entries no row backs (a write that died
     * between its entries and its row, a reassignment, a finished approval) are left out, and removed
     * once old enough: that is housekeeping, so a failure to remove leaves them for the next read.
     */
    async openFor(email: string, sources: SourceName[], now: number): Promise<{ source: SourceName; id: string; changedAt: number }[]> {
        await this.ensureTable();
        const entries = (await this.index.entriesFor(email)).filter((entry) => sources.includes(entry.source));
        const checked = await mapLimited(entries, ROW_WRITES_IN_FLIGHT, async (entry) => ({ entry, changedAt: await this.changedAtIfListing(entry, email) }));
        const stale = checked.filter(({ changedAt }) => changedAt === undefined).map(({ entry }) => entry);
        if (stale.length > 0) await this.index.removeStale(email, stale, now).catch(() => undefined);
        return checked.flatMap(({ entry, changedAt }) => (changedAt === undefined ? [] : [{ source: entry.source, id: entry.id, changedAt }]));
    }

    /** When the source last changed the approval, if its row is open and lists `email`. */
    private async changedAtIfListing(entry: StoredEntry, email: string): Promise<number | undefined> {
        const row = await this.readColumns(entry.source, entry.id, ['status', 'indexedFor', 'changedAt']);
        if (!row || !isListed(row as Pick<ApprovalRecord, 'status'>)) return undefined;
        // Indexed for the very recipients the entry was written for: the person is one of them.
        if (row.indexedFor === entry.fingerprint) return Number(row.changedAt);
        const recipients = await this.readColumns(entry.source, entry.id, ['recipients', ...listChunkColumns('recipients')]);
        return recipients && (readList(recipients, 'recipients') as string[]).includes(email) ? Number(row.changedAt) : undefined;
    }

    /** What a pending list shows of an approval; undefined when its row is gone. */
    async listedTexts(source: SourceName, id: string): Promise<Pick<ApprovalRecord, 'summary' | 'approverNames' | 'dueAt' | 'notified'> | undefined> {
        const row = await this.readColumns(source, id, ['summary', 'approverNames', 'dueAt', 'notified', ...listChunkColumns('notified')]);
        if (!row) return undefined;
        return { summary: String(row.summary ?? ''), approverNames: String(row.approverNames ?? ''), dueAt: asNumber(row.dueAt), notified: fromNotifiedGroups(readList(row, 'notified')) };
    }

    private async readColumns(source: SourceName, id: string, select: string[]): Promise<Record<string, unknown> | undefined> {
        this.operations++;
        try {
            return unwrapTyped(await this.table.getEntity<Record<string, unknown>>(source, id, { disableTypeConversion: true, queryOptions: { select } }));
        } catch (error) {
            if (isStatus(error, 404)) return undefined;
            throw error;
        }
    }

    async getCursor(source: SourceName): Promise<SyncCursor> {
        await this.ensureTable();
        this.operations++;
        try {
            const entity = unwrapTyped(await this.table.getEntity<Record<string, unknown>>(CURSOR_PARTITION, source, { disableTypeConversion: true }));
            const sweepStartedAt = asNumber(entity.sweepStartedAt);
            const resumeAt = asString(entity.sweepResumeAt);
            return {
                source,
                watermark: asNumber(entity.watermark),
                lastFullSweepAt: asNumber(entity.lastFullSweepAt),
                ...(sweepStartedAt !== undefined && resumeAt ? { sweep: { startedAt: sweepStartedAt, resumeAt } } : {}),
                etag: entity.etag,
            };
        } catch (error) {
            if (isStatus(error, 404)) return { source };
            throw error;
        }
    }

    /** Saves the cursor if nobody moved it since it was read; answers the cursor with its new ETag, or undefined when someone did. */
    async saveCursor(cursor: SyncCursor): Promise<SyncCursor | undefined> {
        await this.ensureTable();
        this.operations++;
        const entity: Entity = {
            partitionKey: CURSOR_PARTITION,
            rowKey: cursor.source,
            watermark: cursor.watermark === undefined ? undefined : { value: String(cursor.watermark), type: 'Int64' },
            lastFullSweepAt: cursor.lastFullSweepAt === undefined ? undefined : { value: String(cursor.lastFullSweepAt), type: 'Int64' },
            sweepStartedAt: cursor.sweep ? { value: String(cursor.sweep.startedAt), type: 'Int64' } : undefined,
            sweepResumeAt: cursor.sweep?.resumeAt,
        };
        try {
            const { etag } = cursor.etag ? await this.table.updateEntity(entity, 'Replace', { etag: cursor.etag }) : await this.table.createEntity(entity);
            return { ...cursor, etag };
        } catch (error) {
            if (isStatus(error, 409, 412, 404)) return undefined;
            throw error;
        }
    }

    private async *query(filter: string, select?: string[]): AsyncIterable<ApprovalRecord> {
        await this.ensureTable();
        const pages = this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter, select }, disableTypeConversion: true }).byPage({ maxPageSize: 1000 });
        for await (const page of pages) {
            this.operations++;
            for (const entity of page) yield fromEntity(unwrapTyped(entity));
        }
    }

    private ensureTable(): Promise<void> {
        this.ready ??= this.table.createTable().catch((error: unknown) => {
            this.ready = undefined;
            throw error;
        });
        return this.ready;
    }
}

/**
 * Locally a connection string (Azurite); in Azure the table endpoint with the app's managed identity.
 * Every attempt is aborted after `attemptTimeoutMs` in all, or at the deadline a use case set
 * (withDeadline), whichever comes first.
 */
export function openTable(storage: Config['storage'], tableName: string, attemptTimeoutMs: number): TableClient {
    const table = connect(storage, tableName);
    table.pipeline.addPolicy(attemptDeadline(attemptTimeoutMs), { afterPhase: 'Retry' });
    return table;
}

function connect(storage: Config['storage'], tableName: string): TableClient {
    if ('connectionString' in storage) return TableClient.fromConnectionString(storage.connectionString, tableName, { allowInsecureConnection: true });
    return new TableClient(storage.endpoint, tableName, toStorageCredential(storage));
}

/** The pipeline's types as the table client exposes them, so @azure/core-rest-pipeline stays the SDK's dependency, at the version it chose. */
type PipelinePolicy = Parameters<TableClient['pipeline']['addPolicy']>[0];
type PipelineRequest = Parameters<PipelinePolicy['sendRequest']>[0];

/**
 * The SDK's own request timeout stops once the headers arrive, so a table answer that trickles in could
 * hold a call indefinitely: an abort signal per attempt covers the body too. The caller's signal is kept
 * per request, so a retry does not inherit the previous attempt's timer.
 */
function attemptDeadline(timeoutMs: number): PipelinePolicy {
    const callerSignals = new WeakMap<PipelineRequest, PipelineRequest['abortSignal']>();
    return {
        name: 'attemptDeadline',
        async sendRequest(request, next) {
            if (!callerSignals.has(request)) callerSignals.set(request, request.abortSignal);
            const caller = callerSignals.get(request);
            const ambient = currentDeadline();
            const budget = Math.max(0, Math.min(timeoutMs, ambient === undefined ? Infinity : ambient - Date.now()));
            const attempt = new AbortController();
            const timer = setTimeout(() => attempt.abort(), budget);
            const forward = () => attempt.abort();
            caller?.addEventListener('abort', forward);
            request.abortSignal = attempt.signal;
            try {
                return await next(request);
            } finally {
                clearTimeout(timer);
                caller?.removeEventListener('abort', forward);
            }
        },
    };
}

/** With type conversion off, typed properties arrive as `{ value, type }`; keep just the value. */
export function unwrapTyped<T extends Record<string, unknown>>(entity: T): T {
    const result: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(entity)) {
        result[name] = value !== null && typeof value === 'object' && 'value' in value ? (value as { value: unknown }).value : value;
    }
    return result as T;
}
