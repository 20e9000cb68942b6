import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { ConfigError, loadConfig, SETTING_NAMES } from '../shared/config';
import { toStorageCredential } from '../shared/store/credential';
import { ApprovalStore } from '../shared/store/approvalStore';

const valid = {
    IIQ_BASE_URL: 'https://iiq.example.com:8443/',
    IIQ_CLIENT_ID: 'client',
    IIQ_CLIENT_SECRET: 'secret',
    MOVEWORKS_EVENT_ID: '3f1d2c4b-0000-4000-8000-000000000001',
    MOVEWORKS_API_KEY: 'key',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
};

function problemsOf(env: Record<string, string>): string[] {
    try {
        loadConfig(env);
    } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
    }
    throw new Error('expected the settings to be refused');
}

describe('app settings', () => {
    it('fills documented defaults', () => {
        const config = loadConfig(valid);
        expect(config.iiq?.baseUrl).toBe('https://iiq.example.com:8443');
        expect(config.moveworks).toMatchObject({ baseUrl: 'https://api.moveworks.ai', maxPerMinute: 120 });
        expect(config.poll).toMatchObject({ schedule: '0 */1 * * * *', fullSweepMinutes: 15 });
        expect(config.decisions).toMatchObject({ requireRejectReason: false, allowSelfApproval: false });
    });

    it('names every bad or missing setting in one error', () => {
        const problems = problemsOf({
            IIQ_BASE_URL: 'iiq.example.com',
            IIQ_CLIENT_ID: 'client',
            MOVEWORKS_MAX_PER_MINUTE: 'lots',
            POLL_SCHEDULE: '*/1 * * * *',
            REQUIRE_REJECT_REASON: 'maybe',
        });
        const names = problems.map((problem) => problem.split(':')[0]).sort();
        expect(names).toEqual(
            ['IIQ_BASE_URL', 'IIQ_CLIENT_SECRET', 'MOVEWORKS_API_KEY', 'MOVEWORKS_EVENT_ID', 'MOVEWORKS_MAX_PER_MINUTE', 'POLL_SCHEDULE', 'REQUIRE_REJECT_REASON', 'STATE_TABLE_ENDPOINT'].sort(),
        );
    });

    it('brings both kinds of ISC approval into chat unless ISC_APPROVAL_KINDS names fewer', () => {
        const isc = { ...valid, ISC_BASE_URL: 'https://acme.api.identitynow.com', ISC_CLIENT_ID: 'pat-id', ISC_CLIENT_SECRET: 'pat-secret' };
        expect(loadConfig(isc).isc?.kinds).toEqual(['access-requests', 'generic']);
        expect(loadConfig({ ...isc, ISC_APPROVAL_KINDS: ' Generic ,' }).isc?.kinds).toEqual(['generic']);
        expect(loadConfig({ ...isc, ISC_APPROVAL_KINDS: 'generic,access-requests' }).isc?.kinds).toEqual(['access-requests', 'generic']);
    });

    it.each(['access-request', 'generic,certifications', ','])('refuses ISC_APPROVAL_KINDS=%j, naming the kinds it takes', (kinds) => {
        const [problem] = problemsOf({ ...valid, ISC_APPROVAL_KINDS: kinds });
        expect(problem).toBe('ISC_APPROVAL_KINDS: must be a comma list of access-requests, generic (at least one)');
    });

    describe('ISC_API_VERSION', () => {
        const isc = { ...valid, ISC_BASE_URL: 'https://acme.api.identitynow.com', ISC_CLIENT_ID: 'pat-id', ISC_CLIENT_SECRET: 'pat-secret' };

        it("calls SailPoint's per-service layout, v1, unless told otherwise", () => {
            expect(loadConfig(isc).isc?.apiVersion).toBe('v1');
        });

        it.each(['v2026', 'v2025', 'v2024', 'V2025'])('keeps the year-based version %s when set', (version) => {
            expect(loadConfig({ ...isc, ISC_API_VERSION: version }).isc?.apiVersion).toBe(version.toLowerCase());
        });

        it.each(['v2', 'beta', '2025', 'v2025/x'])('refuses %j, naming the versions it takes', (version) => {
            expect(problemsOf({ ...isc, ISC_API_VERSION: version })).toEqual(['ISC_API_VERSION: must be one of v1, v2026, v2025, v2024, v3']);
        });

        it('takes v3 for access-request approvals only, and says how to fix it when generic approvals are on', () => {
            expect(loadConfig({ ...isc, ISC_API_VERSION: 'v3', ISC_APPROVAL_KINDS: 'access-requests' }).isc?.apiVersion).toBe('v3');
            const [problem] = problemsOf({ ...isc, ISC_API_VERSION: 'v3' });
            expect(problem).toMatch(/^ISC_API_VERSION: v3 serves access-request approvals only: set ISC_APPROVAL_KINDS=access-requests, or ISC_API_VERSION=v1/);
        });

        it('lets an IdentityIQ-only set-up start with a leftover ISC_API_VERSION=v3', () => {
            expect(loadConfig({ ...valid, ISC_API_VERSION: 'v3' }).isc).toBeUndefined();
        });
    });

    describe('MOVEWORKS_DELIVERY', () => {
        const { MOVEWORKS_EVENT_ID: _event, MOVEWORKS_API_KEY: _key, ...withoutEvent } = valid;
        const listener = { ...withoutEvent, MOVEWORKS_DELIVERY: 'listener', MOVEWORKS_LISTENER_URL: 'https://acme.moveworks.ai/webhooks/v1/listeners/abc', MOVEWORKS_LISTENER_KEY: 'listener-key' };

        it('delivers through the event by default', () => {
            expect(loadConfig(valid).moveworks.delivery).toEqual({ kind: 'events', eventId: valid.MOVEWORKS_EVENT_ID, apiKey: 'key' });
        });

        it('needs neither the event id nor the API key with a listener, and defaults its signature header and rate', () => {
            expect(loadConfig(listener).moveworks.delivery).toEqual({
                kind: 'listener',
                url: listener.MOVEWORKS_LISTENER_URL,
                key: 'listener-key',
                signingSecret: undefined,
                signatureHeader: 'X-Signature',
                maxPerSecond: 5,
            });
        });

        it('names every missing or malformed listener setting at once', () => {
            expect(
                problemsOf({ ...withoutEvent, MOVEWORKS_DELIVERY: 'listener', MOVEWORKS_LISTENER_SIGNATURE_HEADER: 'X Signature', MOVEWORKS_LISTENER_MAX_PER_SECOND: '0' }).map((problem) => problem.split(':')[0]).sort(),
            ).toEqual(['MOVEWORKS_LISTENER_KEY', 'MOVEWORKS_LISTENER_MAX_PER_SECOND', 'MOVEWORKS_LISTENER_SIGNATURE_HEADER', 'MOVEWORKS_LISTENER_URL']);
        });

        it.each(['http://listener.example.com/hook', 'not a url'])('refuses a listener URL that is not https (%s)', (url) => {
            expect(problemsOf({ ...listener, MOVEWORKS_LISTENER_URL: url })).toEqual(["MOVEWORKS_LISTENER_URL: must be the listener's https webhook URL (http only to this machine)"]);
        });

        it.each(['Authorization', 'content-type', 'Host'])('refuses %s as the signature header, which would replace what the POST itself carries', (header) => {
            expect(problemsOf({ ...listener, MOVEWORKS_LISTENER_SIGNATURE_HEADER: header })).toEqual([
                'MOVEWORKS_LISTENER_SIGNATURE_HEADER: must be an HTTP header name of its own (not Authorization, Content-Type, Accept, Host or Content-Length)',
            ]);
        });

        it('refuses a listener key given with "Bearer "', () => {
            expect(problemsOf({ ...listener, MOVEWORKS_LISTENER_KEY: 'Bearer listener-key' })).toEqual(['MOVEWORKS_LISTENER_KEY: must be the raw key: the app adds "Bearer " itself']);
        });

        it('refuses a delivery it does not know, naming both', () => {
            expect(problemsOf({ ...valid, MOVEWORKS_DELIVERY: 'email' })).toEqual(['MOVEWORKS_DELIVERY: must be events or listener']);
        });
    });

    it('shows Identity AI recommendations unless ISC_RECOMMENDATIONS=off, and never asks v3, which has no such API', () => {
        const isc = { ...valid, ISC_BASE_URL: 'https://acme.api.identitynow.com', ISC_CLIENT_ID: 'pat-id', ISC_CLIENT_SECRET: 'pat-secret' };
        expect(loadConfig(isc).isc?.recommendations).toBe(true);
        expect(loadConfig({ ...isc, ISC_RECOMMENDATIONS: 'OFF' }).isc?.recommendations).toBe(false);
        expect(loadConfig({ ...isc, ISC_API_VERSION: 'v3', ISC_APPROVAL_KINDS: 'access-requests' }).isc?.recommendations).toBe(false);
    });

    it('refuses ISC_RECOMMENDATIONS other than on or off, naming it', () => {
        expect(problemsOf({ ...valid, ISC_RECOMMENDATIONS: 'yes please' })).toEqual(['ISC_RECOMMENDATIONS: must be on or off']);
    });

    describe('ISC_DECIDE_AS=user', () => {
        const isc = { ...valid, ISC_BASE_URL: 'https://acme.api.identitynow.com', ISC_CLIENT_ID: 'pat-id', ISC_CLIENT_SECRET: 'pat-secret' };
        const user = {
            ...isc,
            ISC_DECIDE_AS: 'user',
            ISC_USER_CLIENT_ID: 'user-client',
            ISC_USER_CLIENT_SECRET: 'user-secret',
            ISC_AUTHORIZE_URL: 'https://acme.login.sailpoint.com/oauth/authorize',
            PUBLIC_BASE_URL: 'https://approvals.example.com/',
            USER_TOKEN_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
        };

        it('decides as the service unless told otherwise', () => {
            expect(loadConfig(isc).isc?.user).toBeUndefined();
        });

        it('reads the approvers’ sign-in settings in user mode', () => {
            expect(loadConfig(user).isc?.user).toMatchObject({ clientId: 'user-client', publicBaseUrl: 'https://approvals.example.com', retentionDays: 90, tokenKeys: [expect.objectContaining({ id: 'k1' })] });
        });

        it('names every missing setting of user mode at once', () => {
            const { ISC_USER_CLIENT_SECRET: _secret, USER_TOKEN_KEYS: _keys, ...missing } = user;
            expect(problemsOf(missing).map((problem) => problem.split(':')[0]).sort()).toEqual(['ISC_USER_CLIENT_SECRET', 'USER_TOKEN_KEYS']);
        });

        it.each([
            ['PUBLIC_BASE_URL', 'http://approvals.example.com'],
            ['PUBLIC_BASE_URL', 'https://approvals.example.com/app'],
            ['ISC_AUTHORIZE_URL', 'http://acme.login.sailpoint.com/oauth/authorize'],
            ['USER_TOKEN_KEYS', 'k1:c2hvcnQ='],
            ['ISC_DECIDE_AS', 'admin'],
        ])('refuses a malformed %s, naming it and not repeating a key', (name, value) => {
            const problems = problemsOf({ ...user, [name]: value });
            expect(problems.map((problem) => problem.split(':')[0])).toEqual([name]);
            expect(problems.join(' ')).not.toContain('c2hvcnQ=');
        });

        it('needs Identity Security Cloud configured', () => {
            const { ISC_BASE_URL: _b, ISC_CLIENT_ID: _i, ISC_CLIENT_SECRET: _s, ...withoutIsc } = user;
            expect(problemsOf(withoutIsc)).toEqual(['ISC_DECIDE_AS: user needs Identity Security Cloud configured (ISC_BASE_URL, ISC_CLIENT_ID, ISC_CLIENT_SECRET)']);
        });

        it('says the user-mode settings take no effect in service mode', () => {
            expect(problemsOf({ ...isc, ISC_USER_CLIENT_ID: 'user-client' })).toEqual(['ISC_USER_CLIENT_ID: takes effect only with ISC_DECIDE_AS=user, which is not set']);
        });
    });

    it('turns caller tokens on with CALLER_JWT_ISSUER, reading the optional rules', () => {
        expect(loadConfig(valid).caller).toBeUndefined();
        const caller = loadConfig({
            ...valid,
            CALLER_JWT_ISSUER: 'https://login.microsoftonline.com/tenant/v2.0',
            CALLER_JWT_AUDIENCE: 'api://approvals',
            CALLER_ALLOWED_CLIENT_IDS: ' a , b,',
            CALLER_REQUIRED_ROLE: 'Approvals.Act',
            CALLER_USER_EMAIL_CLAIM: 'user_email',
        }).caller;
        expect(caller).toEqual({
            issuer: 'https://login.microsoftonline.com/tenant/v2.0',
            audience: 'api://approvals',
            allowedClientIds: ['a', 'b'],
            requiredRole: 'Approvals.Act',
            userEmailClaim: 'user_email',
        });
    });

    it('refuses caller settings that cannot work, naming each', () => {
        expect(problemsOf({ ...valid, CALLER_JWT_ISSUER: 'https://issuer.example.com' })).toEqual([expect.stringMatching(/^CALLER_JWT_AUDIENCE: is required/)]);
        expect(problemsOf({ ...valid, CALLER_JWT_ISSUER: 'moveworks-org', CALLER_JWT_AUDIENCE: 'x' })).toEqual([expect.stringMatching(/^CALLER_JWKS_URL: is required/)]);
        expect(problemsOf({ ...valid, CALLER_USER_EMAIL_CLAIM: 'email', CALLER_REQUIRED_ROLE: 'r' }).sort()).toEqual([
            'CALLER_REQUIRED_ROLE: takes effect only with CALLER_JWT_ISSUER, which is not set',
            'CALLER_USER_EMAIL_CLAIM: takes effect only with CALLER_JWT_ISSUER, which is not set',
        ]);
        expect(loadConfig({ ...valid, CALLER_JWT_ISSUER: 'moveworks-org', CALLER_JWT_AUDIENCE: 'x', CALLER_JWKS_URL: 'https://acme.moveworks.com/.well-known/jwks.json' }).caller?.jwksUrl).toBe(
            'https://acme.moveworks.com/.well-known/jwks.json',
        );
    });

    it.each([
        ['CALLER_JWKS_URL over http to a remote host', { CALLER_JWT_ISSUER: 'https://login.example.com/t/v2.0', CALLER_JWT_AUDIENCE: 'api://a', CALLER_JWKS_URL: 'http://keys.example.com/jwks.json' }, 'CALLER_JWKS_URL'],
        ['an http issuer, whose keys would be found over http', { CALLER_JWT_ISSUER: 'http://issuer.example.com', CALLER_JWT_AUDIENCE: 'api://a' }, 'CALLER_JWKS_URL'],
        ['a CALLER_ALLOWED_CLIENT_IDS that names no client', { CALLER_JWT_ISSUER: 'https://login.example.com/t/v2.0', CALLER_JWT_AUDIENCE: 'api://a', CALLER_ALLOWED_CLIENT_IDS: ' , ' }, 'CALLER_ALLOWED_CLIENT_IDS'],
    ])('stops start-up for %s, naming the setting', (_label, settings, name) => {
        expect(problemsOf({ ...valid, ...settings }).map((problem) => problem.split(':')[0])).toEqual([name]);
    });

    it('lists in local.settings.example.json only settings the app or the host reads, the local-only keys included', () => {
        const example = JSON.parse(readFileSync(join(__dirname, '..', 'local.settings.example.json'), 'utf8')) as { Values: Record<string, string> };
        const names = Object.keys(example.Values);
        expect(names.filter((name) => name !== 'FUNCTIONS_WORKER_RUNTIME' && !(SETTING_NAMES as string[]).includes(name))).toEqual([]);
        expect(names).toEqual(expect.arrayContaining(['AzureWebJobsStorage', 'FUNCTION_KEY', 'MASTER_KEY']));
        expect(loadConfig({ ...example.Values, ...valid }).masterKey).toBeUndefined();
    });

    it('reads schedules with day and month names, as Azure does, and refuses syntax the timer trigger cannot read, naming the setting', () => {
        expect(loadConfig({ ...valid, POLL_SCHEDULE: '0 */5 9-17 * * MON-FRI', CLEANUP_SCHEDULE: '0 30 3 * Jan Mon' }).poll.schedule).toBe('0 */5 9-17 * * MON-FRI');
        expect(problemsOf({ ...valid, POLL_SCHEDULE: '0 0 0 L * *', CLEANUP_SCHEDULE: '0 70 3 * * *' })).toEqual([
            'POLL_SCHEDULE: must be a six-field NCRONTAB schedule (seconds first), e.g. "0 */1 * * * *": invalid day field "L": "L" is not a number',
            'CLEANUP_SCHEDULE: must be a six-field NCRONTAB schedule (seconds first), e.g. "0 30 3 * * *": invalid minute field "70": 70 is outside 0-59',
        ]);
        expect(loadConfig({ ...valid, POLL_SCHEDULE: '0 5/10 * * * *' }).poll.schedule).toBe('0 5/10 * * * *');
    });

    it('refuses a poll budget the function timeout could cut short', () => {
        expect(problemsOf({ ...valid, POLL_BUDGET_SECONDS: '91' })).toEqual(['POLL_BUDGET_SECONDS: must be a whole number from 5 to 90']);
        expect(loadConfig({ ...valid, POLL_BUDGET_SECONDS: '90' }).poll.budgetSeconds).toBe(90);
    });

    it('refuses an audit reader key that is also the function key or the master key, which would open the audit trail to their holders', () => {
        const key = 'k'.repeat(40);
        expect(problemsOf({ ...valid, AUDIT_READER_KEY: key, FUNCTION_KEY: key })).toEqual([expect.stringMatching(/^AUDIT_READER_KEY: must differ from FUNCTION_KEY/)]);
        expect(problemsOf({ ...valid, AUDIT_READER_KEY: key, MASTER_KEY: key })).toEqual([expect.stringMatching(/^AUDIT_READER_KEY: must differ from MASTER_KEY/)]);
    });

    it('refuses an admin role that every acting caller holds (CALLER_REQUIRED_ROLE), which would let Moveworks read the whole audit trail', () => {
        const tokens = { CALLER_JWT_ISSUER: 'https://login.example.com/t/v2.0', CALLER_JWT_AUDIENCE: 'api://a', CALLER_REQUIRED_ROLE: 'Approvals.Act' };
        expect(problemsOf({ ...valid, ...tokens, CALLER_ADMIN_ROLE: 'Approvals.Act' })).toEqual([expect.stringMatching(/^CALLER_ADMIN_ROLE: must differ from CALLER_REQUIRED_ROLE/)]);
        expect(loadConfig({ ...valid, ...tokens, CALLER_ADMIN_ROLE: 'Audit.Read' }).caller?.adminRole).toBe('Audit.Read');
    });

    it('refuses an audit reader key short enough to guess', () => {
        expect(problemsOf({ ...valid, AUDIT_READER_KEY: 'short-key' })).toEqual([expect.stringMatching(/^AUDIT_READER_KEY: must be at least 32 characters/)]);
        expect(loadConfig({ ...valid, AUDIT_READER_KEY: 'k'.repeat(32) }).auditReaderKey).toBe('k'.repeat(32));
    });

    it('refuses an audit reader key whose Key Vault reference was not resolved, rather than accepting the reference text as the key', () => {
        const reference = '@Microsoft.KeyVault(SecretUri=https://kv-approvals.vault.azure.net/secrets/audit-reader-key/)';
        expect(problemsOf({ ...valid, AUDIT_READER_KEY: reference })).toEqual([expect.stringMatching(/^AUDIT_READER_KEY: the Key Vault reference was not resolved/)]);
    });

    it('refuses a Moveworks key that already carries "Bearer "', () => {
        expect(problemsOf({ ...valid, MOVEWORKS_API_KEY: 'Bearer abc' })).toEqual([expect.stringMatching(/^MOVEWORKS_API_KEY: .*raw key/)]);
    });

    it('asks for a source when none is configured', () => {
        const { IIQ_BASE_URL, IIQ_CLIENT_ID, IIQ_CLIENT_SECRET, ...rest } = valid;
        expect(IIQ_BASE_URL && IIQ_CLIENT_ID && IIQ_CLIENT_SECRET).toBeTruthy();
        expect(problemsOf(rest)).toEqual([expect.stringMatching(/^IIQ_BASE_URL: no approval source is configured/)]);
    });

    it('treats empty settings as unset', () => {
        expect(loadConfig({ ...valid, MOVEWORKS_BASE_URL: '', FUNCTION_KEY: ' ' }).moveworks.baseUrl).toBe('https://api.moveworks.ai');
    });

    it('never puts a setting value in its error message', () => {
        const message = problemsOf({ ...valid, IIQ_CLIENT_SECRET: 'super-secret', IIQ_BASE_URL: 'not a url super-secret' }).join('\n');
        expect(message).not.toContain('super-secret');
    });

    it('refuses a setting whose Key Vault reference Azure could not resolve', () => {
        const unresolved = '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/moveworks-api-key/)';
        expect(problemsOf({ ...valid, MOVEWORKS_API_KEY: unresolved })).toEqual([expect.stringMatching(/^MOVEWORKS_API_KEY: the Key Vault reference was not resolved/)]);
    });
});

describe('reaching the state table', () => {
    const { AzureWebJobsStorage, ...withoutStorage } = valid;

    it('uses a connection string when AzureWebJobsStorage is set (Azurite locally)', () => {
        expect(AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
        const store = ApprovalStore.fromSettings(loadConfig(valid).storage, 1000);
        expect(store.tableUrl).toBe('http://127.0.0.1:10002/devstoreaccount1');
    });

    const identity = '11111111-2222-3333-4444-555555555555';
    const inAzure = { STATE_TABLE_ENDPOINT: 'https://stapprovals.table.core.windows.net', AzureWebJobsStorage__credential: 'managedidentity', AzureWebJobsStorage__clientId: identity };

    it('reaches the table with the managed identity in Azure, as the host reaches its storage: AzureWebJobsStorage__credential and __clientId', () => {
        const config = loadConfig({ ...withoutStorage, ...inAzure });
        expect(config.storage).toEqual({ endpoint: 'https://stapprovals.table.core.windows.net', credential: 'managed-identity', managedIdentityClientId: identity, tableName: 'approvals' });
        expect(ApprovalStore.fromSettings(config.storage, 1000).tableUrl).toBe('https://stapprovals.table.core.windows.net');
        expect(toStorageCredential(config.storage as Extract<typeof config.storage, { endpoint: string }>)).toBeInstanceOf(ManagedIdentityCredential);
    });

    it('reaches a table endpoint with the developer credentials (az login and the like) when run outside Azure', () => {
        const config = loadConfig({ ...withoutStorage, STATE_TABLE_ENDPOINT: inAzure.STATE_TABLE_ENDPOINT });
        expect(config.storage).toMatchObject({ credential: 'developer' });
        expect(toStorageCredential(config.storage as Extract<typeof config.storage, { endpoint: string }>)).toBeInstanceOf(DefaultAzureCredential);
    });

    it('refuses a storage credential the host would not understand, naming the setting', () => {
        expect(problemsOf({ ...withoutStorage, ...inAzure, AzureWebJobsStorage__credential: 'password' })).toEqual([expect.stringMatching(/^AzureWebJobsStorage__credential: must be managedidentity/)]);
    });


    it('asks for one of the two when neither is set, and refuses both at once', () => {
        expect(problemsOf(withoutStorage)).toEqual([expect.stringMatching(/^STATE_TABLE_ENDPOINT: set it .* or AzureWebJobsStorage/)]);
        expect(problemsOf({ ...valid, STATE_TABLE_ENDPOINT: 'https://stapprovals.table.core.windows.net' })).toEqual([expect.stringMatching(/not both/)]);
    });
});
