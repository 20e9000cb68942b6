import { createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { exchangeCode, RefreshRefused, UserOAuthClient } from '../isc/oauth';
import { Person } from '../model';
import { normalizeEmail } from '../platform/email';
import { HttpClient } from '../platform/http';
import { Logger } from '../platform/log';
import { TokenKey } from '../platform/tokenCipher';
import { ConnectionStore } from '../store/connectionStore';

/**
 * An approver connects their SailPoint account once (ISC_DECIDE_AS=user), by OAuth 2.0 authorization code
 * with PKCE (RFC 7636, S256):
 * 1. `link`: a connect URL carrying a signed ticket (a JWT, HS256 with a key derived from USER_TOKEN_KEYS)
 *    that names the approver;
 * 2. `start`: opening it records a single-use `state` with the PKCE verifier and a digest of a cookie set
 *    in this browser, and redirects to ISC's authorize endpoint;
 * 3. `finish`: the callback checks the cookie, takes the state once, exchanges the code with the verifier,
 *    and stores the connection only if the identity that signed in is the one the app acts as for the
 *    approver the link was made for.
 * The ticket can be forwarded harmlessly: whoever opens it must still sign in to ISC as that approver.
 */

/** Where the two browser routes live under PUBLIC_BASE_URL; the callback is the OAuth client's redirect URI. */
export const CONNECT_PATH = '/api/connections/isc/connect';
export const CALLBACK_PATH = '/api/connections/isc/callback';
export const FLOW_COOKIE = 'isc_connect';

/** A connect link is good this long: it rides in chat messages an approver may open days later. */
const TICKET_LIFETIME_MS = 7 * 86_400_000;
/** A sign-in started in the browser must come back within this. */
export const FLOW_LIFETIME_MS = 10 * 60_000;
const TICKET_AUDIENCE = 'isc-connect';

export interface ConnectSettings {
    oauth: UserOAuthClient;
    authorizeUrl: string;
    publicBaseUrl: string;
    tokenKeys: TokenKey[];
}

export interface ConnectDependencies {
    settings: ConnectSettings;
    store: ConnectionStore;
    http: HttpClient;
    log: Logger;
    now: () => number;
    /** The ISC identity an action by this email acts as (the source's own look-up, with the service credential). */
    personOf: (email: string) => Promise<Person>;
}

/** A refusal the browser is shown as a small page: the status, and a sentence saying why. */
export class ConnectRefused extends Error {
    constructor(
        readonly status: number,
        readonly reason: string,
    ) {
        super(reason);
        this.name = 'ConnectRefused';
    }
}

type Jose = typeof import('jose');
let jose: Promise<Jose> | undefined;
const loadJose = () => (jose ??= import('jose'));

/** The ticket key of each USER_TOKEN_KEYS key, derived (HKDF-SHA256) so no key serves two purposes. */
const ticketKey = (key: TokenKey) => new Uint8Array(hkdfSync('sha256', key.key, Buffer.alloc(0), 'isc-connect-ticket', 32));

const digestOf = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** The connect URL for an approver, and when its ticket expires. */
export async function link({ settings, now }: Pick<ConnectDependencies, 'settings' | 'now'>, email: string): Promise<{ connectUrl: string; expiresAt: number }> {
    const { SignJWT } = await loadJose();
    const [current] = settings.tokenKeys;
    const expiresAt = now() + TICKET_LIFETIME_MS;
    const ticket = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', kid: current.id })
        .setSubject(email)
        .setAudience(TICKET_AUDIENCE)
        .setIssuedAt(Math.floor(now() / 1000))
        .setExpirationTime(Math.floor(expiresAt / 1000))
        .sign(ticketKey(current));
    const url = new URL(CONNECT_PATH, settings.publicBaseUrl);
    url.searchParams.set('ticket', ticket);
    return { connectUrl: url.toString(), expiresAt };
}

/** The approver a ticket names; ConnectRefused when it is expired, altered or signed with no listed key. */
async function ticketEmail(settings: ConnectSettings, ticket: string, now: number): Promise<string> {
    const { jwtVerify, decodeProtectedHeader } = await loadJose();
    const refused = new ConnectRefused(400, 'This connect link is not valid or has expired. Ask for a new one in chat.');
    let kid: unknown;
    try {
        kid = decodeProtectedHeader(ticket).kid;
    } catch {
        throw refused;
    }
    const key = settings.tokenKeys.find((candidate) => candidate.id === kid);
    if (!key) throw refused;
    try {
        const { payload } = await jwtVerify(ticket, ticketKey(key), { algorithms: ['HS256'], audience: TICKET_AUDIENCE, currentDate: new Date(now) });
        const email = typeof payload.sub === 'string' ? normalizeEmail(payload.sub) : undefined;
        if (!email) throw refused;
        return email;
    } catch {
        throw refused;
    }
}

/** Opening the connect link: where to redirect the browser, and the cookie that binds the sign-in to it. */
export async function start({ settings, store, now }: Pick<ConnectDependencies, 'settings' | 'store' | 'now'>, ticket: string): Promise<{ location: string; cookie: string }> {
    const email = await ticketEmail(settings, ticket, now());
    const state = randomBytes(32).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const browser = randomBytes(32).toString('base64url');
    await store.startFlow({ state, email, verifier, browserDigest: digestOf(browser).toString('hex'), expiresAt: now() + FLOW_LIFETIME_MS });
    const authorize = new URL(settings.authorizeUrl);
    authorize.search = new URLSearchParams({
        response_type: 'code',
        client_id: settings.oauth.clientId,
        redirect_uri: redirectUri(settings),
        state,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
    }).toString();
    return { location: authorize.toString(), cookie: flowCookie(settings, browser, FLOW_LIFETIME_MS / 1000) };
}

/**
 * The callback: the sign-in of `state`, from the browser that started it, for the identity the link was
 * made for. Stores the connection and answers the name ISC knows; ConnectRefused otherwise, storing nothing.
 */
export async function finish(deps: ConnectDependencies, query: { code?: string; state?: string; error?: string }, browserCookie: string | undefined): Promise<{ name: string }> {
    const { settings, store, now, log } = deps;
    if (query.error) throw new ConnectRefused(400, 'SailPoint did not sign you in, so nothing was connected. Open the connect link from chat to try again.');
    if (!query.state || !query.code) throw new ConnectRefused(400, 'This page expects to be opened by SailPoint after you sign in. Open the connect link from chat.');
    const flow = await store.readFlow(query.state);
    if (!flow) throw new ConnectRefused(400, 'This sign-in was already used or is unknown. Open the connect link from chat again.');
    // The cookie first: a callback from another browser must not use up the approver's own sign-in.
    const expected = Buffer.from(flow.browserDigest, 'hex');
    const given = digestOf(browserCookie ?? '');
    if (!browserCookie || expected.length !== given.length || !timingSafeEqual(given, expected)) {
        throw new ConnectRefused(403, 'This sign-in was started in another browser. Open the connect link from chat in this browser.');
    }
    if (!(await store.consumeFlow(flow))) throw new ConnectRefused(400, 'This sign-in was already used or is unknown. Open the connect link from chat again.');
    if (now() > flow.expiresAt) throw new ConnectRefused(400, 'This sign-in took longer than 10 minutes. Open the connect link from chat again.');
    const grant = await exchangeCode(deps.http, settings.oauth, query.code, flow.verifier, redirectUri(settings)).catch((error: unknown) => {
        if (error instanceof RefreshRefused) throw new ConnectRefused(400, 'SailPoint did not accept this sign-in (it may have taken too long). Open the connect link from chat again.');
        throw error;
    });
    if (!grant.identityId || !grant.refreshToken) throw new ConnectRefused(502, 'SailPoint signed you in without saying who you are or without a refresh token, so nothing was connected. Tell an administrator.');
    // The identity the app acts for under this email (as every action resolves it) must be the one that signed in.
    const approver = await deps.personOf(flow.email).catch(() => undefined);
    if (approver?.id !== grant.identityId) {
        log.warn('connection.mismatch', { identityId: grant.identityId });
        throw new ConnectRefused(403, 'You signed in to SailPoint as someone other than the approver this link was made for, so nothing was connected.');
    }
    await store.connect({ email: flow.email, identityId: grant.identityId, refreshToken: grant.refreshToken, connectedAt: now(), lastUsedAt: now() });
    log.info('connection.connected', { identityId: grant.identityId });
    return { name: approver.name };
}

/** The cookie that clears the binding once the callback has used it. */
export const clearedFlowCookie = (settings: ConnectSettings) => flowCookie(settings, '', 0);

export const redirectUri = (settings: ConnectSettings) => new URL(CALLBACK_PATH, settings.publicBaseUrl).toString();

/** HttpOnly, SameSite=Lax (the callback is a top-level navigation back from ISC), Secure unless on loopback http. */
function flowCookie(settings: ConnectSettings, value: string, maxAgeSeconds: number): string {
    const secure = new URL(settings.publicBaseUrl).protocol === 'https:' ? '; Secure' : '';
    return `${FLOW_COOKIE}=${value}; Path=/api/connections/isc; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
}

