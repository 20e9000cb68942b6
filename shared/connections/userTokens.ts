import { refreshAccess, RefreshRefused, UserOAuthClient } from '../isc/oauth';
import { AppError, UpstreamError } from '../platform/errors';
import { currentDeadline, HttpClient } from '../platform/http';
import { Logger } from '../platform/log';
import { TokenGrant } from '../platform/tokens';
import { ConnectionStore } from '../store/connectionStore';

/**
 * The approver's own ISC access token (ISC_DECIDE_AS=user), for the token cache: each fetch refreshes the
 * stored connection. The cache keeps the token until shortly before it expires and fetches once per person
 * at a time in this instance; across instances a lease on the row lets one refresh at a time (see refreshed).
 */

export interface UserTokenDependencies {
    store: ConnectionStore;
    http: HttpClient;
    oauth: UserOAuthClient;
    log: Logger;
    now: () => number;
    /** The connect link for an approver who must connect (again). */
    connectLink: (email: string) => Promise<{ connectUrl: string; expiresAt: number }>;
}

/** 403 connect_required: the approver has no usable connection; the body carries the link to make one. */
export class ConnectRequired extends AppError {
    constructor(readonly connectUrl: string) {
        super(403, 'connect_required', `Connect your SailPoint account once, then try again: ${connectUrl}`, { connectUrl });
        this.name = 'ConnectRequired';
    }
}

/** The cache key and fetch of the approver's access token (see TokenCache). */
export function userCredential(deps: UserTokenDependencies, email: string): { key: string; fetch: () => Promise<TokenGrant> } {
    return { key: `isc-user:${deps.oauth.baseUrl}:${email}`, fetch: () => refreshed(deps, email) };
}

/** How long an instance may hold the right to refresh a connection: a refresh is one token request. */
const REFRESH_LEASE_MS = 20_000;
/** How often an instance waiting for another's refresh reads the row again, and for how long at most. */
const LEASE_CHECK_MS = 100;
const MAX_LEASE_WAIT_MS = 25_000;

/**
 * A fresh access token for the approver. One instance at a time refreshes a connection: it takes a lease on
 * the row (on its ETag) and uses the stored refresh token only then, so ISC never sees a token twice and
 * rotation cannot lose the connection; the others wait for the lease to end and then refresh with the
 * token it saved. A refresh ISC refuses while holding the lease is the connection's end.
 */
async function refreshed(deps: UserTokenDependencies, email: string): Promise<TokenGrant> {
    const { store, log, now } = deps;
    const waitUntil = Math.min(Date.now() + MAX_LEASE_WAIT_MS, currentDeadline() ?? Infinity);
    for (;;) {
        const connection = await store.get(email);
        if (!connection) break;
        const leased = (connection.refreshingUntil ?? 0) > now() ? undefined : await store.lease(connection, now() + REFRESH_LEASE_MS);
        if (!leased) {
            if (Date.now() >= waitUntil) throw new UpstreamError('Identity Security Cloud', "Another instance is still refreshing the approver's SailPoint token; try again in a moment.");
            await new Promise((resolve) => setTimeout(resolve, LEASE_CHECK_MS));
            continue;
        }
        let grant;
        try {
            grant = await refreshAccess(deps.http, deps.oauth, leased.refreshToken);
        } catch (error) {
            if (!(error instanceof RefreshRefused)) {
                await store.rotate(leased, leased.refreshToken, leased.lastUsedAt).catch(() => undefined);
                throw error;
            }
            // Revoked, expired or the user disabled: the connection is dead; the person connects again.
            await store.remove(leased);
            log.warn('connection.refresh_refused', { identityId: leased.identityId });
            break;
        }
        // Saving the token gives the lease up; a row changed meanwhile (disconnected, connected again) keeps its own.
        if (!(await store.rotate(leased, grant.refreshToken ?? leased.refreshToken, now()))) log.info('connection.rotation_lost', { identityId: leased.identityId });
        return { accessToken: grant.accessToken, expiresIn: grant.expiresIn };
    }
    throw new ConnectRequired((await deps.connectLink(email)).connectUrl);
}
