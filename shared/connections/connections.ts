import { Config, IscUserConfig } from '../config';
import { IscClient, IscCredential } from '../isc/client';
import { findIscPerson } from '../isc/source';
import { Person } from '../model';
import { HttpClient } from '../platform/http';
import { Logger } from '../platform/log';
import { TokenCipher } from '../platform/tokenCipher';
import { ConnectionStore } from '../store/connectionStore';
import { openTable } from '../store/table';
import { ConnectSettings, finish, FLOW_LIFETIME_MS, link, start } from './connect';
import { ConnectRequired, userCredential } from './userTokens';

/**
 * The approvers' connections to Identity Security Cloud (ISC_DECIDE_AS=user), as the routes and the
 * composition root use them: the connect link and flow (connect.ts), each approver's credential for
 * writes (userTokens.ts), a person's status, disconnecting, and the clean-up of unused connections.
 */

export interface ConnectionStatus {
    connected: boolean;
    identityId?: string;
    connectedAt?: number;
}

export interface Connections {
    link(email: string): Promise<{ connectUrl: string; expiresAt: number }>;
    status(email: string): Promise<ConnectionStatus>;
    /** The connect link of an approver who has not connected, for their notification; undefined when they have. */
    linkIfNotConnected(email: string): Promise<string | undefined>;
    /** Deletes the person's stored tokens (every instance then refuses their writes: see credentialFor); answers whether they were connected. */
    disconnect(email: string): Promise<boolean>;
    start(ticket: string): Promise<{ location: string; cookie: string }>;
    finish(query: { code?: string; state?: string; error?: string }, browserCookie: string | undefined): Promise<{ name: string }>;
    /**
     * The approver's credential for an ISC write, read from their connection each time, so a disconnect
     * takes effect at once in every instance; 403 connect_required when there is none.
     */
    credentialFor(person: Person): Promise<IscCredential>;
    /** Removes connections unused for CONNECTION_RETENTION_DAYS, and sign-ins never finished. */
    removeUnused(): Promise<number>;
    readonly settings: ConnectSettings;
}

export interface ConnectionsDependencies {
    user: IscUserConfig;
    iscBaseUrl: string;
    store: ConnectionStore;
    http: HttpClient;
    log: Logger;
    now: () => number;
    personOf: (email: string) => Promise<Person>;
}

export function createConnections(deps: ConnectionsDependencies): Connections {
    const { user, store, http, log, now } = deps;
    const settings: ConnectSettings = {
        oauth: { baseUrl: deps.iscBaseUrl, clientId: user.clientId, clientSecret: user.clientSecret },
        authorizeUrl: user.authorizeUrl,
        publicBaseUrl: user.publicBaseUrl,
        tokenKeys: user.tokenKeys,
    };
    const connectLink = (email: string) => link({ settings, now }, email);
    const tokenDeps = { store, http, oauth: settings.oauth, log, now, connectLink };
    return {
        settings,
        link: connectLink,
        async status(email) {
            const connection = await store.get(email);
            return connection ? { connected: true, identityId: connection.identityId, connectedAt: connection.connectedAt } : { connected: false };
        },
        async linkIfNotConnected(email) {
            return (await store.get(email)) ? undefined : (await connectLink(email)).connectUrl;
        },
        async disconnect(email) {
            const removed = await store.disconnect(email);
            log.info('connection.disconnected', { removed });
            return removed;
        },
        start: (ticket) => start({ settings, store, now }, ticket),
        finish: (query, cookie) => finish({ settings, store, http, log, now, personOf: deps.personOf }, query, cookie),
        async credentialFor(person) {
            const connection = await store.get(person.email);
            // Connected as another identity than the one this email now resolves to: that token is not theirs to use.
            if (!connection || connection.identityId !== person.id) throw new ConnectRequired((await connectLink(person.email)).connectUrl);
            // Keyed by the connection, so a token cached for an earlier one is never used for a new one.
            const { key, fetch } = userCredential(tokenDeps, person.email);
            return { key: `${key}:${connection.connectedAt}`, fetch, holder: `${person.name}'s own token` };
        },
        async removeUnused() {
            const connections = await store.removeUnusedBefore(now() - user.retentionDays * 86_400_000);
            const flows = await store.removeFlowsBefore(now() - FLOW_LIFETIME_MS);
            log.info('connection.cleanup', { connections, flows });
            return connections;
        },
    };
}

/** The connections of ISC_DECIDE_AS=user, kept in the state table; undefined in service mode. */
export function connectionsFrom(config: Config, client: IscClient, http: HttpClient, log: Logger, now: () => number): Connections | undefined {
    const user = config.isc?.user;
    if (!config.isc || !user) return undefined;
    const store = new ConnectionStore(openTable(config.storage, config.storage.tableName, config.http.timeoutMs), new TokenCipher(user.tokenKeys));
    return createConnections({ user, iscBaseUrl: config.isc.baseUrl, store, http, log, now, personOf: (email) => findIscPerson(client, email) });
}
