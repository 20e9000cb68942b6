import { odata, RestError, TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { AuditEntry, AuditPage } from '../contract';
import { RECOMMENDATION_VERDICTS } from '../model';
import { unwrapTyped } from './table';

/**
 * The append-only audit table: one row per action attempt, allowed or refused. Rows are only ever
 * created (never updated) and removed only by retention. RowKeys sort newest first.
 */

const PARTITION = 'audit';
const NEWEST_FIRST = 9_999_999_999_999;

const rowKeyPrefix = (at: number) => String(NEWEST_FIRST - Math.floor(at)).padStart(13, '0');

export class AuditStore {
    private ready?: Promise<void>;

    constructor(private readonly table: TableClient) {}

    async append(entry: AuditEntry): Promise<void> {
        await this.ensureTable();
        await this.table.createEntity({ partitionKey: PARTITION, rowKey: `${rowKeyPrefix(entry.at)}-${randomUUID()}`, ...entry, at: { value: String(entry.at), type: 'Int64' } });
    }

    async page(query: { approvalId?: string; approverEmail?: string; limit: number; pageToken?: string }): Promise<AuditPage> {
        await this.ensureTable();
        let filter = odata`PartitionKey eq ${PARTITION}`;
        if (query.approvalId) filter += ` and ${odata`approvalId eq ${query.approvalId}`}`;
        if (query.approverEmail) filter += ` and ${odata`approverEmail eq ${query.approverEmail}`}`;
        const pages = this.table
            .listEntities<Record<string, unknown>>({ queryOptions: { filter }, disableTypeConversion: true })
            .byPage({ maxPageSize: query.limit, continuationToken: query.pageToken });
        const first = await pages.next();
        const rows = first.done ? [] : first.value;
        const entries = rows.map((row) => {
            const plain = unwrapTyped(row);
            return {
                at: Number(plain.at),
                requestId: String(plain.requestId),
                action: plain.action as AuditEntry['action'],
                approvalId: String(plain.approvalId),
                ...(plain.source ? { source: plain.source as AuditEntry['source'] } : {}),
                approverEmail: String(plain.approverEmail),
                status: Number(plain.status),
                result: String(plain.result),
                ...(plain.comment ? { comment: String(plain.comment) } : {}),
                ...(plain.reassignToEmail ? { reassignToEmail: String(plain.reassignToEmail) } : {}),
                ...(plain.callerSubject ? { callerSubject: String(plain.callerSubject) } : {}),
                ...(plain.callerClientId ? { callerClientId: String(plain.callerClientId) } : {}),
                ...(plain.actedAs === 'user' || plain.actedAs === 'service' ? { actedAs: plain.actedAs as 'user' | 'service' } : {}),
                ...(plain.actedAsIdentityId ? { actedAsIdentityId: String(plain.actedAsIdentityId) } : {}),
                ...recommendationOf(plain.recommendation),
                ...(plain.approverFromClaim !== undefined && plain.approverFromClaim !== null ? { approverFromClaim: plain.approverFromClaim === true || plain.approverFromClaim === 'true' } : {}),
            };
        });
        const token = first.done ? undefined : first.value.continuationToken;
        return { entries, ...(token ? { nextPageToken: token } : {}) };
    }

    /** Removes entries written before `cutoff` (local clock); answers how many. */
    async removeBefore(cutoff: number): Promise<number> {
        await this.ensureTable();
        let removed = 0;
        const filter = `PartitionKey eq '${PARTITION}' and RowKey gt '${rowKeyPrefix(cutoff)}'`;
        for await (const row of this.table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) {
            await this.table.deleteEntity(PARTITION, String(row.rowKey)).catch((error: unknown) => {
                if (!(error instanceof RestError && error.statusCode === 404)) throw error;
            });
            removed++;
        }
        return removed;
    }

    private ensureTable(): Promise<void> {
        this.ready ??= this.table.createTable().catch((error: unknown) => {
            this.ready = undefined;
            throw error;
        });
        return this.ready;
    }
}

/** The recommendation an entry recorded; a value the app does not know (written by hand) is none. */
function recommendationOf(stored: unknown): Pick<AuditEntry, 'recommendation'> {
    const verdict = RECOMMENDATION_VERDICTS.find((known) => known === stored);
    return verdict ? { recommendation: verdict } : {};
}
