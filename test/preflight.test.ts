import Ajv2020 from 'ajv/dist/2020';
import { AzureNamedKeyCredential, generateAccountSas, TableClient } from '@azure/data-tables';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AZURITE_ACCOUNT_KEY } from '../dev/azurite';
import { runCheck } from '../dev/check';
import { loadLocalSettings } from '../dev/localSettings';
import { Route } from '../dev/simulator/simulator';
import { SETTING_NAMES } from '../shared/config';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

/** The preflight (`npm run check`, GET /api/health?deep=true) against the simulator and Azurite, over real HTTP. */

const READER_KEY = 'preflight-reader-key-0123456789abcdef012345';
/** What a preflight may ask SailPoint and Moveworks: tokens, reads, and the Moveworks probe or test message. */
const READ_ONLY_ROUTES: Route[] = ['iiq.token', 'iiq.list', 'iiq.identities', 'isc.token', 'isc.list', 'isc.accessRequests.pending', 'isc.identities', 'moveworks.authTest', 'moveworks.send'];

let h: Harness;
afterEach(async () => {
    await h?.stop();
});

const begin = async () => {
    h = await startHarness({ simulator: { sources: ['iiq', 'isc'] } });
    return h;
};

async function check(overrides: Record<string, string> = {}, argv: string[] = []) {
    const lines: string[] = [];
    const started = Date.now();
    const status = await runCheck({ ...h.settings, ...overrides }, argv, (line) => lines.push(line));
    return { status, lines, output: lines.join('\n'), elapsedMs: Date.now() - started };
}

/** The line of the check whose name starts with `name`. */
function lineOf(lines: string[], name: string): string {
    const found = lines.find((line) => line.startsWith(`ok   ${name}`) || line.startsWith(`FAIL ${name}`));
    if (!found) throw new Error(`no line for ${name} in:\n${lines.join('\n')}`);
    return found;
}

/** The cause and the fix on the line of the failed check named `name` (in full: names hold colons too). */
function failure(lines: string[], name: string): { cause: string; fix: string } {
    const line = lines.find((candidate) => candidate.startsWith(`FAIL ${name}: `));
    if (!line) throw new Error(`no failed check ${name} in:\n${lines.join('\n')}`);
    const rest = line.slice(`FAIL ${name}: `.length);
    const split = rest.indexOf(' — ');
    return { cause: rest.slice(0, split), fix: rest.slice(split + 3) };
}

const MOVEWORKS = 'Moveworks: API key and host (not the event id: --send-test proves it)';
const stateTable = () => `state table ${h.settings.STATE_TABLE_NAME}: write, read and delete a probe row`;
const auditTable = () => `audit table ${h.settings.AUDIT_TABLE_NAME}: write, read and delete a probe row`;

const sailPointRoutesAsked = () => [...new Set(h.simulator.requests.map((request) => request.route))];

describe('npm run check', () => {
    it('passes every check against the healthy simulator, writes nothing to SailPoint, sends no message and leaves no probe row', async () => {
        await begin();
        const { status, lines } = await check();
        expect(lines).toEqual([
            'ok   settings: IdentityIQ; Identity Security Cloud v1 (kinds: access-requests, generic)',
            'ok   IdentityIQ: OAuth token',
            'ok   IdentityIQ plugin: list one work item',
            'ok   IdentityIQ plugin: look up one identity',
            'ok   Identity Security Cloud: OAuth token',
            'ok   Identity Security Cloud: list one access-request approval',
            'ok   Identity Security Cloud: list one generic approval',
            'ok   Identity Security Cloud: look up one identity',
            `ok   ${stateTable()}`,
            `ok   ${auditTable()}`,
            `ok   ${MOVEWORKS}`,
            '11 checks, all ok',
        ]);
        expect(status).toBe(0);
        expect(sailPointRoutesAsked().filter((route) => !READ_ONLY_ROUTES.includes(route))).toEqual([]);
        expect(h.simulator.requests.filter((request) => request.route === 'iiq.list' || request.route === 'iiq.identities').map((request) => request.url.searchParams.get('limit'))).toEqual(['1', '1']);
        expect(h.simulator.messages).toEqual([]);
        for (const name of [h.settings.STATE_TABLE_NAME, h.settings.AUDIT_TABLE_NAME]) {
            const table = TableClient.fromConnectionString(h.settings.AzureWebJobsStorage, name, { allowInsecureConnection: true });
            const rows = [];
            for await (const row of table.listEntities()) rows.push(row);
            expect([name, rows]).toEqual([name, []]);
        }
    });

    it('checks only the ISC kinds that are on', async () => {
        await begin();
        const { lines } = await check({ ISC_APPROVAL_KINDS: 'generic' });
        expect(lines.filter((line) => line.includes('access-request approval'))).toEqual([]);
        expect(lineOf(lines, 'Identity Security Cloud: list one generic approval')).toMatch(/^ok /);
        expect(h.simulator.calls['isc.accessRequests.pending']).toBe(0);
    });

    it('reports every bad setting loadConfig names, and tries nothing until they are fixed', async () => {
        await begin();
        const { status, lines } = await check({ IIQ_CLIENT_SECRET: '', HTTP_TIMEOUT_MS: '5', MOVEWORKS_API_KEY: 'Bearer abc' });
        expect(lines.filter((line) => line.startsWith('FAIL setting ')).map((line) => line.split(':')[0])).toEqual(
            expect.arrayContaining(['FAIL setting IIQ_CLIENT_SECRET', 'FAIL setting HTTP_TIMEOUT_MS', 'FAIL setting MOVEWORKS_API_KEY']),
        );
        expect(failure(lines, 'setting HTTP_TIMEOUT_MS')).toEqual({ cause: 'must be a whole number from 100 to 120000', fix: expect.stringContaining('set HTTP_TIMEOUT_MS in the environment or in local.settings.json') });
        expect(lines.at(-1)).toBe('3 checks, 3 failed (dependencies not tried until the settings are valid)');
        expect(status).toBe(1);
        expect(h.simulator.requests).toEqual([]);
    });

    it('tells a bad secret (401 at the token) apart, naming the secret settings, and tries that source no further', async () => {
        await begin();
        const { status, lines } = await check({ IIQ_CLIENT_SECRET: 'not-the-secret', ISC_CLIENT_SECRET: 'not-the-isc-secret' });
        expect(failure(lines, 'IdentityIQ: OAuth token')).toEqual({
            cause: 'IdentityIQ refused the client credentials (401)',
            fix: 'check IIQ_CLIENT_ID and IIQ_CLIENT_SECRET against the API client (Global Settings → API Authentication)',
        });
        const isc = failure(lines, 'Identity Security Cloud: OAuth token');
        expect(isc.cause).toBe('ISC refused the client credentials (401)');
        expect(isc.fix).toMatch(/ISC_CLIENT_SECRET.*personal access token/);
        expect(isc.fix).not.toMatch(/ORG_ADMIN/);
        expect(lines.filter((line) => /plugin:|list one|look up/.test(line))).toEqual([]);
        expect(lineOf(lines, 'Moveworks')).toMatch(/^ok /);
        expect(lines.at(-1)).toBe('6 checks, 2 failed');
        expect(status).toBe(1);
    });

    it('tells a missing ORG_ADMIN level (403 on the whole organisation, the own list answered) from a missing scope', async () => {
        await begin();
        h.simulator.isc.orgAdmin = false;
        let run = await check();
        const noAdmin = failure(run.lines, 'Identity Security Cloud: list one access-request approval');
        expect(noAdmin.cause).toMatch(/403.*ORG_ADMIN/);
        expect(noAdmin.fix).toBe('give the service identity behind ISC_CLIENT_ID the ORG_ADMIN user level');
        expect(lineOf(run.lines, 'Identity Security Cloud: OAuth token')).toMatch(/^ok /);
        expect(run.status).toBe(1);

        h.simulator.isc.orgAdmin = true;
        h.simulator.isc.scopes.delete('idn:identity:read');
        run = await check();
        expect(failure(run.lines, 'Identity Security Cloud: look up one identity').fix).toMatch(/personal access token.*scope idn:identity:read/);
        expect(lineOf(run.lines, 'Identity Security Cloud: list one access-request approval')).toMatch(/^ok /);

        h.simulator.isc.scopes.delete('idn:access-request-approvals:read');
        h.simulator.isc.scopes.delete('idn:access-request-approvals:manage');
        run = await check();
        for (const name of ['Identity Security Cloud: list one access-request approval', 'Identity Security Cloud: list one generic approval']) {
            expect(failure(run.lines, name).fix).toMatch(/scope idn:access-request-approvals:read/);
        }
    });

    it('tells the IdentityIQ plugin missing (404) from the service identity lacking its capability (403)', async () => {
        await begin();
        h.simulator.pluginInstalled = false;
        let run = await check();
        expect(lineOf(run.lines, 'IdentityIQ: OAuth token')).toMatch(/^ok /);
        for (const name of ['IdentityIQ plugin: list one work item', 'IdentityIQ plugin: look up one identity']) {
            const { cause, fix } = failure(run.lines, name);
            expect(cause).toMatch(/404.*plugin is not installed/);
            expect(fix).toMatch(/install the "Moveworks for SailPoint" plugin.*IIQ_BASE_URL/);
        }
        expect(run.status).toBe(1);

        h.simulator.pluginInstalled = true;
        h.simulator.failNext('iiq.list', { status: 403, body: 'Forbidden' });
        run = await check();
        expect(failure(run.lines, 'IdentityIQ plugin: list one work item')).toEqual({
            cause: 'the Moveworks plugin refused the service identity (403)',
            fix: 'give the API client\'s proxy user the capability "Moveworks Plugin Service Account"',
        });
        expect(lineOf(run.lines, 'IdentityIQ plugin: look up one identity')).toMatch(/^ok /);
    });

    it.each([
        { tenant: 'v2025' as const, setting: undefined, asked: '/access-request-approvals/v1/pending', other: 'v2025' },
        { tenant: 'v1' as const, setting: 'v2025', asked: '/v2025/access-request-approvals/pending', other: 'v1' },
    ])('calls the layout the app uses, and names the setting when a $tenant tenant does not serve it', async ({ tenant, setting, asked, other }) => {
        h = await startHarness({ simulator: { sources: ['isc'], iscApiVersion: tenant } });
        const { ISC_API_VERSION: _tenants, ...settings } = h.settings;
        const lines: string[] = [];
        await runCheck(setting === undefined ? settings : { ...settings, ISC_API_VERSION: setting }, [], (line) => lines.push(line));
        const { cause, fix } = failure(lines, 'Identity Security Cloud: list one access-request approval');
        expect(cause).toMatch(new RegExp(`^this tenant did not serve ${asked} \\(404`));
        expect(fix).toMatch(new RegExp(`^try ISC_API_VERSION=${other} `));
    });

    it('in ISC_DECIDE_AS=user, checks ISC_AUTHORIZE_URL against the tenant\'s /oauth/info, naming the right one', async () => {
        await begin();
        const user = { ...h.simulator.userOAuthSettings(), ISC_DECIDE_AS: 'user', PUBLIC_BASE_URL: 'https://approvals.example.com', USER_TOKEN_KEYS: `k1:${Buffer.alloc(32, 3).toString('base64')}` };
        const name = 'Identity Security Cloud: the sign-in approvers connect through (ISC_AUTHORIZE_URL)';
        expect(lineOf((await check(user)).lines, name)).toMatch(/^ok /);
        const wrong = await check({ ...user, ISC_AUTHORIZE_URL: 'https://other.login.sailpoint.com/oauth/authorize' });
        expect(failure(wrong.lines, name)).toEqual({
            cause: `ISC_AUTHORIZE_URL is not the tenant's authorizeEndpoint, ${h.simulator.baseUrl}/oauth/authorize`,
            fix: `set ISC_AUTHORIZE_URL to ${h.simulator.baseUrl}/oauth/authorize`,
        });
    });

    it('answers 404 at the token endpoint with the IIQ_BASE_URL shape, not the plugin', async () => {
        await begin();
        const { lines } = await check({ IIQ_BASE_URL: `${h.simulator.baseUrl}/identityiq` });
        expect(failure(lines, 'IdentityIQ: OAuth token')).toEqual({
            cause: 'IdentityIQ has no OAuth token endpoint at IIQ_BASE_URL/identityiq/oauth2/token (404)',
            fix: 'set IIQ_BASE_URL to everything before /identityiq, e.g. https://iiq.example.com:8443',
        });
    });

    it('reports 429 as "rate limited, try again" at once, neither retrying nor waiting out Retry-After', async () => {
        await begin();
        h.simulator.failNext('iiq.list', { status: 429, retryAfter: '30' });
        h.simulator.failNext('iiq.identities', { status: 429 });
        h.simulator.failNext('isc.list', { status: 429, retryAfter: '30', contentType: 'application/json', body: JSON.stringify({ message: ' Rate Limit Exceeded ' }) });
        h.simulator.failNext('moveworks.authTest', { status: 429, retryAfter: '60' });
        const { status, lines, elapsedMs } = await check();
        for (const name of ['IdentityIQ plugin: list one work item', 'IdentityIQ plugin: look up one identity', 'Identity Security Cloud: list one generic approval', MOVEWORKS]) {
            expect(failure(lines, name).fix).toBe('rate limited, try again in a minute');
        }
        expect([h.simulator.calls['iiq.list'], h.simulator.calls['iiq.identities']]).toEqual([1, 1]);
        expect(elapsedMs).toBeLessThan(10_000);
        expect(status).toBe(1);
    });

    it('says a check was not tried, rather than answered 429, while the source asked the app to wait', async () => {
        await begin();
        h.simulator.failNext('isc.accessRequests.pending', { status: 429, retryAfter: '30' });
        const { lines } = await check();
        expect(h.simulator.calls['isc.identities'] ?? 0).toBe(0);
        expect(failure(lines, 'Identity Security Cloud: look up one identity')).toEqual({
            cause: 'not tried: Identity Security Cloud asked the app to wait (429 with Retry-After)',
            fix: 'rate limited, try again in a minute',
        });
    });

    it('gives up on an upstream that never answers within HTTP_TIMEOUT_MS, naming it and the URL setting', async () => {
        await begin();
        const silent = await silentServer();
        try {
            h.simulator.failNext('iiq.identities', { delayMs: 2_000 });
            const { status, lines, elapsedMs } = await check({ HTTP_TIMEOUT_MS: '400', ISC_BASE_URL: silent.url, MOVEWORKS_BASE_URL: silent.url });
            expect(failure(lines, 'Identity Security Cloud: OAuth token')).toEqual({
                cause: 'no answer from Identity Security Cloud within HTTP_TIMEOUT_MS (400 ms)',
                fix: 'check ISC_BASE_URL and that this machine can reach it (firewall, proxy, VPN); if Identity Security Cloud is only slow, raise HTTP_TIMEOUT_MS',
            });
            expect(failure(lines, 'IdentityIQ plugin: look up one identity').fix).toMatch(/IIQ_BASE_URL.*HTTP_TIMEOUT_MS/);
            expect(failure(lines, MOVEWORKS).cause).toBe('no answer from Moveworks within HTTP_TIMEOUT_MS (400 ms)');
            expect(lineOf(lines, 'IdentityIQ plugin: list one work item')).toMatch(/^ok /);
            expect(silent.connections()).toBeGreaterThanOrEqual(2);
            // Each check gives up after its own 400 ms instead of waiting for the silent server.
            expect(elapsedMs).toBeLessThan(3_000);
            expect(status).toBe(1);
        } finally {
            await silent.stop();
        }
    });

    describe('the tables', () => {
        let proxy: TableProxy;
        beforeEach(async () => {
            await begin();
            proxy = new TableProxy();
            await proxy.start();
        });
        afterEach(() => proxy.stop());

        it('names the table that fails (503) and passes the other', async () => {
            proxy.fail({ matches: ({ path }) => path.includes(h.settings.STATE_TABLE_NAME), status: 503 });
            const { status, lines } = await check({ AzureWebJobsStorage: proxy.connectionString });
            expect(failure(lines, stateTable())).toEqual({
                cause: 'the table service failed (503 InternalError)',
                fix: "try again in a minute; if it persists, check the storage account's health",
            });
            expect(lineOf(lines, auditTable())).toMatch(/^ok /);
            expect(status).toBe(1);
        });

        it('names the credential setting when the table refuses the app (403)', async () => {
            proxy.fail({ matches: () => true, status: 403 });
            const { lines } = await check({ AzureWebJobsStorage: proxy.connectionString });
            expect(failure(lines, auditTable())).toEqual({
                cause: 'the table service refused the app (403 AuthorizationFailure)',
                fix: 'check the account name and key in AzureWebJobsStorage',
            });
        });

        it('says to start Azurite when the table service is down', async () => {
            const connectionString = proxy.connectionString;
            await proxy.stop();
            const { status, lines } = await check({ AzureWebJobsStorage: connectionString });
            for (const name of [stateTable(), auditTable()]) {
                expect(failure(lines, name)).toEqual({
                    cause: 'the table service could not be reached (ECONNREFUSED)',
                    fix: 'start Azurite (npx azurite --silent --location .azurite; npm start starts one itself) or correct AzureWebJobsStorage',
                });
            }
            expect(status).toBe(1);
        });

        it('deletes the probe row even when reading it back fails', async () => {
            proxy.fail({ matches: ({ method, path }) => method === 'GET' && path.includes('~preflight-'), status: 500 });
            const { lines } = await check({ AzureWebJobsStorage: proxy.connectionString });
            expect(failure(lines, stateTable()).cause).toBe('the table service failed (500 InternalError)');
            expect(proxy.failed.length).toBe(2);
            const table = TableClient.fromConnectionString(h.settings.AzureWebJobsStorage, h.settings.STATE_TABLE_NAME, { allowInsecureConnection: true });
            const rows = [];
            for await (const row of table.listEntities()) rows.push(row);
            expect(rows).toEqual([]);
        });
    });

    describe('Moveworks', () => {
        it('checks the Events API key with GET /rest/v1/auth/test, telling a bad key or host (401) from a wrong host (404), sending nothing', async () => {
            await begin();
            let run = await check({ MOVEWORKS_API_KEY: 'not-the-moveworks-key' });
            const key = failure(run.lines, MOVEWORKS);
            expect(key.cause).toBe('Moveworks refused the API key (401 UNAUTHORIZED)');
            expect(key.fix).toMatch(/MOVEWORKS_API_KEY.*MOVEWORKS_BASE_URL.*data-center host/);
            run = await check({ MOVEWORKS_BASE_URL: `${h.simulator.baseUrl}/elsewhere` });
            expect(failure(run.lines, MOVEWORKS).cause).toBe('nothing at MOVEWORKS_BASE_URL answers as the Moveworks API (404)');
            expect(h.simulator.calls['moveworks.authTest']).toBe(1);
            expect(h.simulator.calls['moveworks.send']).toBe(0);
        });

        it('checks a listener with a POST of type preflight, which it verifies but records as no notice', async () => {
            h = await startHarness({ simulator: { sources: ['iiq'], listenerSigningSecret: 'signing-secret-0123456789' } });
            const listener = { MOVEWORKS_EVENT_ID: '', MOVEWORKS_API_KEY: '', ...h.simulator.listenerSettings() };
            let run = await check(listener);
            expect(lineOf(run.lines, 'Moveworks listener: URL, key and signature')).toMatch(/^ok /);
            expect(h.simulator.listenerPreflights).toHaveLength(1);
            expect(h.simulator.listenerNotices).toEqual([]);
            run = await check({ ...listener, MOVEWORKS_LISTENER_KEY: 'not-the-listener-key' });
            expect(failure(run.lines, 'Moveworks listener: URL, key and signature').fix).toMatch(/MOVEWORKS_LISTENER_KEY/);
            run = await check({ ...listener, MOVEWORKS_LISTENER_SIGNING_SECRET: 'another-secret' });
            expect(failure(run.lines, 'Moveworks listener: URL, key and signature')).toEqual({
                cause: 'the listener refused the signature (401 ErrorSignatureVerificationFailed)',
                fix: expect.stringMatching(/MOVEWORKS_LISTENER_SIGNING_SECRET and MOVEWORKS_LISTENER_SIGNATURE_HEADER/),
            });
            expect(h.simulator.calls['moveworks.send']).toBe(0);
        });

        it('--send-test sends one message, marked as a test, to that one person', async () => {
            await begin();
            const { status, lines } = await check({}, ['--send-test', 'Jamie.Rivera@example.com']);
            expect(lineOf(lines, 'Moveworks: send one test message to jamie.rivera@example.com')).toMatch(/^ok /);
            expect(status).toBe(0);
            expect(h.simulator.messages).toHaveLength(1);
            expect(h.simulator.messages[0]).toMatchObject({ recipients: ['jamie.rivera@example.com'], slots: { approval_id: 'preflight-test' } });
            expect(h.simulator.messages[0].message).toMatch(/^<b>Test message<\/b>.*No approval is waiting for you/);
            expect(sailPointRoutesAsked().filter((route) => !READ_ONLY_ROUTES.includes(route))).toEqual([]);
        });

        it('--send-test names the recipient Moveworks refuses, and the event it does not know', async () => {
            h = await startHarness({ simulator: { sources: ['iiq'], knownRecipients: ['jamie.rivera@example.com'] } });
            let run = await check({}, ['--send-test=nobody@example.com']);
            expect(failure(run.lines, 'Moveworks: send one test message to nobody@example.com').fix).toBe('nobody@example.com must be a Moveworks user: the same work email as in the identity provider');
            run = await check({ MOVEWORKS_EVENT_ID: '00000000-0000-4000-8000-00000000dead' }, ['--send-test', 'jamie.rivera@example.com']);
            expect(failure(run.lines, 'Moveworks: send one test message to jamie.rivera@example.com').fix).toMatch(/MOVEWORKS_EVENT_ID.*publish/);
            expect(run.status).toBe(1);
            expect(h.simulator.messages).toEqual([]);
        });

        it('refuses a --send-test without one plain email address, trying nothing (exit 2)', async () => {
            await begin();
            for (const argv of [['--send-test'], ['--send-test', 'not an email'], ['--sendtest', 'a@example.com'], ['--send-test', 'a@example.com', '--send-test', 'b@example.com']]) {
                const { status, lines } = await check({}, argv);
                expect([argv, status, lines.at(-1)]).toEqual([argv, 2, 'usage: npm run check [-- --send-test you@example.com]']);
            }
            expect(h.simulator.requests).toEqual([]);
        });
    });

    it('never prints a secret or a token, even one an upstream echoes', async () => {
        await begin();
        const secret = h.settings.ISC_CLIENT_SECRET;
        h.simulator.failNext('isc.identities', { status: 403, contentType: 'application/json', body: JSON.stringify({ detailCode: '403 Forbidden', messages: [{ text: `client ${secret} may not` }] }) });
        const { output } = await check();
        expect(output).toContain('client [redacted] may not');
        for (const value of [h.settings.IIQ_CLIENT_SECRET, h.settings.ISC_CLIENT_SECRET, h.settings.MOVEWORKS_API_KEY, 'AccountKey', 'Bearer ']) expect(output).not.toContain(value);
    });

    it('never prints the signature of a SAS connection string, even one an upstream echoes', async () => {
        await begin();
        const endpoint = /TableEndpoint=([^;]+)/.exec(h.settings.AzureWebJobsStorage)![1];
        const sas = generateAccountSas(new AzureNamedKeyCredential('devstoreaccount1', AZURITE_ACCOUNT_KEY), { permissions: { add: true, update: true, query: true, write: true, list: true, delete: true }, resourceTypes: 'sco' });
        h.simulator.failNext('isc.identities', { status: 403, contentType: 'application/json', body: JSON.stringify({ detailCode: '403 Forbidden', messages: [{ text: `sas ${sas} may not` }] }) });
        const { output } = await check({ AzureWebJobsStorage: `TableEndpoint=${endpoint};SharedAccessSignature=${sas}` });
        expect(output).toContain('sas [redacted] may not');
        expect(output).not.toContain(sas);
    });

    it('names a redirect as such, with the address to use as the fix', async () => {
        await begin();
        h.simulator.failNext('iiq.list', { status: 302, contentType: 'text/html', body: '<a href="https://iiq.example.com/">moved</a>' });
        const { output } = await check();
        expect(output).toMatch(/FAIL IdentityIQ plugin: list one work item: IdentityIQ answered with a redirect \(302\).* — set IIQ_BASE_URL to the address it redirects to/);
    });

    it('names an answer over MAX_RESPONSE_BYTES as such, not as a host that cannot be reached', async () => {
        await begin();
        h.simulator.failNext('isc.identities', { status: 200, contentType: 'application/json', body: `[${'"x",'.repeat(2000)}"x"]` });
        const { output } = await check({ MAX_RESPONSE_BYTES: '1024' });
        expect(output).toMatch(/FAIL Identity Security Cloud: look up one identity: Identity Security Cloud answered more than MAX_RESPONSE_BYTES — .*raise MAX_RESPONSE_BYTES/);
    });

    it('never prints a short secret an upstream echoes either', async () => {
        h = await startHarness({ simulator: { sources: ['iiq', 'isc'], iscClientSecret: 'pa$$w0r' } });
        h.simulator.failNext('isc.identities', { status: 403, contentType: 'application/json', body: JSON.stringify({ detailCode: '403 Forbidden', messages: [{ text: 'client pa$$w0r may not' }] }) });
        const { output } = await check();
        expect(output).not.toContain('pa$$w0r');
    });

    it('runs as a process: `node dist/dev/check.js` prints the lines and exits 0, or 1 when a check failed (dist is built by npm test)', async () => {
        await begin();
        const cli = join(__dirname, '..', 'dist', 'dev', 'check.js');
        // Every setting pinned, so a developer's local.settings.json cannot fill one in.
        const pinned = (overrides: Record<string, string>) => ({ PATH: process.env.PATH ?? '', ...Object.fromEntries(SETTING_NAMES.map((name) => [name, ''])), ...h.settings, ...overrides });
        const good = await run(cli, [], pinned({}));
        expect(good.stdout.split('\n').filter((line) => line !== '').at(-1)).toBe('11 checks, all ok');
        expect(good.status).toBe(0);
        const bad = await run(cli, [], pinned({ IIQ_CLIENT_SECRET: 'not-the-secret' }));
        expect(bad.stdout).toContain('FAIL IdentityIQ: OAuth token: IdentityIQ refused the client credentials (401)');
        expect(bad.status).toBe(1);
    });
});

describe('local settings', () => {
    it('fill what the environment leaves unset, and the environment wins, as npm start reads them', () => {
        const dir = mkdtempSync(join(tmpdir(), 'local-settings-'));
        try {
            const file = join(dir, 'local.settings.json');
            writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: { IIQ_BASE_URL: 'https://from-file.example.com', IIQ_CLIENT_ID: 'file-client' } }));
            const env: NodeJS.ProcessEnv = { IIQ_BASE_URL: 'https://from-env.example.com' };
            loadLocalSettings(env, file);
            expect(env).toEqual({ IIQ_BASE_URL: 'https://from-env.example.com', IIQ_CLIENT_ID: 'file-client' });
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe('GET /api/health?deep=true', () => {
    let fn: FunctionHost | undefined;
    afterEach(async () => {
        await fn?.stop();
        fn = undefined;
    });
    const serve = async (settings: Record<string, string> = {}) => {
        await begin();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'moveworks-function-key', ...settings });
        return fn;
    };
    const get = async (query: string, headers: Record<string, string> = {}) => {
        const response = await fetch(`${fn!.url}/api/health${query}`, { headers });
        return { status: response.status, body: (await response.json()) as any, text: '' };
    };

    it('keeps plain GET /api/health anonymous and unchanged, trying nothing', async () => {
        await serve({ AUDIT_READER_KEY: READER_KEY });
        for (const query of ['', '?deep=false', '?deep=0', '?deep=maybe']) {
            const answer = await get(query);
            expect(answer).toEqual({ status: 200, body: { status: 'ok', sources: expect.any(Object), moveworks: expect.any(Object) }, text: '' });
        }
        expect(h.simulator.requests).toEqual([]);
    });

    it('answers the checks to the audit reader key, 200 with status ok, as the OpenAPI document says', async () => {
        await serve({ AUDIT_READER_KEY: READER_KEY });
        const answer = await get('?deep=true', { 'x-audit-key': READER_KEY });
        expect(answer.status).toBe(200);
        expect(answer.body.status).toBe('ok');
        expect(answer.body.checks).toHaveLength(10);
        expect(answer.body.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
        const document = (await (await fetch(`${fn!.url}/api/openapi.json`)).json()) as any;
        const ajv = new Ajv2020({ strict: false });
        for (const [name, schema] of Object.entries(document.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
        expect([ajv.validate('#/components/schemas/DeepHealth', answer.body), ajv.errorsText()]).toEqual([true, 'No errors']);
        expect(document.paths['/health'].get.parameters).toEqual([expect.objectContaining({ name: 'deep', in: 'query', required: false })]);
        expect(sailPointRoutesAsked().filter((route) => !READ_ONLY_ROUTES.includes(route))).toEqual([]);
        expect(h.simulator.messages).toEqual([]);
        expect(fn!.logged.some((line) => line.includes('"health.deep"') && line.includes('"by":"reader_key"'))).toBe(true);
        expect(fn!.logged.join('\n')).not.toContain(READER_KEY);
    });

    it('answers 200 with status failed and the failed check, without secrets or tokens', async () => {
        await serve({ AUDIT_READER_KEY: READER_KEY });
        h.simulator.pluginInstalled = false;
        const answer = await get('?deep=true', { 'x-audit-key': READER_KEY });
        expect(answer.status).toBe(200);
        expect(answer.body.status).toBe('failed');
        expect(answer.body.checks.find((c: { name: string }) => c.name === 'IdentityIQ plugin: list one work item')).toEqual({
            name: 'IdentityIQ plugin: list one work item',
            ok: false,
            cause: expect.stringMatching(/404/),
            fix: expect.stringMatching(/Moveworks for SailPoint/),
        });
        const text = JSON.stringify(answer.body);
        for (const secret of [h.settings.IIQ_CLIENT_SECRET, h.settings.ISC_CLIENT_SECRET, h.settings.MOVEWORKS_API_KEY, READER_KEY, 'moveworks-function-key', 'AccountKey']) expect(text).not.toContain(secret);
    });

    it('refuses as GET /api/audit/delegated does: 401 without or with a wrong key, 404 when neither credential is set', async () => {
        await serve({ AUDIT_READER_KEY: READER_KEY });
        for (const headers of [{}, { 'x-audit-key': `${READER_KEY}x` }, { 'x-functions-key': 'moveworks-function-key' }] as Record<string, string>[]) {
            const answer = await get('?deep=true', headers);
            expect([answer.status, answer.body.error.code]).toEqual([401, 'invalid_key']);
        }
        expect(h.simulator.requests).toEqual([]);
        await fn!.stop();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'moveworks-function-key' });
        const off = await get('?deep=true', { 'x-audit-key': READER_KEY });
        expect([off.status, off.body.error.code]).toEqual([404, 'not_configured']);
        expect(off.body.error.message).toMatch(/health\?deep=true/);
    });

    it('answers deep checks asked again within 30 s from the last run, so a monitor polling it costs SailPoint one set of calls', async () => {
        await serve({ AUDIT_READER_KEY: READER_KEY });
        const first = await get('?deep=1', { 'x-audit-key': READER_KEY });
        const asked = h.simulator.requests.length;
        expect(asked).toBeGreaterThan(0);
        const second = await get('?deep=true', { 'x-audit-key': READER_KEY });
        expect(second.body).toEqual(first.body);
        expect(h.simulator.requests.length).toBe(asked);
    });

    it('takes a caller token with CALLER_ADMIN_ROLE, and refuses one without it (403)', async () => {
        const audience = 'api://sailpoint-approvals';
        await begin();
        fn = await startFunctionHost({ ...h.settings, FUNCTION_KEY: 'moveworks-function-key', CALLER_JWT_ISSUER: h.simulator.callers.issuer, CALLER_JWT_AUDIENCE: audience, CALLER_ADMIN_ROLE: 'Audit.Read' });
        const bearer = async (roles: string[]) => ({ authorization: `Bearer ${await h.simulator.callers.mint({ sub: 'ops-tool', aud: audience, azp: 'ops-client', roles })}` });
        const refused = await get('?deep=true', await bearer(['Approvals.Act']));
        expect([refused.status, refused.body.error.code]).toEqual([403, 'caller_not_allowed']);
        const allowed = await get('?deep=true', await bearer(['Audit.Read']));
        expect([allowed.status, allowed.body.status]).toEqual([200, 'ok']);
    });
});

/** A TCP server that accepts connections and never answers. */
async function silentServer(): Promise<{ url: string; connections: () => number; stop: () => Promise<void> }> {
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    return {
        url: `http://127.0.0.1:${port}`,
        connections: () => sockets.length,
        stop: async () => {
            for (const socket of sockets) socket.destroy();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}

function run(script: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [script, ...args], { env });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('close', (status) => {
            clearTimeout(timer);
            resolve({ status, stdout });
        });
    });
}
