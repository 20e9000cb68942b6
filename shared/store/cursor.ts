import { TableClient, TableEntity } from '@azure/data-tables';
import { SourceName } from '../model';
import { SyncCursor } from './approvalRecord';
import { asNumber, asString, isStatus } from './rowEntity';
import { unwrapTyped } from './table';

/**
 * The cursor row of each source (PartitionKey `cursor`, RowKey the source): the watermark, the last full
 * sweep, and where an unfinished sweep resumes. Saved only on the ETag it was read with.
 */

const CURSOR_PARTITION = 'cursor';

export async function readCursor(table: TableClient, source: SourceName): Promise<SyncCursor> {
    try {
        const entity = unwrapTyped(await table.getEntity<Record<string, unknown>>(CURSOR_PARTITION, source, { disableTypeConversion: true }));
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
export async function writeCursor(table: TableClient, cursor: SyncCursor): Promise<SyncCursor | undefined> {
    const entity: TableEntity = {
        partitionKey: CURSOR_PARTITION,
        rowKey: cursor.source,
        watermark: cursor.watermark === undefined ? undefined : { value: String(cursor.watermark), type: 'Int64' },
        lastFullSweepAt: cursor.lastFullSweepAt === undefined ? undefined : { value: String(cursor.lastFullSweepAt), type: 'Int64' },
        sweepStartedAt: cursor.sweep ? { value: String(cursor.sweep.startedAt), type: 'Int64' } : undefined,
        sweepResumeAt: cursor.sweep?.resumeAt,
    };
    try {
        const { etag } = cursor.etag ? await table.updateEntity(entity, 'Replace', { etag: cursor.etag }) : await table.createEntity(entity);
        return { ...cursor, etag };
    } catch (error) {
        if (isStatus(error, 409, 412, 404)) return undefined;
        throw error;
    }
}
