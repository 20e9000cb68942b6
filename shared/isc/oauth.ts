import { z } from 'zod';
import { UpstreamError } from '../platform/errors';
import { HttpClient, parseJsonBody } from '../platform/http';

/**
 * The approver's own sign-in to Identity Security Cloud (ISC_DECIDE_AS=user): the authorization code
 * exchanged with its PKCE verifier, and the refresh token exchanged for an access token, both at
 * `{ISC_BASE_URL}/oauth/token` with the user OAuth client (ISC_USER_CLIENT_ID and _SECRET).
 */

const SYSTEM = 'Identity Security Cloud';

export interface UserOAuthClient {
    baseUrl: string;
    clientId: string;
    clientSecret: string;
}

export interface UserGrant {
    accessToken: string;
    expiresIn?: number;
    /** Present when ISC issued a new refresh token (rotation): the old one may no longer work. */
    refreshToken?: string;
    /** The signed-in identity, from the token answer. */
    identityId?: string;
}

/** ISC refused the refresh token for good (revoked, expired, user disabled): the connection is dead. */
export class RefreshRefused extends Error {
    constructor() {
        super('Identity Security Cloud refused the refresh token (invalid_grant)');
        this.name = 'RefreshRefused';
    }
}

const grantAnswer = z.object({
    access_token: z.string().min(1),
    expires_in: z.coerce.number().optional(),
    refresh_token: z.string().min(1).optional(),
    identity_id: z.string().min(1).optional(),
});
const errorAnswer = z.object({ error: z.string() }).passthrough();

/** The code from the callback, exchanged with the verifier whose challenge went to the authorize endpoint. */
export function exchangeCode(http: HttpClient, client: UserOAuthClient, code: string, verifier: string, redirectUri: string): Promise<UserGrant> {
    return tokenRequest(http, client, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri });
}

/** A fresh access token for the connection; throws RefreshRefused when ISC says the refresh token is dead. */
export function refreshAccess(http: HttpClient, client: UserOAuthClient, refreshToken: string): Promise<UserGrant> {
    return tokenRequest(http, client, { grant_type: 'refresh_token', refresh_token: refreshToken });
}

async function tokenRequest(http: HttpClient, client: UserOAuthClient, fields: Record<string, string>): Promise<UserGrant> {
    const answer = await http.send({
        system: SYSTEM,
        method: 'POST',
        url: `${client.baseUrl}/oauth/token`,
        // A code or a refresh token is good once: a retry after a lost answer would only be refused.
        retry: 'not-idempotent',
        body: new URLSearchParams({ ...fields, client_id: client.clientId, client_secret: client.clientSecret }).toString(),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    });
    if (answer.status === 400 || answer.status === 401) {
        const refused = errorAnswer.safeParse(parseJsonBody(answer.body));
        if (refused.success && refused.data.error === 'invalid_grant') throw new RefreshRefused();
        throw new UpstreamError(SYSTEM, `${SYSTEM} refused the user sign-in client (${answer.status}): check ISC_USER_CLIENT_ID and ISC_USER_CLIENT_SECRET`, answer.status);
    }
    if (answer.status < 200 || answer.status >= 300) throw new UpstreamError(SYSTEM, `${SYSTEM} could not issue the user's token (${answer.status}); try again in a minute`, answer.status);
    const parsed = grantAnswer.safeParse(parseJsonBody(answer.body));
    if (!parsed.success) throw new UpstreamError(SYSTEM, `${SYSTEM} answered the user's token request without an access_token`);
    const { access_token, expires_in, refresh_token, identity_id } = parsed.data;
    return { accessToken: access_token, expiresIn: expires_in, refreshToken: refresh_token, identityId: identity_id };
}
