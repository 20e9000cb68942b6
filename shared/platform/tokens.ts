import { z } from 'zod';
import { UpstreamError } from './errors';
import { currentDeadline, HttpClient, HttpRequest, parseJsonBody, withoutDeadline } from './http';

/**
 * The one OAuth token cache, keyed per source. A token is refreshed before it expires, fetched once
 * when many calls need it at the same moment, and dropped when the source answers 401 to it.
 * Module-level state is per worker process; each process keeps its own cache.
 */

export interface TokenGrant {
    accessToken: string;
    /** Seconds, from the token response; absent means the source did not say. */
    expiresIn?: number;
}

export type TokenFetcher = () => Promise<TokenGrant>;

interface CachedToken {
    accessToken: string;
    refreshAt: number;
}

/** Used when a token response carries no expires_in: short, so an unknown lifetime cannot outlive the token. */
const UNKNOWN_LIFETIME_SECONDS = 300;

export class TokenCache {
    private readonly tokens = new Map<string, CachedToken>();
    private readonly inFlight = new Map<string, Promise<string>>();

    constructor(private readonly now: () => number = Date.now) {}

    async get(key: string, fetchToken: TokenFetcher): Promise<string> {
        const cached = this.tokens.get(key);
        if (cached && this.now() < cached.refreshAt) return cached.accessToken;
        const pending = this.inFlight.get(key);
        if (pending) return untilOwnDeadline(pending);
        // Shared by every caller that needs the token meanwhile, so bounded by no one caller's deadline (a
        // poll's may be seconds away while a click has half a minute); each caller stops waiting at its own.
        const fetching = withoutDeadline(() => this.fetch(key, fetchToken)).finally(() => this.inFlight.delete(key));
        this.inFlight.set(key, fetching);
        return untilOwnDeadline(fetching);
    }

    /** Forget the token the source just refused, unless a newer one has replaced it meanwhile. */
    invalidate(key: string, refusedToken: string): void {
        if (this.tokens.get(key)?.accessToken === refusedToken) this.tokens.delete(key);
    }

    /**
     * Calls `send` with the cached token; when the source answers 401, drops that token and calls once
     * more with a fresh one. Answers the last answer, which may still be a 401.
     */
    async withToken<T extends { status: number }>(key: string, fetchToken: TokenFetcher, send: (token: string) => Promise<T>): Promise<T> {
        const token = await this.get(key, fetchToken);
        const answer = await send(token);
        if (answer.status !== 401) return answer;
        this.invalidate(key, token);
        return send(await this.get(key, fetchToken));
    }

    clear(): void {
        this.tokens.clear();
    }

    private async fetch(key: string, fetchToken: TokenFetcher): Promise<string> {
        const requestedAt = this.now();
        const grant = await fetchToken();
        const lifetimeMs = (grant.expiresIn && grant.expiresIn > 0 ? grant.expiresIn : UNKNOWN_LIFETIME_SECONDS) * 1000;
        const margin = Math.min(60_000, lifetimeMs * 0.2);
        this.tokens.set(key, { accessToken: grant.accessToken, refreshAt: requestedAt + lifetimeMs - margin });
        return grant.accessToken;
    }
}

export const tokenCache = new TokenCache();

/** The shared fetch, waited for until the caller's own deadline at most. */
function untilOwnDeadline(shared: Promise<string>): Promise<string> {
    const deadline = currentDeadline();
    if (deadline === undefined) return shared;
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new UpstreamError('SailPoint', 'SailPoint could not be reached (timed out waiting for a token)')), Math.max(0, deadline - Date.now()));
        shared.then(
            (token) => {
                clearTimeout(timer);
                resolve(token);
            },
            (error: unknown) => {
                clearTimeout(timer);
                reject(error);
            },
        );
    });
}

const tokenResponse = z.object({ access_token: z.string().min(1), expires_in: z.coerce.number().optional() });

/** An OAuth client-credentials token request; `settings` names what to check when the source refuses it. */
export async function requestToken(http: HttpClient, request: HttpRequest, settings: string): Promise<TokenGrant> {
    const answer = await http.send(request);
    if (answer.status === 400 || answer.status === 401) {
        throw new UpstreamError(request.system, `${request.system} refused the client credentials: check ${settings}`, answer.status);
    }
    if (answer.status < 200 || answer.status >= 300) {
        throw new UpstreamError(request.system, `${request.system} could not issue a token (${answer.status}); try again in a minute`, answer.status);
    }
    const parsed = tokenResponse.safeParse(parseJsonBody(answer.body));
    if (!parsed.success) throw new UpstreamError(request.system, `${request.system} answered the token request without an access_token`);
    return { accessToken: parsed.data.access_token, expiresIn: parsed.data.expires_in };
}
