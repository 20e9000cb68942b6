import { odata, TableClient, TableEntity } from '@azure/data-tables';
import { mapLimited } from '../platform/concurrency';
import { Config } from '../config';
import { SourceName } from '../model';
import { ApprovalRecord, OpenRow, SyncCursor } from './approvalRecord';
import { readCursor, writeCursor } from './cursor';
import { listChunkColumns, readList } from './listColumns';
import { indexFingerprint, PersonIndex, StoredEntry } from './personIndex';
import { asNumber, fromEntity, fromNotifiedGroups, indexEntriesOf, isListed, isRowRefused, isStatus, needsIndex, OPEN_ROW_COLUMNS, readRecommendation, toEntity, withIndex } from './rowEntity';
import { openTable, unwrapTyped } from './table';
import { writtenEtags } from './transactionAnswer';
import { entityBytes, MAX_ROWS_PER_TRANSACTION, MAX_TRANSACTION_BYTES, transactionGroups } from './transactionGroups';

/**
 * Azure Table Storage state: one row per approval (PartitionKey = source, RowKey = approval id) and one
 * cursor row per source. Every change is a conditional write on the row's ETag, so of two writers racing
 * (two polls, twenty clicks) exactly one wins and the other learns it lost. The row's shape is in
 * approvalRecord.ts, its columns in rowEntity.ts and listColumns.ts, the cursor in cursor.ts, and how
 * writes are grouped into transactions in transactionGroups.ts.
 */

/**
 * Transactions of gathered changes written at once: while they are in flight the next changes gather, so
 * a quiet moment writes a change at once and a busy one writes a hundred in one request.
 */
const TRANSACTIONS_IN_FLIGHT = 2;
/** Row writes at once when a transaction's rows are written one by one. */
const ROW_WRITES_IN_FLIGHT = 16;

/** Index entries written by one call to indexUnindexed (a poll), so rows written before the index heal over a few polls, not one long one. */
const MAX_ENTRIES_INDEXED_AT_ONCE = 20_000;

type Change = (record: ApprovalRecord) => ApprovalRecord | undefined;

/** A change waiting for the next transaction (see modifyBatched). */
interface GatheredChange {
    record: ApprovalRecord;
    change: Change;
    settle: (outcome: Promise<ApprovalRecord | undefined>) => void;
}

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
    private takeGathered(): { gathered: GatheredChange; changed: ApprovalRecord; entity: TableEntity }[] {
        const taken: { gathered: GatheredChange; changed: ApprovalRecord; entity: TableEntity }[] = [];
        const rows = new Set<string>();
        const partition = this.gathered[0].record.source;
        let bytes = 0;
        for (let index = 0; index < this.gathered.length && taken.length < MAX_ROWS_PER_TRANSACTION; ) {
            const gathered = this.gathered[index];
            if (gathered.record.source !== partition || rows.has(gathered.record.id)) {
                index++;
                continue;
            }
            let prepared: { changed: ApprovalRecord; entity: TableEntity } | undefined;
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

    private async writeTogether(taken: { gathered: GatheredChange; changed: ApprovalRecord; entity: TableEntity }[]): Promise<void> {
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
            const { message, card, summary, approverNames, ...row } = record;
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
    async listedTexts(source: SourceName, id: string): Promise<Pick<ApprovalRecord, 'summary' | 'approverNames' | 'dueAt' | 'notified' | 'recommendation'> | undefined> {
        const row = await this.readColumns(source, id, ['summary', 'approverNames', 'dueAt', 'recommendation', 'notified', ...listChunkColumns('notified')]);
        if (!row) return undefined;
        return {
            summary: String(row.summary ?? ''),
            approverNames: String(row.approverNames ?? ''),
            dueAt: asNumber(row.dueAt),
            recommendation: readRecommendation(row.recommendation),
            notified: fromNotifiedGroups(readList(row, 'notified')),
        };
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
        return readCursor(this.table, source);
    }

    /** Saves the cursor if nobody moved it since it was read; answers the cursor with its new ETag, or undefined when someone did. */
    async saveCursor(cursor: SyncCursor): Promise<SyncCursor | undefined> {
        await this.ensureTable();
        this.operations++;
        return writeCursor(this.table, cursor);
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
