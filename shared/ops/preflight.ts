import { RestError, TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { Config, ConfigError, describeSources, IscApiVersion, IscConfig, loadConfig, MoveworksDelivery } from '../config';
import { CheckResult, DeepHealthReport } from '../contract';
import { HttpClient } from '../platform/http';
import { tableErrorCode } from '../store/storageFailure';
import { equals } from '../iiq/filter';
import { PluginClient } from '../iiq/pluginClient';
import { parseWorkItemList } from '../iiq/workItemXml';
import { ISC_COLLECTIONS, iscApiPath, IscClient } from '../isc/client';
import { errorMessage, Logger, silentLogger } from '../platform/log';
import { Pacer } from '../platform/pacer';
import { openTable } from '../store/table';
import { TokenCache } from '../platform/tokens';
import { attempt, CheckFailure, explainCommon, Explain, said, statusOf } from './checks';
import { moveworksChecks } from './moveworksChecks';

/**
 * The preflight: every configured dependency tried once, each within HTTP_TIMEOUT_MS, each failure told
 * as its cause and the fix. `npm run check` prints it and GET /api/health?deep=true answers it. Towards
 * SailPoint it only reads (the token endpoints are its only POSTs); it writes only a probe row to the
 * app's own tables, and a message to Moveworks only when asked to send a test.
 *
 * Its clients are its own: a fresh token cache, so a token is really requested (a cached one could
 * outlive a rotated secret), no retries and no waiting out a Retry-After, so each check ends in its budget.
 */

export interface PreflightOptions {
    /** Where failed calls and failed checks are logged (never a secret). */
    log?: Logger;
    /** Send one real test message to this person through the Events API: the only proof of the event id. */
    sendTestTo?: string;
}

/** Outside every partition the app reads (`iiq`, `isc`, `cursor`, `audit`). */
const PROBE_PARTITION = 'preflight';
/** `~` is outside the alphabet of approval ids (shared/approvalId.ts), so no approval row can carry this key. */
const PROBE_ROW_PREFIX = '~preflight-';

const settingsFix = (setting: string) => `set ${setting} in the environment or in local.settings.json ("Values"); in Azure, in the function app's settings`;

/** The settings exactly as the app reads them: the config, or one failed check per problem loadConfig names. */
export function checkSettings(env: NodeJS.ProcessEnv): { config?: Config; checks: CheckResult[] } {
    try {
        const config = loadConfig(env);
        return { config, checks: [{ name: `settings: ${describeSources(config)}`, ok: true }] };
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return {
            checks: error.problems.map((problem) => {
                const [setting, ...said] = problem.split(': ');
                return { name: `setting ${setting}`, ok: false, cause: said.join(': '), fix: settingsFix(setting) };
            }),
        };
    }
}

/** Every configured dependency, tried at once where they are independent; the checks in a fixed order. */
export async function runPreflight(config: Config, options: PreflightOptions = {}): Promise<DeepHealthReport> {
    const log = options.log ?? silentLogger;
    const budgetMs = config.http.timeoutMs;
    const http = new HttpClient({ ...config.http, maxRetries: 0, maxRetryAfterMs: 0 }, log);
    const tokens = new TokenCache();
    const issued: string[] = [];
    const groups = await Promise.all([
        config.iiq ? iiqChecks(new PluginClient(config.iiq, http, tokens), issued, budgetMs) : [],
        config.isc ? iscChecks(config.isc, new IscClient(config.isc, http, tokens, new Pacer(config.isc.maxPer10Seconds, 10_000)), issued, budgetMs) : [],
        tableChecks(config, budgetMs),
        moveworksChecks(config.moveworks, http, log, budgetMs, options.sendTestTo),
    ]);
    const checks = redacted(groups.flat(), [...secretsOf(config), ...issued]);
    for (const check of checks) if (!check.ok) log.warn('preflight.failed', { check: check.name, cause: check.cause });
    return { status: checks.every((check) => check.ok) ? 'ok' : 'failed', checks };
}

// IdentityIQ

const IIQ_URL_FIX = 'set IIQ_BASE_URL to everything before /identityiq, e.g. https://iiq.example.com:8443';

async function iiqChecks(client: PluginClient, issued: string[], budgetMs: number): Promise<CheckResult[]> {
    const token = await attempt('IdentityIQ: OAuth token', budgetMs, explainIiq(budgetMs, 'token'), async () => {
        issued.push(await client.token());
    });
    // Without a token every plugin call fails the same way: the token's line says what to fix.
    if (!token.ok) return [token];
    const list = await attempt('IdentityIQ plugin: list one work item', budgetMs, explainIiq(budgetMs, 'plugin'), async () => {
        parseWorkItemList(await client.listObjects('WorkItem', { filter: equals('type', 'Approval'), limit: 1 }));
    });
    const identity = await attempt('IdentityIQ plugin: look up one identity', budgetMs, explainIiq(budgetMs, 'plugin'), async () => {
        await client.queryIdentities(undefined, 1);
    });
    return [token, list, identity];
}

function explainIiq(budgetMs: number, step: 'token' | 'plugin'): Explain {
    return (error, timedOut) => {
        const common = explainCommon('IdentityIQ', 'IIQ_BASE_URL', budgetMs, error, timedOut);
        if (common) return common;
        const status = statusOf(error);
        if (step === 'token') {
            if (status === 400 || status === 401) {
                return { cause: `IdentityIQ refused the client credentials (${status})`, fix: 'check IIQ_CLIENT_ID and IIQ_CLIENT_SECRET against the API client (Global Settings → API Authentication)' };
            }
            if (status === 404) return { cause: 'IdentityIQ has no OAuth token endpoint at IIQ_BASE_URL/identityiq/oauth2/token (404)', fix: IIQ_URL_FIX };
            return { cause: `IdentityIQ could not issue a token (${status ?? 'no answer'})`, fix: `${IIQ_URL_FIX}; check that the API client exists` };
        }
        if (status === 401) {
            return {
                cause: 'IdentityIQ issued a token, then refused it at the plugin (401)',
                fix: "check the API client's proxy user (Global Settings → API Authentication): it must be an active identity",
            };
        }
        if (status === 403) {
            return {
                cause: 'the Moveworks plugin refused the service identity (403)',
                fix: 'give the API client\'s proxy user the capability "Moveworks Plugin Service Account"',
            };
        }
        if (status === 404) {
            return {
                cause: 'nothing answers at IIQ_BASE_URL/identityiq/plugin/rest/moveworks-plugin (404): the plugin is not installed, or the path is wrong',
                fix: `install the "Moveworks for SailPoint" plugin (gear menu → Plugins, with plugins enabled) and ${IIQ_URL_FIX}`,
            };
        }
        if (status !== undefined) return { cause: `IdentityIQ answered ${status}`, fix: IIQ_URL_FIX };
        return { cause: `IdentityIQ answered with something other than the plugin's data (${errorMessage(error)})`, fix: IIQ_URL_FIX };
    };
}

// Identity Security Cloud

const ISC_URL_FIX = 'set ISC_BASE_URL to https://{tenant}.api.identitynow.com';
const PAT = 'ISC_CLIENT_ID and ISC_CLIENT_SECRET must be a personal access token of the service identity (a user behind it, not an API client)';

async function iscChecks(isc: IscConfig, client: IscClient, issued: string[], budgetMs: number): Promise<CheckResult[]> {
    const token = await attempt('Identity Security Cloud: OAuth token', budgetMs, explainIsc(budgetMs, 'token'), async () => {
        issued.push(await client.token());
    });
    if (!token.ok) return [token];
    const checks = [token];
    if (isc.kinds.includes('access-requests')) {
        checks.push(
            await attempt('Identity Security Cloud: list one access-request approval', budgetMs, explainIsc(budgetMs, { scope: 'idn:access-request-approvals:read', path: iscApiPath(isc.apiVersion, ISC_COLLECTIONS.accessRequests), version: isc.apiVersion }), async () => {
                try {
                    await client.listAccessRequests(0, 1);
                } catch (error) {
                    if (statusOf(error) !== 403) throw error;
                    // Listing the whole organisation needs ORG_ADMIN; the identity's own list needs only the scope.
                    const ownListed = await client.listOwnAccessRequests(1).then(
                        () => true,
                        () => false,
                    );
                    if (!ownListed) throw error;
                    throw new CheckFailure({
                        cause: `ISC refused the whole organisation's pending access-request approvals (403${said(error)}), yet listed the service identity's own`,
                        fix: 'give the service identity behind ISC_CLIENT_ID the ORG_ADMIN user level',
                    });
                }
            }),
        );
    }
    if (isc.kinds.includes('generic')) {
        checks.push(
            await attempt('Identity Security Cloud: list one generic approval', budgetMs, explainIsc(budgetMs, { scope: 'idn:access-request-approvals:read', path: iscApiPath(isc.apiVersion, ISC_COLLECTIONS.generic), version: isc.apiVersion }), async () => {
                await client.listGeneric(0, 1);
            }),
        );
    }
    const user = isc.user;
    if (user) {
        checks.push(
            await attempt("Identity Security Cloud: the sign-in approvers connect through (ISC_AUTHORIZE_URL)", budgetMs, explainIsc(budgetMs, { scope: 'none', path: '/oauth/info', version: isc.apiVersion }), async () => {
                const endpoint = await client.authorizeEndpoint();
                if (endpoint && endpoint !== user.authorizeUrl) throw new CheckFailure({ cause: `ISC_AUTHORIZE_URL is not the tenant's authorizeEndpoint, ${endpoint}`, fix: `set ISC_AUTHORIZE_URL to ${endpoint}` });
            }),
        );
    }
    checks.push(
        await attempt('Identity Security Cloud: look up one identity', budgetMs, explainIsc(budgetMs, { scope: 'idn:identity:read', path: iscApiPath(isc.apiVersion, ISC_COLLECTIONS.identities), version: isc.apiVersion }), async () => {
            await client.findIdentities(undefined, { limit: 1 });
        }),
    );
    return checks;
}

/** The other layout, for a tenant that does not serve the configured one (see iscApiPath). */
const otherLayout = (version: IscApiVersion) => (version === 'v1' ? 'v2025' : 'v1');

/** `scope`: the one the call needs, named when ISC refuses it with 403; `path`: what the call asked for, named when ISC has no such path. */
function explainIsc(budgetMs: number, step: 'token' | { scope: string; path: string; version: IscApiVersion }): Explain {
    return (error, timedOut) => {
        const common = explainCommon('Identity Security Cloud', 'ISC_BASE_URL', budgetMs, error, timedOut);
        if (common) return common;
        const status = statusOf(error);
        if (step === 'token') {
            if (status === 400 || status === 401) {
                return { cause: `ISC refused the client credentials (${status})`, fix: `check ISC_CLIENT_ID and ISC_CLIENT_SECRET: ${PAT}, not expired or deleted` };
            }
            if (status === 404) return { cause: 'ISC has no token endpoint at ISC_BASE_URL/oauth/token (404)', fix: ISC_URL_FIX };
            return { cause: `ISC could not issue a token (${status ?? 'no answer'})`, fix: ISC_URL_FIX };
        }
        if (status === 401) return { cause: 'ISC issued a token, then refused it (401)', fix: `check that ISC_BASE_URL names the tenant the personal access token belongs to` };
        if (status === 403) {
            return {
                cause: `ISC refused the call (403${said(error)})`,
                fix: `${PAT}, whose token carries the scope ${step.scope}; its identity needs the ORG_ADMIN user level`,
            };
        }
        if (status === 404) {
            return {
                cause: `this tenant did not serve ${step.path} (404${said(error)})`,
                fix: `try ISC_API_VERSION=${otherLayout(step.version)} (ISC_API_VERSION is ${step.version}), and check that ISC_BASE_URL is https://{tenant}.api.identitynow.com`,
            };
        }
        if (status === 400) return { cause: `ISC answered 400${said(error)}`, fix: ISC_URL_FIX };
        return { cause: errorMessage(error), fix: ISC_URL_FIX };
    };
}

// The app's tables

async function tableChecks(config: Config, budgetMs: number): Promise<CheckResult[]> {
    const tables = [
        { name: `state table ${config.storage.tableName}: write, read and delete a probe row`, table: config.storage.tableName },
        { name: `audit table ${config.auditTableName}: write, read and delete a probe row`, table: config.auditTableName },
    ];
    return Promise.all(tables.map(({ name, table }) => attempt(name, budgetMs, explainTable(config.storage, budgetMs), (signal) => probeTable(singleAttempt(openTable(config.storage, table, budgetMs)), signal))));
}

/** Without the SDK's retries, as every other preflight call: a refused connection or a 503 is told as such, not as the budget running out. */
function singleAttempt(table: TableClient): TableClient {
    table.pipeline.removePolicy({ phase: 'Retry' });
    return table;
}

/** Creates the table when it is missing, as the app would on first use; the probe row is gone again when this ends well. */
async function probeTable(table: TableClient, abortSignal: AbortSignal): Promise<void> {
    await table.createTable({ abortSignal });
    const rowKey = `${PROBE_ROW_PREFIX}${randomUUID()}`;
    await table.createEntity({ partitionKey: PROBE_PARTITION, rowKey, writtenBy: 'npm run check' }, { abortSignal });
    const read = await table.getEntity(PROBE_PARTITION, rowKey, { abortSignal }).catch(async (error: unknown) => {
        await table.deleteEntity(PROBE_PARTITION, rowKey, { abortSignal }).catch(() => undefined);
        throw error;
    });
    await table.deleteEntity(PROBE_PARTITION, rowKey, { abortSignal });
    if (read.rowKey !== rowKey) throw new CheckFailure({ cause: 'the table answered the probe row with another row', fix: 'check STATE_TABLE_ENDPOINT or AzureWebJobsStorage: it must be an Azure Table endpoint' });
}

function explainTable(storage: Config['storage'], budgetMs: number): Explain {
    const where = 'connectionString' in storage ? 'AzureWebJobsStorage' : 'STATE_TABLE_ENDPOINT';
    const azurite = 'connectionString' in storage && /UseDevelopmentStorage=true|127\.0\.0\.1|localhost/i.test(storage.connectionString);
    const reach = azurite
        ? 'start Azurite (npx azurite --silent --location .azurite; npm start starts one itself) or correct AzureWebJobsStorage'
        : `check ${where} and that this machine can reach the storage account (firewall, private endpoint)`;
    const access =
        'connectionString' in storage
            ? 'check the account name and key in AzureWebJobsStorage'
            : storage.credential === 'managed-identity'
              ? 'give the function app\'s managed identity (AzureWebJobsStorage__clientId) the "Storage Table Data Contributor" role on the storage account'
              : 'give your account (az login) the "Storage Table Data Contributor" role on the storage account of STATE_TABLE_ENDPOINT';
    return (error, timedOut) => {
        if (timedOut) return { cause: `no answer from the table service within HTTP_TIMEOUT_MS (${budgetMs} ms)`, fix: reach };
        if (error instanceof RestError) {
            const errorCode = tableErrorCode(error);
            const code = errorCode ? ` ${errorCode}` : '';
            if (error.statusCode === 401 || error.statusCode === 403) return { cause: `the table service refused the app (${error.statusCode}${code})`, fix: access };
            if (error.statusCode === 404) return { cause: `the table service has no such account or table (404${code})`, fix: `check ${where}, STATE_TABLE_NAME and AUDIT_TABLE_NAME` };
            if (error.statusCode === undefined) return { cause: `the table service could not be reached (${errorCode ?? 'network error'})`, fix: reach };
            if (error.statusCode >= 500) return { cause: `the table service failed (${error.statusCode}${code})`, fix: 'try again in a minute; if it persists, check the storage account\'s health' };
            return { cause: `the table service answered ${error.statusCode}${code}`, fix: `check ${where}` };
        }
        if (error instanceof Error && /Credential|Authentication/.test(error.name)) {
            return {
                cause: `no credential for the table endpoint (${error.name})`,
                fix: 'credential' in storage && storage.credential === 'managed-identity' ? 'check that the function app has the user-assigned identity AzureWebJobsStorage__clientId names' : 'sign in with az login (or set AzureWebJobsStorage for local storage)',
            };
        }
        return { cause: `the table call failed (${errorMessage(error)})`, fix: reach };
    };
}

// Secrets

function secretsOf(config: Config): string[] {
    const connection = 'connectionString' in config.storage ? config.storage.connectionString : '';
    const accountKey = /AccountKey=([^;]+)/i.exec(connection)?.[1];
    const sharedAccessSignature = /SharedAccessSignature=([^;]+)/i.exec(connection)?.[1];
    return [config.iiq?.clientSecret, config.isc?.clientSecret, ...moveworksSecrets(config.moveworks.delivery), config.auditReaderKey, config.functionKey, config.masterKey, accountKey, sharedAccessSignature].filter(
        (secret): secret is string => secret !== undefined,
    );
}

function moveworksSecrets(delivery: MoveworksDelivery): (string | undefined)[] {
    return delivery.kind === 'events' ? [delivery.apiKey] : [delivery.key, delivery.signingSecret];
}

/** What other systems said is quoted in causes: a secret or token they echoed must not travel on. */
function redacted(checks: CheckResult[], secrets: string[]): CheckResult[] {
    // Every secret, however short: a short one may blank out an ordinary word, which is the lesser harm.
    const hidden = secrets.filter((secret) => secret.length > 0);
    const hide = (text: string) => hidden.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
    return checks.map(({ name, ok, cause, fix }) => ({ name: hide(name), ok, ...(cause !== undefined ? { cause: hide(cause) } : {}), ...(fix !== undefined ? { fix: hide(fix) } : {}) }));
}
