import { z } from 'zod';
import { isSafeKeyUrl } from './platform/keyUrl';
import { baseUrl, flag, integer, ncrontab, oneOf, optionalText, pattern, rawKey, setting } from './platform/settingValues';
import { parseTokenKeys, TokenKey } from './platform/tokenCipher';

/**
 * Every app setting the app reads, in one schema. A bad or missing setting stops start-up with one
 * message naming every problem, so an operator fixes them all in one pass.
 */

/** The kinds of ISC approval the app can bring into chat. */
export const ISC_APPROVAL_KINDS = ['access-requests', 'generic'] as const;
export type IscApprovalKind = (typeof ISC_APPROVAL_KINDS)[number];

const iscKinds = setting<IscApprovalKind[]>([...ISC_APPROVAL_KINDS], `must be a comma list of ${ISC_APPROVAL_KINDS.join(', ')} (at least one)`, (text) => {
    const named = text.split(',').map((kind) => kind.trim().toLowerCase()).filter((kind) => kind !== '');
    if (named.length === 0 || named.some((kind) => !(ISC_APPROVAL_KINDS as readonly string[]).includes(kind))) return undefined;
    return ISC_APPROVAL_KINDS.filter((kind) => named.includes(kind));
});

/**
 * The ISC API versions the app can call: `v1`, the per-service layout (`{base}/generic-approvals/v1/...`),
 * and the year-based ones (`{base}/v2025/generic-approvals/...`). `v3` predates generic approvals.
 */
export const ISC_API_VERSIONS = ['v1', 'v2026', 'v2025', 'v2024', 'v3'] as const;
export type IscApiVersion = (typeof ISC_API_VERSIONS)[number];
const ACCESS_REQUESTS_ONLY: readonly IscApiVersion[] = ['v3'];

/** The most a poll may spend sending, safely under host.json's functionTimeout of 2 minutes. */
export const MAX_POLL_BUDGET_SECONDS = 90;

export const DEFAULT_POLL_SCHEDULE = '0 */1 * * * *';
export const DEFAULT_CLEANUP_SCHEDULE = '0 30 3 * * *';

/** Headers every listener POST sets itself: a signature in one of them would replace what it carries. */
const RESERVED_HEADERS = ['authorization', 'content-type', 'accept', 'host', 'content-length'];

export const settingsSchema = z.object({
    IIQ_BASE_URL: baseUrl.optional(),
    IIQ_CLIENT_ID: optionalText,
    IIQ_CLIENT_SECRET: optionalText,
    IIQ_ID_PATTERN: pattern('^[0-9a-fA-F]{32}$'),
    IIQ_PAGE_SIZE: integer(250, 1, 5000),
    ISC_BASE_URL: baseUrl.optional(),
    ISC_CLIENT_ID: optionalText,
    ISC_CLIENT_SECRET: optionalText,
    ISC_API_VERSION: setting<IscApiVersion>('v1', `must be one of ${ISC_API_VERSIONS.join(', ')}`, (text) => ISC_API_VERSIONS.find((version) => version === text.toLowerCase())),
    ISC_ID_PATTERN: pattern('^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$'),
    ISC_MAX_PER_10_SECONDS: integer(90, 1, 10_000),
    ISC_APPROVAL_KINDS: iscKinds,
    ISC_RECOMMENDATIONS: oneOf(['on', 'off'], 'on'),
    ISC_DECIDE_AS: oneOf(['service', 'user'], 'service'),
    ISC_USER_CLIENT_ID: optionalText,
    ISC_USER_CLIENT_SECRET: optionalText,
    ISC_AUTHORIZE_URL: z
        .string()
        .trim()
        .refine(isSafeKeyUrl, 'must be an https URL: the tenant\'s authorizeEndpoint, https://{tenant}.login.sailpoint.com/oauth/authorize')
        .optional(),
    PUBLIC_BASE_URL: z
        .string()
        .trim()
        .refine((value) => isSafeKeyUrl(value) && new URL(value).pathname.replace(/\/+$/, '') === '' && !new URL(value).search, 'must be the app\'s external https URL, scheme and host only (e.g. https://approvals.example.com)')
        .transform((value) => value.replace(/\/+$/, ''))
        .optional(),
    USER_TOKEN_KEYS: setting<TokenKey[] | undefined>(undefined, 'must be a comma list of keyId:base64 256-bit keys (openssl rand -base64 32)', (text) => {
        const keys = parseTokenKeys(text);
        return typeof keys === 'string' ? undefined : keys;
    }),
    CONNECTION_RETENTION_DAYS: integer(90, 1, 3650),
    MOVEWORKS_BASE_URL: baseUrl.default('https://api.moveworks.ai'),
    MOVEWORKS_DELIVERY: oneOf(['events', 'listener'], 'events'),
    MOVEWORKS_EVENT_ID: optionalText.refine((value) => value === undefined || /^[A-Za-z0-9-]{1,100}$/.test(value), 'must be the event id (letters, digits and dashes)'),
    MOVEWORKS_API_KEY: rawKey,
    MOVEWORKS_LISTENER_URL: optionalText.refine((value) => value === undefined || isSafeKeyUrl(value), 'must be the listener\'s https webhook URL (http only to this machine)'),
    MOVEWORKS_LISTENER_KEY: rawKey,
    MOVEWORKS_LISTENER_SIGNING_SECRET: optionalText,
    MOVEWORKS_LISTENER_SIGNATURE_HEADER: setting('X-Signature', 'must be an HTTP header name of its own (not Authorization, Content-Type, Accept, Host or Content-Length)', (text) =>
        /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/.test(text) && !RESERVED_HEADERS.includes(text.toLowerCase()) ? text : undefined,
    ),
    MOVEWORKS_LISTENER_MAX_PER_SECOND: integer(5, 1, 1_000),
    ACTION_REFUSALS_AS: oneOf(['status', 'body'], 'status'),
    MOVEWORKS_MAX_PER_MINUTE: integer(120, 1, 100_000),
    MOVEWORKS_CONCURRENCY: integer(16, 1, 64),
    AzureWebJobsStorage: optionalText,
    STATE_TABLE_ENDPOINT: baseUrl.optional(),
    // The host's own identity-based storage settings (Flex Consumption): the app reaches its tables the same way.
    AzureWebJobsStorage__credential: z
        .string()
        .trim()
        .toLowerCase()
        .refine((value) => value === 'managedidentity', 'must be managedidentity, or unset outside Azure')
        .optional(),
    AzureWebJobsStorage__clientId: optionalText,
    STATE_TABLE_NAME: z
        .string()
        .trim()
        .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a valid table name (3-63 letters and digits, starting with a letter)')
        .default('approvals'),
    POLL_SCHEDULE: ncrontab(DEFAULT_POLL_SCHEDULE),
    FULL_SWEEP_MINUTES: integer(15, 0, 1440),
    WATERMARK_OVERLAP_SECONDS: integer(300, 0, 86_400),
    // host.json gives a function 2 minutes: the poll's sending stops well before, leaving time to list and record.
    POLL_BUDGET_SECONDS: integer(50, 5, MAX_POLL_BUDGET_SECONDS),
    HTTP_TIMEOUT_MS: integer(15_000, 100, 120_000),
    HTTP_MAX_RETRIES: integer(3, 0, 10),
    MAX_RESPONSE_BYTES: integer(10 * 1024 * 1024, 1024, 200 * 1024 * 1024),
    REQUIRE_REJECT_REASON: flag(false),
    MAX_COMMENT_LENGTH: integer(1000, 1, 4000),
    ALLOW_SELF_APPROVAL: flag(false),
    REMIND_AFTER_HOURS: integer(24, 1, 24 * 30),
    REMIND_MAX: integer(2, 0, 10),
    NOTIFY_REQUESTER: flag(false),
    RETENTION_DAYS: integer(90, 1, 3650),
    CLEANUP_SCHEDULE: ncrontab(DEFAULT_CLEANUP_SCHEDULE),
    AUDIT_TABLE_NAME: z
        .string()
        .trim()
        .regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be a valid table name (3-63 letters and digits, starting with a letter)')
        .default('audit'),
    FUNCTION_KEY: optionalText,
    MASTER_KEY: optionalText,
    CALLER_JWT_ISSUER: optionalText,
    CALLER_JWT_AUDIENCE: optionalText,
    CALLER_JWKS_URL: baseUrl.optional(),
    CALLER_ALLOWED_CLIENT_IDS: optionalText,
    CALLER_REQUIRED_ROLE: optionalText,
    CALLER_USER_EMAIL_CLAIM: optionalText,
    CALLER_ADMIN_ROLE: optionalText,
    AUDIT_READER_KEY: z
        .string()
        .trim()
        .min(32, 'must be at least 32 characters: it opens the audit trail on its own, without a function key')
        .optional(),
});

export type Settings = z.infer<typeof settingsSchema>;

/** Names of every app setting the schema reads (for docs/configuration.md and the infrastructure checks). */
export const SETTING_NAMES = Object.keys(settingsSchema.shape) as (keyof Settings)[];

export interface IiqConfig {
    baseUrl: string;
    clientId: string;
    clientSecret: string;
    idPattern: RegExp;
    pageSize: number;
}

export interface IscConfig {
    baseUrl: string;
    clientId: string;
    clientSecret: string;
    apiVersion: IscApiVersion;
    idPattern: RegExp;
    maxPer10Seconds: number;
    /** Which kinds the app lists and acts on, in a fixed order (access requests first). */
    kinds: IscApprovalKind[];
    /** ISC_RECOMMENDATIONS: Identity AI's recommendation on access-request messages (never asked of v3, which has no such API). */
    recommendations: boolean;
    /** ISC_DECIDE_AS=user: writes are made with each approver's own token, through their connection. */
    user?: IscUserConfig;
}

/** The approvers' own sign-in (ISC_DECIDE_AS=user). */
export interface IscUserConfig {
    clientId: string;
    clientSecret: string;
    authorizeUrl: string;
    publicBaseUrl: string;
    tokenKeys: TokenKey[];
    retentionDays: number;
}

/** Verification of the caller's signed token, on when CALLER_JWT_ISSUER is set. */
export interface CallerConfig {
    issuer: string;
    audience: string;
    jwksUrl?: string;
    allowedClientIds: string[];
    requiredRole?: string;
    /** The claim that names the acting person by email (e.g. one Moveworks fills from the clicking user). */
    userEmailClaim?: string;
    /** A role that lets a caller token read the audit trail. */
    adminRole?: string;
}

/** MOVEWORKS_DELIVERY: through a published Classic event (Events API), or to an Agent Studio webhook listener. */
export type MoveworksDelivery =
    | { kind: 'events'; eventId: string; apiKey: string }
    | { kind: 'listener'; url: string; key: string; signingSecret?: string; signatureHeader: string; maxPerSecond: number };

export interface Config {
    iiq?: IiqConfig;
    isc?: IscConfig;
    moveworks: { baseUrl: string; maxPerMinute: number; concurrency: number; delivery: MoveworksDelivery };
    /** ACTION_REFUSALS_AS: refusals that are the user's business answered with their status code, or 200 with the outcome in the body. */
    refusalsAs: 'status' | 'body';
    /**
     * A connection string (local, Azurite), or a table endpoint reached with the managed identity (Azure:
     * a user-assigned one when its client id is given) or with the developer's credentials (local).
     */
    storage: { connectionString: string; tableName: string } | { endpoint: string; credential: 'managed-identity' | 'developer'; managedIdentityClientId?: string; tableName: string };
    poll: { schedule: string; fullSweepMinutes: number; overlapSeconds: number; budgetSeconds: number };
    http: { timeoutMs: number; maxRetries: number; maxResponseBytes: number };
    decisions: { requireRejectReason: boolean; maxCommentLength: number; allowSelfApproval: boolean; notifyRequester: boolean };
    reminders: { afterHours: number; max: number };
    retention: { days: number; schedule: string };
    auditTableName: string;
    functionKey?: string;
    masterKey?: string;
    caller?: CallerConfig;
    /** A key that reads the audit trail at `audit/delegated`, revocable without rotating the master key. */
    auditReaderKey?: string;
}

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid app settings:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
        this.name = 'ConfigError';
    }
}

const SOURCE_GROUPS = {
    IdentityIQ: ['IIQ_BASE_URL', 'IIQ_CLIENT_ID', 'IIQ_CLIENT_SECRET'],
    'Identity Security Cloud': ['ISC_BASE_URL', 'ISC_CLIENT_ID', 'ISC_CLIENT_SECRET'],
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
    const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
    const result = settingsSchema.safeParse(given);
    const problems = result.success
        ? []
        : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);

    // A source is on when its settings are present: all of its group, or none.
    let sourcesMentioned = 0;
    for (const group of Object.values(SOURCE_GROUPS)) {
        const present = group.filter((name) => name in given);
        if (present.length > 0) sourcesMentioned++;
        if (present.length === 0 || present.length === group.length) continue;
        for (const name of group.filter((candidate) => !present.includes(candidate))) {
            problems.push(`${name}: is required when ${present.join(', ')} ${present.length === 1 ? 'is' : 'are'} set`);
        }
    }
    if (sourcesMentioned === 0) {
        problems.push(
            `IIQ_BASE_URL: no approval source is configured: set ${SOURCE_GROUPS.IdentityIQ.join(', ')} and/or ${SOURCE_GROUPS['Identity Security Cloud'].join(', ')}`,
        );
    }
    const storageSettings = ['AzureWebJobsStorage', 'STATE_TABLE_ENDPOINT'].filter((name) => name in given);
    if (storageSettings.length !== 1) {
        problems.push(
            storageSettings.length === 0
                ? 'STATE_TABLE_ENDPOINT: set it (the table endpoint, reached with the managed identity) or AzureWebJobsStorage (a connection string, "UseDevelopmentStorage=true" for Azurite)'
                : 'STATE_TABLE_ENDPOINT: set either it or AzureWebJobsStorage, not both',
        );
    }
    for (const [name, value] of Object.entries(given)) {
        if (name in settingsSchema.shape && /^@Microsoft\.KeyVault\(/i.test(value ?? '')) {
            problems.push(`${name}: the Key Vault reference was not resolved: check that the app's identity may read the secret and that it exists`);
        }
    }
    problems.push(...callerProblems(given));
    problems.push(...deliveryProblems(given));
    if (result.success) problems.push(...userModeProblems(result.data, given));
    if (result.success && result.data.ISC_BASE_URL && ACCESS_REQUESTS_ONLY.includes(result.data.ISC_API_VERSION) && result.data.ISC_APPROVAL_KINDS.includes('generic')) {
        problems.push(`ISC_API_VERSION: ${result.data.ISC_API_VERSION} serves access-request approvals only: set ISC_APPROVAL_KINDS=access-requests, or ISC_API_VERSION=v1 for generic approvals too`);
    }
    for (const other of ['FUNCTION_KEY', 'MASTER_KEY']) {
        if (given.AUDIT_READER_KEY?.trim() && given.AUDIT_READER_KEY.trim() === given[other]?.trim()) {
            problems.push(`AUDIT_READER_KEY: must differ from ${other}, or every holder of that key can read the audit trail`);
        }
    }
    if (problems.length > 0 || !result.success) throw new ConfigError(problems);

    const s = result.data;
    return {
        iiq:
            s.IIQ_BASE_URL && s.IIQ_CLIENT_ID && s.IIQ_CLIENT_SECRET
                ? {
                      baseUrl: s.IIQ_BASE_URL,
                      clientId: s.IIQ_CLIENT_ID,
                      clientSecret: s.IIQ_CLIENT_SECRET,
                      idPattern: s.IIQ_ID_PATTERN,
                      pageSize: s.IIQ_PAGE_SIZE,
                  }
                : undefined,
        isc:
            s.ISC_BASE_URL && s.ISC_CLIENT_ID && s.ISC_CLIENT_SECRET
                ? {
                      baseUrl: s.ISC_BASE_URL,
                      clientId: s.ISC_CLIENT_ID,
                      clientSecret: s.ISC_CLIENT_SECRET,
                      apiVersion: s.ISC_API_VERSION,
                      idPattern: s.ISC_ID_PATTERN,
                      maxPer10Seconds: s.ISC_MAX_PER_10_SECONDS,
                      kinds: s.ISC_APPROVAL_KINDS,
                      recommendations: s.ISC_RECOMMENDATIONS === 'on' && s.ISC_API_VERSION !== 'v3',
                      ...(s.ISC_DECIDE_AS === 'user' && s.ISC_USER_CLIENT_ID && s.ISC_USER_CLIENT_SECRET && s.ISC_AUTHORIZE_URL && s.PUBLIC_BASE_URL && s.USER_TOKEN_KEYS
                          ? {
                                user: {
                                    clientId: s.ISC_USER_CLIENT_ID,
                                    clientSecret: s.ISC_USER_CLIENT_SECRET,
                                    authorizeUrl: s.ISC_AUTHORIZE_URL,
                                    publicBaseUrl: s.PUBLIC_BASE_URL,
                                    tokenKeys: s.USER_TOKEN_KEYS,
                                    retentionDays: s.CONNECTION_RETENTION_DAYS,
                                },
                            }
                          : {}),
                  }
                : undefined,
        moveworks: {
            baseUrl: s.MOVEWORKS_BASE_URL,
            maxPerMinute: s.MOVEWORKS_MAX_PER_MINUTE,
            concurrency: s.MOVEWORKS_CONCURRENCY,
            delivery:
                s.MOVEWORKS_DELIVERY === 'listener'
                    ? {
                          kind: 'listener',
                          url: s.MOVEWORKS_LISTENER_URL as string,
                          key: s.MOVEWORKS_LISTENER_KEY as string,
                          signingSecret: s.MOVEWORKS_LISTENER_SIGNING_SECRET,
                          signatureHeader: s.MOVEWORKS_LISTENER_SIGNATURE_HEADER,
                          maxPerSecond: s.MOVEWORKS_LISTENER_MAX_PER_SECOND,
                      }
                    : { kind: 'events', eventId: s.MOVEWORKS_EVENT_ID as string, apiKey: s.MOVEWORKS_API_KEY as string },
        },
        refusalsAs: s.ACTION_REFUSALS_AS,
        storage: s.STATE_TABLE_ENDPOINT
            ? s.AzureWebJobsStorage__credential
                ? { endpoint: s.STATE_TABLE_ENDPOINT, credential: 'managed-identity', managedIdentityClientId: s.AzureWebJobsStorage__clientId, tableName: s.STATE_TABLE_NAME }
                : { endpoint: s.STATE_TABLE_ENDPOINT, credential: 'developer', tableName: s.STATE_TABLE_NAME }
            : { connectionString: s.AzureWebJobsStorage as string, tableName: s.STATE_TABLE_NAME },
        poll: {
            schedule: s.POLL_SCHEDULE,
            fullSweepMinutes: s.FULL_SWEEP_MINUTES,
            overlapSeconds: s.WATERMARK_OVERLAP_SECONDS,
            budgetSeconds: s.POLL_BUDGET_SECONDS,
        },
        http: { timeoutMs: s.HTTP_TIMEOUT_MS, maxRetries: s.HTTP_MAX_RETRIES, maxResponseBytes: s.MAX_RESPONSE_BYTES },
        decisions: {
            requireRejectReason: s.REQUIRE_REJECT_REASON,
            maxCommentLength: s.MAX_COMMENT_LENGTH,
            allowSelfApproval: s.ALLOW_SELF_APPROVAL,
            notifyRequester: s.NOTIFY_REQUESTER,
        },
        reminders: { afterHours: s.REMIND_AFTER_HOURS, max: s.REMIND_MAX },
        retention: { days: s.RETENTION_DAYS, schedule: s.CLEANUP_SCHEDULE },
        auditTableName: s.AUDIT_TABLE_NAME,
        functionKey: s.FUNCTION_KEY,
        masterKey: s.MASTER_KEY,
        auditReaderKey: s.AUDIT_READER_KEY,
        caller: s.CALLER_JWT_ISSUER
            ? {
                  issuer: s.CALLER_JWT_ISSUER,
                  audience: s.CALLER_JWT_AUDIENCE as string,
                  jwksUrl: s.CALLER_JWKS_URL,
                  allowedClientIds: (s.CALLER_ALLOWED_CLIENT_IDS ?? '').split(',').map((id) => id.trim()).filter((id) => id !== ''),
                  requiredRole: s.CALLER_REQUIRED_ROLE,
                  userEmailClaim: s.CALLER_USER_EMAIL_CLAIM,
                  adminRole: s.CALLER_ADMIN_ROLE,
              }
            : undefined,
    };
}

/** "IdentityIQ; Identity Security Cloud v2025 (kinds: access-requests, generic)": what this configuration polls. */
export function describeSources(config: Config): string {
    const sources = [
        ...(config.iiq ? ['IdentityIQ'] : []),
        ...(config.isc ? [`Identity Security Cloud ${config.isc.apiVersion} (kinds: ${config.isc.kinds.join(', ')})`] : []),
    ];
    return sources.join('; ');
}

/** Each delivery mode needs its own settings: the event and its API key, or the listener and its key. */
function deliveryProblems(given: Record<string, string | undefined>): string[] {
    const isSet = (name: string) => (given[name] ?? '').trim() !== '';
    const delivery = (given.MOVEWORKS_DELIVERY ?? '').trim().toLowerCase() || 'events';
    if (delivery === 'events') {
        return [
            ...(isSet('MOVEWORKS_EVENT_ID') ? [] : ['MOVEWORKS_EVENT_ID: is required: the id of the published Moveworks event (or set MOVEWORKS_DELIVERY=listener)']),
            ...(isSet('MOVEWORKS_API_KEY') ? [] : ['MOVEWORKS_API_KEY: is required: the Moveworks API key, without "Bearer "']),
        ];
    }
    if (delivery !== 'listener') return [];
    return [
        ...(isSet('MOVEWORKS_LISTENER_URL') ? [] : ['MOVEWORKS_LISTENER_URL: is required when MOVEWORKS_DELIVERY=listener: the webhook URL of the Agent Studio listener']),
        ...(isSet('MOVEWORKS_LISTENER_KEY') ? [] : ['MOVEWORKS_LISTENER_KEY: is required when MOVEWORKS_DELIVERY=listener: the Moveworks API key the listener verifies, without "Bearer "']),
    ];
}

const USER_MODE_SETTINGS = ['ISC_USER_CLIENT_ID', 'ISC_USER_CLIENT_SECRET', 'ISC_AUTHORIZE_URL', 'PUBLIC_BASE_URL', 'USER_TOKEN_KEYS'] as const;

/** ISC_DECIDE_AS=user needs ISC and every setting of the approvers' sign-in; without it they take no effect. */
function userModeProblems(settings: Settings, given: Record<string, string | undefined>): string[] {
    if (settings.ISC_DECIDE_AS !== 'user') {
        return USER_MODE_SETTINGS.filter((name) => name in given).map((name) => `${name}: takes effect only with ISC_DECIDE_AS=user, which is not set`);
    }
    const missing = USER_MODE_SETTINGS.filter((name) => !(name in given)).map((name) => `${name}: is required when ISC_DECIDE_AS=user`);
    if (!settings.ISC_BASE_URL) missing.push('ISC_DECIDE_AS: user needs Identity Security Cloud configured (ISC_BASE_URL, ISC_CLIENT_ID, ISC_CLIENT_SECRET)');
    return missing;
}

const CALLER_OPTIONS = ['CALLER_JWT_AUDIENCE', 'CALLER_JWKS_URL', 'CALLER_ALLOWED_CLIENT_IDS', 'CALLER_REQUIRED_ROLE', 'CALLER_USER_EMAIL_CLAIM', 'CALLER_ADMIN_ROLE'] as const;

/** Caller verification is on with CALLER_JWT_ISSUER; then an audience is required, and the keys must be findable. */
function callerProblems(given: Record<string, string | undefined>): string[] {
    const issuer = given.CALLER_JWT_ISSUER?.trim();
    if (!issuer) {
        return CALLER_OPTIONS.filter((name) => name in given).map((name) => `${name}: takes effect only with CALLER_JWT_ISSUER, which is not set`);
    }
    const problems: string[] = [];
    if (!given.CALLER_JWT_AUDIENCE?.trim()) problems.push('CALLER_JWT_AUDIENCE: is required when CALLER_JWT_ISSUER is set (the aud the tokens must carry)');
    const jwksUrl = given.CALLER_JWKS_URL?.trim();
    // Keys fetched over plain http could be swapped on the way, and with them any token minted.
    if (jwksUrl && !isSafeKeyUrl(jwksUrl)) problems.push('CALLER_JWKS_URL: must be an https URL');
    if (!jwksUrl && !isSafeKeyUrl(issuer)) {
        problems.push('CALLER_JWKS_URL: is required when CALLER_JWT_ISSUER is not an https URL whose /.well-known/openid-configuration names the keys');
    }
    if (given.CALLER_ADMIN_ROLE?.trim() && given.CALLER_ADMIN_ROLE.trim() === given.CALLER_REQUIRED_ROLE?.trim()) {
        problems.push('CALLER_ADMIN_ROLE: must differ from CALLER_REQUIRED_ROLE, or every caller that acts can read the whole audit trail');
    }
    const clients = given.CALLER_ALLOWED_CLIENT_IDS;
    if (clients !== undefined && clients.split(',').every((id) => id.trim() === '')) problems.push('CALLER_ALLOWED_CLIENT_IDS: names no client; leave it unset to allow every client');
    return problems;
}
