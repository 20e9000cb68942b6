import { refreshAccess, RefreshRefused, UserOAuthClient } from '../isc/oauth';
import { AppError } from '../platform/errors';
import { HttpClient } from '../platform/http';
import { Logger } from '../platform/log';
import { TokenGrant } from '../platform/tokens';
import { ConnectionStore, IscConnection } from '../store/connectionStore';

/**
 * The approver's own ISC access token (ISC_DECIDE_AS=user), for the token cache: each fetch refreshes the
 * stored connection. The cache keeps the token until shortly before it expires and fetches once per person
 * at a time in this instance; a rotated refresh token is saved on the row's ETag, so two instances
 * refreshing together keep whichever token ISC issued last that was saved, and the other retries with it.
 */

/** The last-used time is written at most this often when ISC does not rotate the refresh token. */
const TOUCH_EVERY_MS = 86_400_000;

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

async function refreshed(deps: UserTokenDependencies, email: string): Promise<TokenGrant> {
    const { store, log } = deps;
    let connection = await store.get(email);
    // Twice at most: once more with the token another instance rotated in while this one refreshed.
    for (let attempt = 0; attempt < 2 && connection; attempt++) {
        try {
            const grant = await refreshAccess(deps.http, deps.oauth, connection.refreshToken);
            await keep(deps, connection, grant.refreshToken);
            return { accessToken: grant.accessToken, expiresIn: grant.expiresIn };
        } catch (error) {
            if (!(error instanceof RefreshRefused)) throw error;
            const latest = await rotatedSince(deps, connection);
            if (latest && latest.refreshToken !== connection.refreshToken) {
                connection = latest;
                continue;
            }
            // Revoked, expired or the user disabled: the connection is dead; the person connects again.
            if (latest) await store.remove(latest);
            log.warn('connection.refresh_refused', { identityId: connection.identityId });
            break;
        }
    }
    throw new ConnectRequired((await deps.connectLink(email)).connectUrl);
}

/** How long a refused refresh waits for another instance that refreshed the same token to save the new one. */
const ROTATION_SAVE_GRACE_MS = 1_000;

/**
 * The connection as stored once a refresh was refused: when it still holds the token that was refused, another
 * instance may have used that token a moment earlier and not yet saved the rotated one, so it is read again
 * after a grace before the connection is taken for dead.
 */
async function rotatedSince(deps: UserTokenDependencies, refused: IscConnection): Promise<IscConnection | undefined> {
    const latest = await deps.store.get(refused.email);
    if (!latest || latest.refreshToken !== refused.refreshToken) return latest;
    await new Promise((resolve) => setTimeout(resolve, ROTATION_SAVE_GRACE_MS));
    return deps.store.get(refused.email);
}

/**
 * Saves a rotated refresh token, or notes the use once a day. A write lost to another instance is tried
 * again while the row still holds the token this refresh used (the other only noted a use); once it holds
 * another token, that instance rotated too and its token stays.
 */
async function keep(deps: UserTokenDependencies, used: IscConnection, rotated: string | undefined): Promise<void> {
    const now = deps.now();
    const isRotated = rotated !== undefined && rotated !== used.refreshToken;
    if (!isRotated && now - used.lastUsedAt < TOUCH_EVERY_MS) return;
    let current: IscConnection | undefined = used;
    for (let attempt = 0; attempt < 3 && current?.refreshToken === used.refreshToken; attempt++) {
        if (await deps.store.rotate(current, isRotated ? rotated : used.refreshToken, now)) return;
        current = await deps.store.get(used.email);
    }
    if (isRotated) deps.log.info('connection.rotation_lost', { identityId: used.identityId });
}
