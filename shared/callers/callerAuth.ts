import type { createLocalJWKSet, errors as joseErrors, JWTPayload, JWTVerifyOptions } from 'jose';
import { z } from 'zod';
import { CallerConfig } from '../config';
import { normalizeEmail } from '../platform/email';
import { AppError } from '../platform/errors';
import { isSafeKeyUrl } from '../platform/keyUrl';
import { errorMessage, Logger, silentLogger } from '../platform/log';

/**
 * Verifies the caller's signed token (Entra ID client credentials, or Moveworks JWKS Auth) on top of the
 * function key Azure checks first. Signatures are jose's: RS256 and ES256 only, `exp`/`nbf` with 60 s of
 * leeway. The key set is cached here, so that its fetches are bounded however the issuer behaves.
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

type Jose = typeof import('jose');
let jose: Promise<Jose> | undefined;
/** jose is loaded on the first token, not at start-up: it costs every cold start about 40 ms otherwise. */
const loadJose = () => (jose ??= import('jose'));

const ALGORITHMS = ['RS256', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 60;
/**
 * A key set is fetched again for an unknown `kid` at most this often, so a flood of forged tokens cannot
 * hammer the issuer; a token signed with a key rotated in within it is refused until then.
 */
export const REFETCH_COOLDOWN_MS = 5_000;
/** A key set this old is fetched again in the background, while tokens go on being verified with it. */
const KEY_SET_MAX_AGE_MS = 10 * 60_000;

/** 401 with the error body; the function adds `WWW-Authenticate` (see toErrorAnswer). */
export class InvalidCallerToken extends AppError {
    constructor(message: string) {
        super(401, 'invalid_token', message);
        this.name = 'InvalidCallerToken';
    }
}

/** 403 caller_not_allowed, carrying who was refused, for the audit entry. */
export class CallerRefused extends AppError {
    constructor(
        readonly caller: Caller,
        message: string,
    ) {
        super(403, 'caller_not_allowed', message);
        this.name = 'CallerRefused';
    }
}

const keysUnavailable = () => new AppError(503, 'caller_keys_unavailable', "The caller's signing keys could not be fetched; try again shortly.");

const discovery = z.object({ jwks_uri: z.string() }).passthrough();
const keySetJson = z.object({ keys: z.array(z.object({ kty: z.string() }).passthrough()) }).passthrough();
/** A discovery document or key set larger than this is refused (a key set holds a few keys of about 1 KiB). */
const MAX_KEY_SET_BYTES = 256 * 1024;
/** Keys are used this long past a failed refresh, so a short outage of the issuer does not refuse known keys. */
const STALE_KEYS_MAX_AGE_MS = 60 * 60_000;

export class CallerVerifier {
    private keys?: { set: ReturnType<typeof createLocalJWKSet>; at: number };
    private lastAttempt = 0;
    private fetching?: Promise<void>;

    constructor(
        private readonly config: CallerConfig,
        private readonly timeoutMs: number,
        private readonly now: () => number = Date.now,
        private readonly log: Logger = silentLogger,
    ) {}

    /** The caller behind `Authorization: Bearer <token>`; throws 401 invalid_token, 403 caller_not_allowed or 503. */
    async verify(authorization: string | null | undefined): Promise<Caller> {
        const caller = await this.signedCaller(authorization);
        if (this.config.allowedClientIds.length > 0 && !this.config.allowedClientIds.includes(caller.clientId ?? '')) {
            throw new CallerRefused(caller, 'This client is not allowed to call the app (CALLER_ALLOWED_CLIENT_IDS).');
        }
        if (this.config.requiredRole && !caller.roles.includes(this.config.requiredRole)) {
            throw new CallerRefused(caller, `The caller's token does not carry the role ${this.config.requiredRole} (CALLER_REQUIRED_ROLE).`);
        }
        if (this.config.userEmailClaim && !caller.email) {
            throw new InvalidCallerToken(`The token carries no valid email in its ${this.config.userEmailClaim} claim (CALLER_USER_EMAIL_CLAIM).`);
        }
        return caller;
    }

    /**
     * The reader of the audit trail behind a token carrying CALLER_ADMIN_ROLE. The client list, the acting
     * role and the email claim are the action callers' rules, not an administrator's, so they do not apply.
     */
    async verifyAdmin(authorization: string | null | undefined): Promise<Caller> {
        const caller = await this.signedCaller(authorization);
        if (!this.config.adminRole || !caller.roles.includes(this.config.adminRole)) {
            throw new CallerRefused(caller, `The caller's token does not carry the role ${this.config.adminRole ?? '(none set)'} (CALLER_ADMIN_ROLE).`);
        }
        return caller;
    }

    private async signedCaller(authorization: string | null | undefined): Promise<Caller> {
        const token = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i.exec(authorization ?? '')?.[1];
        if (!token) throw new InvalidCallerToken('A signed caller token is required: send Authorization: Bearer <token>.');
        return toCaller(await this.verifiedPayload(token), this.config.userEmailClaim);
    }

    private async verifiedPayload(token: string): Promise<JWTPayload> {
        const jose = await loadJose();
        const options = { issuer: this.config.issuer, audience: this.config.audience, algorithms: ALGORITHMS, clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ['exp'] };
        try {
            try {
                return (await jose.jwtVerify(token, (header, input) => this.keyFor(header, input), options)).payload;
            } catch (error) {
                if (error instanceof jose.errors.JWKSMultipleMatchingKeys) return await verifiedByAnyOf(error, token, options, jose);
                throw error;
            }
        } catch (error) {
            throw toVerificationError(error, jose);
        }
    }

    /**
     * The key a token names, from the cached key set. A set past its maximum age goes on serving while one
     * refresh runs in the background, so the issuer's answer time never lands on a request. An unknown
     * `kid`, or no set young enough to use, waits for a fetch. Fetches go one at a time and at most once per
     * cooldown, successful or not: a flood of forged tokens, or an issuer that is down, costs the issuer one
     * request per cooldown.
     */
    private async keyFor(...args: Parameters<ReturnType<typeof createLocalJWKSet>>) {
        const known = () => (this.keys ? this.keys.set(...args) : Promise.reject(keysUnavailable()));
        const age = this.keys ? this.now() - this.keys.at : Infinity;
        if (age <= STALE_KEYS_MAX_AGE_MS) {
            if (age >= KEY_SET_MAX_AGE_MS) void this.refreshWhenDue();
            try {
                return await known();
            } catch (error) {
                if (!(error instanceof (await loadJose()).errors.JWKSNoMatchingKey)) throw error;
            }
        }
        // A fetch already under way may bring the key: every token waits for it, not only the one that started it.
        await this.refreshWhenDue();
        if (!this.keys || this.now() - this.keys.at > STALE_KEYS_MAX_AGE_MS) throw keysUnavailable();
        return known();
    }

    /** The fetch under way, or a new one once the cooldown since the last attempt has passed; never rejects. */
    private refreshWhenDue(): Promise<void> {
        if (!this.fetching && this.now() - this.lastAttempt < REFETCH_COOLDOWN_MS) return Promise.resolve();
        this.fetching ??= (async () => {
            this.lastAttempt = this.now();
            try {
                const set = keySetJson.parse(await this.fetchJson(await this.keySetUrl()));
                this.keys = { set: (await loadJose()).createLocalJWKSet(set), at: this.now() };
            } catch (error) {
                // Kept as it was: known keys go on working for a while, and the next attempt waits its cooldown.
                this.log.warn('caller.keys_refresh_failed', { error: errorMessage(error), keysAgeMs: this.keys ? this.now() - this.keys.at : undefined });
            } finally {
                this.fetching = undefined;
            }
        })();
        return this.fetching;
    }

    /** CALLER_JWKS_URL, or `jwks_uri` from the issuer's OpenID configuration (https, or http to this machine). */
    private async keySetUrl(): Promise<string> {
        if (this.config.jwksUrl) return this.config.jwksUrl;
        const { jwks_uri: url } = discovery.parse(await this.fetchJson(`${this.config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`));
        if (!isSafeKeyUrl(url)) throw new Error('the OpenID configuration names a key set that is not on https');
        return url;
    }

    private async fetchJson(url: string): Promise<unknown> {
        const answer = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), redirect: 'error', headers: { Accept: 'application/json' } });
        if (!answer.ok || !answer.body) {
            await answer.body?.cancel();
            throw new Error(`${url} answered ${answer.status}`);
        }
        const tooLarge = () => new Error(`${url} answered more than ${MAX_KEY_SET_BYTES} bytes`);
        if (Number(answer.headers.get('content-length') ?? 0) > MAX_KEY_SET_BYTES) {
            await answer.body.cancel();
            throw tooLarge();
        }
        // Read as it arrives and stop at the limit: a hostile or broken issuer cannot make the app hold more.
        const chunks: Uint8Array[] = [];
        let length = 0;
        for await (const chunk of answer.body) {
            length += chunk.length;
            if (length > MAX_KEY_SET_BYTES) {
                await answer.body.cancel().catch(() => undefined);
                throw tooLarge();
            }
            chunks.push(chunk);
        }
        return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    }
}

/**
 * A token without `kid` matches every published key of its type, and jose hands those keys over on the error
 * it throws: each is tried in turn. Only a bad signature moves on to the next key; an expired token, say, is
 * refused as such.
 */
async function verifiedByAnyOf(candidates: InstanceType<typeof joseErrors.JWKSMultipleMatchingKeys>, token: string, options: JWTVerifyOptions, jose: Jose): Promise<JWTPayload> {
    for await (const key of candidates) {
        try {
            return (await jose.jwtVerify(token, key, options)).payload;
        } catch (error) {
            if (!(error instanceof jose.errors.JWSSignatureVerificationFailed)) throw error;
        }
    }
    throw new jose.errors.JWSSignatureVerificationFailed();
}

function toVerificationError(error: unknown, { errors }: Jose): AppError {
    if (error instanceof AppError) return error;
    if (error instanceof errors.JWTExpired) return new InvalidCallerToken('The caller token has expired.');
    if (error instanceof errors.JWTClaimValidationFailed) return new InvalidCallerToken(`The caller token was refused: its ${error.claim} claim is not valid here.`);
    if (error instanceof errors.JWKSNoMatchingKey) return new InvalidCallerToken('The caller token is signed with a key the issuer does not publish.');
    // Any other failure is the token's (a bad signature, a key jose will not use, a malformed header): the
    // key set itself answered, since its failures are keysUnavailable above.
    return new InvalidCallerToken('The caller token could not be verified.');
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
