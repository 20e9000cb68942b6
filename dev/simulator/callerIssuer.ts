import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, JWK, JWTPayload, KeyLike, SignJWT } from 'jose';

/**
 * The simulator's token issuer, standing in for Entra ID or Moveworks JWKS Auth: an OpenID configuration
 * and a key set on the simulator's own URL, and tokens signed with its current key. Keys rotate on
 * demand (the old one stays published, as issuers do during a rotation), and the key set can be taken
 * down to see that no token is accepted without it.
 */

export type CallerRoute = 'caller.configuration' | 'caller.keys';

interface SigningKey {
    kid: string;
    alg: 'RS256' | 'ES256';
    privateKey: KeyLike;
    publicJwk: JWK;
}

export interface MintOptions {
    /** Seconds from now; negative for a token already expired. Default 300. */
    expiresIn?: number;
    /** Seconds from now until the token is valid (`nbf`). */
    notBefore?: number;
    alg?: 'RS256' | 'ES256';
    /** Sign with a key the issuer never published. */
    unpublishedKey?: boolean;
    /** More protected header parameters (`crit`, `jku`, ...), as a hostile token would carry. */
    header?: Record<string, unknown>;
}

export const CALLER_PATH = '/caller';

export class CallerIssuer {
    private readonly keys: SigningKey[] = [];
    /** Keys made but not published, for tokens signed with an unknown key. */
    private readonly unpublished: SigningKey[] = [];
    /** When true, the configuration and the key set answer 503. */
    down = false;
    /** How often the key set was fetched. */
    keySetFetches = 0;

    constructor(private readonly baseUrl: () => string) {}

    get issuer(): string {
        return `${this.baseUrl()}${CALLER_PATH}`;
    }

    get jwksUrl(): string {
        return `${this.issuer}/jwks.json`;
    }

    routeOf(method: string, path: string): CallerRoute | undefined {
        if (method !== 'GET') return undefined;
        if (path === `${CALLER_PATH}/.well-known/openid-configuration`) return 'caller.configuration';
        if (path === `${CALLER_PATH}/jwks.json`) return 'caller.keys';
        return undefined;
    }

    async handle(route: CallerRoute): Promise<{ status: number; contentType: string; body: string }> {
        if (this.down) return { status: 503, contentType: 'text/plain', body: 'Service Unavailable' };
        if (route === 'caller.configuration') {
            return { status: 200, contentType: 'application/json', body: JSON.stringify({ issuer: this.issuer, jwks_uri: this.jwksUrl, id_token_signing_alg_values_supported: ['RS256', 'ES256'] }) };
        }
        this.keySetFetches++;
        await this.currentKey('RS256');
        return { status: 200, contentType: 'application/json', body: JSON.stringify({ keys: this.keys.map((key) => key.publicJwk) }) };
    }

    /** A signed token with these claims (`iss` defaults to this issuer); claims given as undefined are left out. */
    async mint(claims: JWTPayload, options: MintOptions = {}): Promise<string> {
        const alg = options.alg ?? 'RS256';
        const key = options.unpublishedKey ? await this.newKey(alg, this.unpublished) : await this.currentKey(alg);
        const now = Math.floor(Date.now() / 1000);
        const payload: JWTPayload = { iss: this.issuer, iat: now, exp: now + (options.expiresIn ?? 300), jti: randomUUID(), ...claims };
        if (options.notBefore !== undefined) payload.nbf = now + options.notBefore;
        for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
        // jose signs a `crit` header only for extensions it is told are understood: here, whatever the token names.
        const crit = Array.isArray(options.header?.crit) ? Object.fromEntries((options.header.crit as string[]).map((name) => [name, true])) : undefined;
        return new SignJWT(payload).setProtectedHeader({ alg, kid: key.kid, typ: 'JWT', ...options.header }).sign(key.privateKey, crit ? { crit } : undefined);
    }

    /** A new signing key, published beside the old ones; tokens are signed with it from now on. */
    async rotate(alg: 'RS256' | 'ES256' = 'RS256'): Promise<void> {
        await this.newKey(alg, this.keys);
    }

    /** Publishes a key made elsewhere (a weak one, say) as the current one; answers its kid. */
    publish(privateKey: KeyLike, publicJwk: JWK, alg: 'RS256' | 'ES256' = 'RS256'): string {
        const kid = randomUUID();
        this.keys.push({ kid, alg, privateKey, publicJwk: { ...publicJwk, kid, alg, use: 'sig' } });
        return kid;
    }

    /** The public key of the current RS256 key as a PEM-free JWK, for tokens forged with it (HS256 with the public key). */
    async publicJwk(): Promise<JWK> {
        return (await this.currentKey('RS256')).publicJwk;
    }

    private async currentKey(alg: 'RS256' | 'ES256'): Promise<SigningKey> {
        const existing = [...this.keys].reverse().find((key) => key.alg === alg);
        return existing ?? this.newKey(alg, this.keys);
    }

    private async newKey(alg: 'RS256' | 'ES256', into: SigningKey[]): Promise<SigningKey> {
        const { privateKey, publicKey } = await generateKeyPair(alg);
        const kid = randomUUID();
        const key = { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
        into.push(key);
        return key;
    }
}
