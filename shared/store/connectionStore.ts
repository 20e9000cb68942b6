import { createHash } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { isStatus } from './rowEntity';
import { TokenCipher } from '../platform/tokenCipher';
import { deleteIfUnchanged, deleteRowsBefore, int64, unwrapTyped } from './table';

/**
 * Approvers' connections to Identity Security Cloud (ISC_DECIDE_AS=user), in the state table: one row per
 * person (partition `isc-connection`, RowKey a digest of the normalised email) holding the ISC identity id
 * and the refresh token, sealed (see TokenCipher) to that row; and one row per sign-in under way (partition
 * `isc-connect-flow`, RowKey the OAuth `state`), taken once. Every change is conditional on the row's ETag.
 */

const CONNECTIONS = 'isc-connection';
const FLOWS = 'isc-connect-flow';

export interface IscConnection {
    email: string;
    identityId: string;
    refreshToken: string;
    connectedAt: number;
    lastUsedAt: number;
    /** While an instance refreshes the token (see lease): others wait for it rather than use the same token. */
    refreshingUntil?: number;
    etag: string;
}

/** A sign-in under way: whose link started it, the PKCE verifier, and a digest of the browser's cookie. */
export interface ConnectFlow {
    state: string;
    email: string;
    verifier: string;
    browserDigest: string;
    expiresAt: number;
}

const digestOf = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
/** A write's new ETag, without which the next conditional write could not be guarded. */
function writtenEtag(etag: string | undefined): string {
    if (!etag) throw new Error('the table answered a write without an ETag');
    return etag;
}

export class ConnectionStore {
    private ready?: Promise<void>;

    constructor(
        private readonly table: TableClient,
        private readonly cipher: TokenCipher,
    ) {}

    /** The person's connection, or undefined when there is none or its token no longer opens (its key was dropped). */
    async get(email: string): Promise<IscConnection | undefined> {
        const row = await this.read(CONNECTIONS, digestOf(email));
        if (!row) return undefined;
        const refreshToken = this.cipher.open(String(row.refreshToken ?? ''), this.context(email));
        if (refreshToken === undefined) return undefined;
        return {
            email,
            identityId: String(row.identityId),
            refreshToken,
            connectedAt: Number(row.connectedAt),
            lastUsedAt: Number(row.lastUsedAt),
            ...(row.refreshingUntil ? { refreshingUntil: Number(row.refreshingUntil) } : {}),
            etag: String(row.etag),
        };
    }

    /** Stores a new connection, replacing any earlier one of the same person (they signed in again). */
    async connect(connection: Omit<IscConnection, 'etag'>): Promise<IscConnection> {
        await this.ensureTable();
        const { etag } = await this.table.upsertEntity(this.toEntity(connection), 'Replace');
        return { ...connection, etag: writtenEtag(etag) };
    }

    /**
     * Takes the right to refresh this connection until `until`, on the ETag it was read with: undefined when
     * another instance changed the row first (it may be refreshing). Saving the token (rotate) gives it up.
     */
    async lease(connection: IscConnection, until: number): Promise<IscConnection | undefined> {
        await this.ensureTable();
        try {
            const { etag } = await this.table.updateEntity({ ...this.toEntity(connection), refreshingUntil: int64(until) }, 'Replace', { etag: connection.etag });
            return { ...connection, refreshingUntil: until, etag: writtenEtag(etag) };
        } catch (error) {
            if (isStatus(error, 404, 412)) return undefined;
            throw error;
        }
    }

    /**
     * Saves a rotated refresh token on the ETag the connection was read with: undefined when another
     * instance changed the row first (its token is then the one to use) or the person disconnected.
     */
    async rotate(connection: IscConnection, refreshToken: string, usedAt: number): Promise<IscConnection | undefined> {
        await this.ensureTable();
        const next = { ...connection, refreshToken, lastUsedAt: usedAt };
        try {
            const { etag } = await this.table.updateEntity(this.toEntity(next), 'Replace', { etag: connection.etag });
            return { ...next, etag: writtenEtag(etag) };
        } catch (error) {
            if (isStatus(error, 404, 412)) return undefined;
            throw error;
        }
    }

    /** Removes the person's connection; answers whether there was one. */
    async disconnect(email: string): Promise<boolean> {
        await this.ensureTable();
        try {
            await this.table.deleteEntity(CONNECTIONS, digestOf(email));
            return true;
        } catch (error) {
            if (isStatus(error, 404)) return false;
            throw error;
        }
    }

    /** Removes this connection, unless it changed since it was read (the person connected again meanwhile). */
    async remove(connection: IscConnection): Promise<void> {
        await this.ensureTable();
        await deleteIfUnchanged(this.table, CONNECTIONS, digestOf(connection.email), connection.etag);
    }

    /** Removes connections last used before `cutoff`; answers how many. */
    async removeUnusedBefore(cutoff: number): Promise<number> {
        await this.ensureTable();
        // A connection made again or used since the query stays.
        return deleteRowsBefore(this.table, CONNECTIONS, 'lastUsedAt', cutoff);
    }

    /** Records a sign-in under way; its verifier is sealed to its state. */
    async startFlow(flow: ConnectFlow): Promise<void> {
        await this.ensureTable();
        await this.table.createEntity({
            partitionKey: FLOWS,
            rowKey: flow.state,
            email: flow.email,
            verifier: this.cipher.seal(flow.verifier, `${FLOWS}:${flow.state}`),
            browserDigest: flow.browserDigest,
            expiresAt: int64(flow.expiresAt),
        });
    }

    /** The sign-in of this state, or undefined when unknown, already taken or altered; `consumeFlow` takes it. */
    async readFlow(state: string): Promise<(ConnectFlow & { etag: string }) | undefined> {
        if (!/^[A-Za-z0-9_-]{16,128}$/.test(state)) return undefined;
        const row = await this.read(FLOWS, state);
        if (!row) return undefined;
        const verifier = this.cipher.open(String(row.verifier ?? ''), `${FLOWS}:${state}`);
        if (verifier === undefined) return undefined;
        return { state, email: String(row.email), verifier, browserDigest: String(row.browserDigest), expiresAt: Number(row.expiresAt), etag: String(row.etag) };
    }

    /**
     * Takes the sign-in once: the row is deleted on the ETag it was read with, so of two callbacks with the
     * same state at most one gets true.
     */
    async consumeFlow(flow: { state: string; etag: string }): Promise<boolean> {
        await this.ensureTable();
        return deleteIfUnchanged(this.table, FLOWS, flow.state, flow.etag);
    }

    /** Removes sign-ins that expired before `cutoff` and were never completed. */
    async removeFlowsBefore(cutoff: number): Promise<number> {
        await this.ensureTable();
        return deleteRowsBefore(this.table, FLOWS, 'expiresAt', cutoff);
    }

    private context(email: string): string {
        return `${CONNECTIONS}:${digestOf(email)}`;
    }

    private toEntity(connection: Omit<IscConnection, 'etag'>) {
        return {
            partitionKey: CONNECTIONS,
            rowKey: digestOf(connection.email),
            identityId: connection.identityId,
            refreshToken: this.cipher.seal(connection.refreshToken, this.context(connection.email)),
            connectedAt: int64(connection.connectedAt),
            lastUsedAt: int64(connection.lastUsedAt),
        };
    }

    private async read(partition: string, rowKey: string): Promise<(Record<string, unknown> & { etag: string }) | undefined> {
        await this.ensureTable();
        try {
            return unwrapTyped(await this.table.getEntity<Record<string, unknown>>(partition, rowKey, { disableTypeConversion: true }));
        } catch (error) {
            if (isStatus(error, 404)) return undefined;
            throw error;
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
