import { TableClient } from '@azure/data-tables';
import { isStatus } from './rowEntity';
import { deleteIfUnchanged, deleteRowsBefore, int64, unwrapTyped } from './table';

/**
 * The answers of action requests that carried an `Idempotency-Key`, in the state table: one row per key
 * (partition `idempotency`, RowKey the SHA-256 of the key, never the key itself), claimed before the action
 * runs and holding its answer once it ran, so a retry on any instance replays it. Every change after the
 * claim is conditional on the row's ETag (see shared/api/idempotency.ts for the protocol).
 */

const PARTITION = 'idempotency';

/** How long a key holds its first answer; the daily clean-up removes older keys. */
export const KEY_LIFETIME_MS = 24 * 3_600_000;

/** An answer as stored: its status and its JSON body, as text. */
export interface StoredAnswer {
    status: number;
    body: string;
}

export interface IdempotencyRow {
    /** SHA-256 of the key: the RowKey. */
    digest: string;
    /** What the request was for (a digest of its route, approval and approver). */
    fingerprint: string;
    claimedAt: number;
    /** Absent while the request that claimed the key is still acting. */
    answer?: StoredAnswer;
    etag: string;
}

/** A claim this instance holds: the row it wrote, by its ETag. */
export interface IdempotencyClaim {
    digest: string;
    fingerprint: string;
    claimedAt: number;
    etag: string;
}

/** Azure Tables holds at most 32K UTF-16 characters in a string property; an answer is far smaller, but a longer one is not stored. */
export const MAX_STORED_BODY_CHARACTERS = 30_000;

function claimed(digest: string, fingerprint: string, claimedAt: number, etag: string | undefined): IdempotencyClaim {
    if (!etag) throw new Error('the table answered a write without an ETag');
    return { digest, fingerprint, claimedAt, etag };
}

export class IdempotencyStore {
    private ready?: Promise<void>;

    constructor(private readonly table: TableClient) {}

    /** Claims the key (insert if absent): the claim, or undefined when a row for it exists already. */
    async claim(digest: string, fingerprint: string, at: number): Promise<IdempotencyClaim | undefined> {
        await this.ensureTable();
        try {
            const { etag } = await this.table.createEntity(this.claimEntity(digest, fingerprint, at));
            return claimed(digest, fingerprint, at, etag);
        } catch (error) {
            if (isStatus(error, 409)) return undefined;
            throw error;
        }
    }

    /** The key's row, or undefined when there is none. */
    async read(digest: string): Promise<IdempotencyRow | undefined> {
        await this.ensureTable();
        try {
            const row = unwrapTyped(await this.table.getEntity<Record<string, unknown>>(PARTITION, digest, { disableTypeConversion: true }));
            const answered = typeof row.status === 'number' || typeof row.status === 'string';
            return {
                digest,
                fingerprint: String(row.fingerprint ?? ''),
                claimedAt: Number(row.claimedAt ?? 0),
                ...(answered ? { answer: { status: Number(row.status), body: String(row.body ?? '') } } : {}),
                etag: String(row.etag),
            };
        } catch (error) {
            if (isStatus(error, 404)) return undefined;
            throw error;
        }
    }

    /**
     * Claims a key whose row is stale (a claim whose request died, or a key older than its lifetime) on the
     * ETag it was read with: undefined when another instance changed or removed the row first.
     */
    async takeOver(row: IdempotencyRow, fingerprint: string, at: number): Promise<IdempotencyClaim | undefined> {
        await this.ensureTable();
        try {
            const { etag } = await this.table.updateEntity(this.claimEntity(row.digest, fingerprint, at), 'Replace', { etag: row.etag });
            return claimed(row.digest, fingerprint, at, etag);
        } catch (error) {
            if (isStatus(error, 404, 412)) return undefined;
            throw error;
        }
    }

    /** Stores the answer on the claim; false when the claim was taken over or removed meanwhile. */
    async answer(claim: IdempotencyClaim, answer: StoredAnswer, at: number): Promise<boolean> {
        await this.ensureTable();
        const entity = { ...this.claimEntity(claim.digest, claim.fingerprint, claim.claimedAt), status: answer.status, body: answer.body, answeredAt: int64(at) };
        try {
            await this.table.updateEntity(entity, 'Replace', { etag: claim.etag });
            return true;
        } catch (error) {
            if (isStatus(error, 404, 412)) return false;
            throw error;
        }
    }

    /** Gives the claim up (the request failed in a way a retry may fix), unless it was taken over meanwhile. */
    async release(claim: IdempotencyClaim): Promise<void> {
        await this.ensureTable();
        await deleteIfUnchanged(this.table, PARTITION, claim.digest, claim.etag);
    }

    /** Removes the keys claimed before `cutoff`; answers how many. */
    async removeBefore(cutoff: number): Promise<number> {
        await this.ensureTable();
        // A key claimed again since the query stays.
        return deleteRowsBefore(this.table, PARTITION, 'claimedAt', cutoff);
    }

    private claimEntity(digest: string, fingerprint: string, at: number) {
        return { partitionKey: PARTITION, rowKey: digest, fingerprint, claimedAt: int64(at) };
    }

    private ensureTable(): Promise<void> {
        this.ready ??= this.table.createTable().catch((error: unknown) => {
            this.ready = undefined;
            throw error;
        });
        return this.ready;
    }
}
