import { odata, TableClient } from '@azure/data-tables';
import { Config } from '../config';
import { currentDeadline } from '../platform/http';
import { toStorageCredential } from './credential';
import { isStatus } from './rowEntity';

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

/** Deletes the row unless it changed since `etag` was read; answers whether this call deleted it (false: changed, or gone already). */
export async function deleteIfUnchanged(table: TableClient, partitionKey: string, rowKey: string, etag: string): Promise<boolean> {
    try {
        await table.deleteEntity(partitionKey, rowKey, { etag });
        return true;
    } catch (error) {
        if (isStatus(error, 404, 412)) return false;
        throw error;
    }
}

/**
 * Deletes the rows of a partition whose Int64 `column` is below `cutoff`, each on the ETag it was listed
 * with, so a row written again since the query stays; answers how many.
 */
export async function deleteRowsBefore(table: TableClient, partitionKey: string, column: string, cutoff: number): Promise<number> {
    let removed = 0;
    const rows = table.listEntities<Record<string, unknown>>({ queryOptions: { filter: `${odata`PartitionKey eq ${partitionKey}`} and ${column} lt ${Math.floor(cutoff)}L`, select: ['RowKey'] } });
    for await (const row of rows) if (await deleteIfUnchanged(table, partitionKey, String(row.rowKey), String(row.etag))) removed++;
    return removed;
}

/** An Int64 property, as the table takes an epoch-ms number. */
export const int64 = (value: number) => ({ value: String(Math.floor(value)), type: 'Int64' as const });
