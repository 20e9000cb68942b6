import { createHash } from 'node:crypto';
import { odata, RestError, TableClient } from '@azure/data-tables';
import { mapLimited } from '../platform/concurrency';
import { SourceName } from '../model';
import { batchesOf } from '../platform/paging';
import { writtenEtags } from './transactionAnswer';

/**
 * Who is waiting on which approval, as rows of their own keyed by person, in the approvals' table, so a
 * person's pending list reads their own entries and their approvals' rows rather than every open row.
 *
 * An entry is PartitionKey `pending-<first hex digit of sha256(email)>`, RowKey
 * `<sha256(email)>_<source>_<approvalId>`: a person's entries are one range of one partition, and one
 * approval's thousand recipients spread over sixteen partitions, written a hundred to a transaction. The
 * source partitions ('iiq', 'isc') and their filters never see these rows.
 *
 * The approval row is the truth; entries only say where to look. The store writes a row's entries before
 * the row itself, and the row then carries the fingerprint of the recipients it was indexed for
 * (`indexedFor`), so a process dying between the two leaves extra entries, never missing ones. An entry
 * counts only while its row is open and lists the person; extra ones are dropped once they are older
 * than any write still in flight (see STALE_AFTER_MS).
 */

const PARTITION_PREFIX = 'pending-';
const MAX_ROWS_PER_TRANSACTION = 100;
/** Index transactions written at once. */
const TRANSACTIONS_IN_FLIGHT = 16;
/** Single-row index reads and deletes at once. */
const ROWS_IN_FLIGHT = 16;
/**
 * An entry that no row backs is removed only once it is older than this (its table Timestamp against the
 * local clock): an entry written just now may belong to a row write still in flight, and the margin also
 * covers any skew between this clock and the table's.
 */
const STALE_AFTER_MS = 3_600_000;

export interface IndexEntry {
    email: string;
    source: SourceName;
    id: string;
    /** The fingerprint of the recipients the entry was written for (see indexFingerprint). */
    fingerprint: string;
}

export interface StoredEntry {
    source: SourceName;
    id: string;
    fingerprint: string;
    etag: string;
    /** The table's Timestamp of the entry, in ms. */
    writtenAt: number;
}

/** The person's part of their entries' keys: their partition, and the RowKey prefix all their entries share. */
function personKeys(email: string): { partitionKey: string; prefix: string } {
    const person = createHash('sha256').update(email).digest('hex');
    return { partitionKey: `${PARTITION_PREFIX}${person[0]}`, prefix: `${person}_` };
}

function keysOf(email: string, source: string, id: string): { partitionKey: string; rowKey: string } {
    const { partitionKey, prefix } = personKeys(email);
    return { partitionKey, rowKey: `${prefix}${source}_${id}` };
}

/**
 * What the entries of a row were written for: its recipients as a set. Equal fingerprints mean the same
 * people, so a write that keeps them (a send recorded, a claim) writes no entries.
 */
export function indexFingerprint(recipients: string[]): string {
    const people = [...new Set(recipients)].sort().join('\n');
    return `v1:${createHash('sha256').update(people).digest('base64url').slice(0, 22)}`;
}

export class PersonIndex {
    constructor(
        private readonly table: TableClient,
        private readonly counted: () => void,
    ) {}

    /** Inserts or replaces entries, one transaction per partition and hundred entries. */
    async write(entries: IndexEntry[]): Promise<void> {
        const byPartition = new Map<string, { partitionKey: string; rowKey: string; source: string; approvalId: string; indexedFor: string }[]>();
        for (const { email, source, id, fingerprint } of entries) {
            const keys = keysOf(email, source, id);
            let partition = byPartition.get(keys.partitionKey);
            if (!partition) byPartition.set(keys.partitionKey, (partition = []));
            partition.push({ ...keys, source, approvalId: id, indexedFor: fingerprint });
        }
        // A transaction may not name a row twice.
        const transactions = [...byPartition.values()].flatMap((rows) => batchesOf([...new Map(rows.map((row) => [row.rowKey, row])).values()], MAX_ROWS_PER_TRANSACTION));
        await mapLimited(transactions, TRANSACTIONS_IN_FLIGHT, async (rows) => {
            this.counted();
            const answer = await this.table.submitTransaction(rows.map((entity) => ['upsert', entity, 'Replace']));
            // Read for its failures: the SDK takes a batch refused as a whole for a success.
            writtenEtags(answer, rows.map(({ rowKey }) => rowKey));
        });
    }

    /** A person's entries, in RowKey order (by source, then approval id). */
    async entriesFor(email: string): Promise<StoredEntry[]> {
        const { partitionKey, prefix } = personKeys(email);
        // The prefix ends in '_', and '`' is the character after it.
        const filter = odata`PartitionKey eq ${partitionKey} and RowKey ge ${prefix} and RowKey lt ${`${prefix.slice(0, -1)}\``}`;
        const entries: StoredEntry[] = [];
        const pages = this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['source', 'approvalId', 'indexedFor', 'Timestamp'] } }).byPage({ maxPageSize: 1000 });
        for await (const page of pages) {
            this.counted();
            for (const entity of page) {
                entries.push({
                    source: String(entity.source) as SourceName,
                    id: String(entity.approvalId),
                    fingerprint: String(entity.indexedFor ?? ''),
                    etag: String(entity.etag),
                    writtenAt: Date.parse(String(entity.timestamp ?? entity.Timestamp ?? '')) || Date.now(),
                });
            }
        }
        return entries;
    }

    /** Removes entries no row backs, each only as it was read (a rewrite since wins) and only once it is old enough. */
    async removeStale(email: string, entries: StoredEntry[], now: number): Promise<void> {
        const old = entries.filter((entry) => now - entry.writtenAt > STALE_AFTER_MS);
        await mapLimited(old, ROWS_IN_FLIGHT, async (entry) => {
            const { partitionKey, rowKey } = keysOf(email, entry.source, entry.id);
            this.counted();
            await this.table.deleteEntity(partitionKey, rowKey, { etag: entry.etag }).catch(ignoreStatus(404, 412));
        });
    }

    /**
     * Removes a removed row's entries, for everyone it may have listed. Each is read first and removed only
     * if old enough, so an approval recorded again meanwhile under the same id keeps its fresh entries.
     */
    async removeFor(emails: string[], source: SourceName, id: string, now: number): Promise<void> {
        await mapLimited([...new Set(emails)], ROWS_IN_FLIGHT, async (email) => {
            const { partitionKey, rowKey } = keysOf(email, source, id);
            this.counted();
            const entity = await this.table.getEntity(partitionKey, rowKey, { queryOptions: { select: ['Timestamp'] } }).catch(ignoreStatus(404));
            if (!entity || now - (Date.parse(String(entity.timestamp ?? '')) || now) <= STALE_AFTER_MS) return;
            this.counted();
            await this.table.deleteEntity(partitionKey, rowKey, { etag: entity.etag }).catch(ignoreStatus(404, 412));
        });
    }
}

const ignoreStatus =
    (...statuses: number[]) =>
    (error: unknown): undefined => {
        if (error instanceof RestError && statuses.includes(error.statusCode ?? 0)) return undefined;
        throw error;
    };
