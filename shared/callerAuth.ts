import { createRemoteJWKSet, errors, JWTPayload, jwtVerify } from 'jose';
import { z } from 'zod';
import { CallerConfig } from './config';
import { normalizeEmail } from './email';
import { AppError } from './errors';

/**
 * Verifies the caller's signed token (Entra ID client credentials, or Moveworks JWKS Auth) on top of the
 * function key Azure checks first. Signatures, key sets and their rotation are jose's: RS256 and ES256
 * only, `exp`/`nbf` with 60 s of leeway, keys cached and fetched again on an unknown `kid` after a cooldown.
 */

/** Who is calling, from the verified token. */
export interface Caller {
    subject?: string;
    /** `azp` (Entra v2, Moveworks) or `appid` (Entra v1): the client the token was issued to. */
    clientId?: string;
    roles: string[];
    /** The acting person, from CALLER_USER_EMAIL_CLAIM, when it is set. */
    email?: string;
}

const ALGORITHMS = ['RS256', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 60;
/**
 * A key set is fetched again for an unknown `kid` at most this often, so a flood of forged tokens cannot
 * hammer the issuer; a token signed with a key rotated in within it is refused until then.
 */
export const REFETCH_COOLDOWN_MS = 5_000;
const KEY_SET_MAX_AGE_MS = 10 * 60_000;

/** 401 with the error body; the function adds `WWW-Authenticate` (see toErrorAnswer). */
export class InvalidCallerToken extends AppError {
    constructor(message: string) {
        super(401, 'invalid_token', message);
        this.name = 'InvalidCallerToken';
    }
}

const notAllowed = (message: string) => new AppError(403, 'caller_not_allowed', message);
const keysUnavailable = () => new AppError(503, 'caller_keys_unavailable', "The caller's signing keys could not be fetched; try again shortly.");

const discovery = z.object({ jwks_uri: z.string().url() }).passthrough();

export class CallerVerifier {
    private keySet?: Promise<ReturnType<typeof createRemoteJWKSet>>;

    constructor(
        private readonly config: CallerConfig,
        private readonly timeoutMs: number,
    ) {}

    /** The caller behind `Authorization: Bearer <token>`; throws 401 invalid_token, 403 caller_not_allowed or 503. */
    async verify(authorization: string | null | undefined): Promise<Caller> {
        const token = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i.exec(authorization ?? '')?.[1];
        if (!token) throw new InvalidCallerToken('A signed caller token is required: send Authorization: Bearer <token>.');
        const payload = await this.verifiedPayload(token);
        const caller = toCaller(payload, this.config.userEmailClaim);
        if (this.config.allowedClientIds.length > 0 && !this.config.allowedClientIds.includes(caller.clientId ?? '')) {
            throw notAllowed('This client is not allowed to call the app (CALLER_ALLOWED_CLIENT_IDS).');
        }
        if (this.config.requiredRole && !caller.roles.includes(this.config.requiredRole)) {
            throw notAllowed(`The caller's token does not carry the role ${this.config.requiredRole} (CALLER_REQUIRED_ROLE).`);
        }
        if (this.config.userEmailClaim && !caller.email) {
            throw new InvalidCallerToken(`The token carries no valid email in its ${this.config.userEmailClaim} claim (CALLER_USER_EMAIL_CLAIM).`);
        }
        return caller;
    }

    private async verifiedPayload(token: string): Promise<JWTPayload> {
        try {
            const { payload } = await jwtVerify(token, await this.keys(), {
                issuer: this.config.issuer,
                audience: this.config.audience,
                algorithms: ALGORITHMS,
                clockTolerance: CLOCK_TOLERANCE_SECONDS,
                requiredClaims: ['exp'],
            });
            return payload;
        } catch (error) {
            throw toVerificationError(error);
        }
    }

    private keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
        this.keySet ??= this.keySetUrl().then((url) =>
            createRemoteJWKSet(url, { timeoutDuration: this.timeoutMs, cooldownDuration: REFETCH_COOLDOWN_MS, cacheMaxAge: KEY_SET_MAX_AGE_MS }),
        );
        // A failed discovery is tried again by the next call, not remembered.
        this.keySet.catch(() => (this.keySet = undefined));
        return this.keySet;
    }

    /** CALLER_JWKS_URL, or `jwks_uri` from the issuer's OpenID configuration. */
    private async keySetUrl(): Promise<URL> {
        if (this.config.jwksUrl) return new URL(this.config.jwksUrl);
        const answer = await fetch(`${this.config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(this.timeoutMs) }).catch(() => {
            throw keysUnavailable();
        });
        const parsed = answer.ok ? discovery.safeParse(await answer.json().catch(() => undefined)) : undefined;
        if (!parsed?.success) throw keysUnavailable();
        return new URL(parsed.data.jwks_uri);
    }
}

function toVerificationError(error: unknown): AppError {
    if (error instanceof AppError) return error;
    if (error instanceof errors.JWTExpired) return new InvalidCallerToken('The caller token has expired.');
    if (error instanceof errors.JWTClaimValidationFailed) return new InvalidCallerToken(`The caller token was refused: its ${error.claim} claim is not valid here.`);
    if (error instanceof errors.JWKSNoMatchingKey) return new InvalidCallerToken('The caller token is signed with a key the issuer does not publish.');
    if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return keysUnavailable();
    if (error instanceof errors.JOSEError) return new InvalidCallerToken('The caller token could not be verified.');
    // The key set could not be fetched (connection refused, a non-200 answer): never accepted, and said so.
    return keysUnavailable();
}

function toCaller(payload: JWTPayload, emailClaim: string | undefined): Caller {
    const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : undefined);
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
    const claimed = emailClaim ? text(payload[emailClaim]) : undefined;
    return {
        subject: text(payload.sub),
        clientId: text(payload.azp) ?? text(payload.appid),
        roles,
        email: claimed === undefined ? undefined : normalizeEmail(claimed),
    };
}
