import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEFAULT_INSTANCE_MEMORY_MB, workerNodeOptions } from '../dev/workerNodeOptions';
import { MAX_POLL_BUDGET_SECONDS, SETTING_NAMES } from '../shared/config';

// web-tree-sitter 0.22 is CommonJS with the Parser class as its export.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Parser = require('web-tree-sitter') as typeof import('web-tree-sitter');

const infra = join(__dirname, '..', 'infra');

function bicepFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const path = join(dir, entry);
        return statSync(path).isDirectory() ? bicepFiles(path) : entry.endsWith('.bicep') ? [path] : [];
    });
}

/** Settings the app reads only when run locally; the template deliberately does not write them. */
const LOCAL_ONLY = ['FUNCTION_KEY', 'MASTER_KEY', 'AzureWebJobsStorage'];
/** Settings the template writes for the Functions host and Application Insights, not for the app. */
const HOST_SETTINGS = [
    'NODE_OPTIONS',
    'AzureWebJobsStorage__accountName',
    'AzureWebJobsStorage__credential',
    'AzureWebJobsStorage__clientId',
    'APPLICATIONINSIGHTS_CONNECTION_STRING',
    'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/** The caller settings of issue 11: each Bicep parameter and the app setting it is written to. */
const CALLER_PARAMETERS: Record<string, string> = {
    callerJwtIssuer: 'CALLER_JWT_ISSUER',
    callerJwtAudience: 'CALLER_JWT_AUDIENCE',
    callerJwksUrl: 'CALLER_JWKS_URL',
    callerAllowedClientIds: 'CALLER_ALLOWED_CLIENT_IDS',
    callerRequiredRole: 'CALLER_REQUIRED_ROLE',
    callerUserEmailClaim: 'CALLER_USER_EMAIL_CLAIM',
    callerAdminRole: 'CALLER_ADMIN_ROLE',
};

type Node = import('web-tree-sitter').SyntaxNode;

/** A parameter, resource or module declaration, with the decorators written above it. */
interface Declaration {
    kind: string;
    name: string;
    node: Node;
    decorators: Map<string, Node | undefined>;
}

/** The top-level declarations of a parsed Bicep file, in order. */
function declarations(root: Node): Declaration[] {
    const found: Declaration[] = [];
    let decorators = new Map<string, Node | undefined>();
    for (const node of root.namedChildren) {
        if (node.type === 'decorators') {
            for (const decorator of node.namedChildren) {
                const call = decorator.namedChildren[0];
                decorators.set(call.namedChildren[0].text, call.namedChildren[1]?.namedChildren[0]);
            }
            continue;
        }
        found.push({ kind: node.type.replace(/_declaration$/, ''), name: node.namedChildren[0]?.text ?? '', node, decorators });
        decorators = new Map();
    }
    return found;
}

/** The text of a string literal without its quotes, or the source text of any other expression. */
const value = (node: Node | null | undefined): string | undefined => (node == null ? undefined : node.type === 'string' ? node.text.slice(1, -1) : node.text);

/** The value of an object's property, by a dotted path through nested objects. */
function property(object: Node | null | undefined, path: string): Node | undefined {
    let node: Node | undefined = object ?? undefined;
    for (const key of path.split('.')) {
        node = node?.namedChildren.find((child) => child.type === 'object_property' && value(child.namedChildren[0]) === key)?.namedChildren[1];
    }
    return node;
}

/** The keys of an object, with the source text of their values. */
const entries = (object: Node | undefined): Record<string, string> =>
    Object.fromEntries(
        (object?.namedChildren ?? []).filter((child) => child.type === 'object_property').map((child) => [value(child.namedChildren[0])!, child.namedChildren[1].text]),
    );

describe('infrastructure (Bicep)', () => {
    let parser: import('web-tree-sitter');
    beforeAll(async () => {
        await Parser.init();
        const bicep = await Parser.Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm'));
        parser = new Parser();
        parser.setLanguage(bicep);
    });
    const parse = (path: string) => parser.parse(readFileSync(path, 'utf8')).rootNode;
    const main = () => readFileSync(join(infra, 'main.bicep'), 'utf8');
    const module = (file: string) => readFileSync(join(infra, 'modules', file), 'utf8');
    const declared = (file: string) => declarations(parse(join(infra, file)));
    const param = (file: string, name: string) => {
        const found = declared(file).find((d) => d.kind === 'parameter' && d.name === name);
        if (!found) throw new Error(`${file} declares no parameter ${name}`);
        return { type: found.node.namedChildren[1].text, default: found.node.namedChildren[2], decorators: found.decorators };
    };
    /** The body (object) of each resource of a type, whatever its API version. */
    const resources = (file: string, type: string) =>
        declared(file)
            .filter((d) => d.kind === 'resource' && value(d.node.namedChildren[1])?.split('@')[0] === type)
            .map((d) => ({ symbol: d.name, apiVersion: value(d.node.namedChildren[1])!.split('@')[1], body: resourceBody(d.node) }));
    /** A resource's object, or for a `[for ...: {...}]` loop the object it repeats. */
    const resourceBody = (node: Node): Node => {
        const direct = node.namedChildren.find((child) => child.type === 'object');
        if (direct) return direct;
        const loop = node.namedChildren.find((child) => child.type === 'for_statement');
        return loop!.namedChildren.find((child) => child.type === 'object')!;
    };
    /** The params object of a module declaration of main.bicep. */
    const moduleParamsObject = (symbol: string) => {
        const found = declared('main.bicep').find((d) => d.kind === 'module' && d.name === symbol);
        if (!found) throw new Error(`main.bicep declares no module ${symbol}`);
        return property(found.node.namedChildren.find((child) => child.type === 'object'), 'params');
    };
    /** The params a module declaration of main.bicep passes, with the source text of their values. */
    const moduleParams = (symbol: string) => entries(moduleParamsObject(symbol));
    const variable = (file: string, name: string) => declared(file).find((d) => d.kind === 'variable' && d.name === name)?.node.namedChildren[1];
    const output = (file: string, name: string) => declared(file).find((d) => d.kind === 'output' && d.name === name)?.node.namedChildren[2]?.text;

    it('has main.bicep and its modules', () => {
        expect(bicepFiles(infra).map((path) => relative(infra, path)).sort()).toEqual(
            ['main.bicep', 'modules/alerts.bicep', 'modules/functionApp.bicep', 'modules/identity.bicep', 'modules/keyVault.bicep', 'modules/monitoring.bicep', 'modules/storage.bicep', 'modules/workbook.bicep'].sort(),
        );
    });

    it.each(bicepFiles(join(__dirname, '..', 'infra')).map((path) => [relative(infra, path), path]))('parses %s without syntax errors', (_, path) => {
        const root = parse(path);
        const broken: string[] = [];
        const visit = (node: Node) => {
            if (node.type === 'ERROR' || node.isMissing) broken.push(`${node.type} at line ${node.startPosition.row + 1}`);
            node.children.forEach(visit);
        };
        visit(root);
        expect(broken).toEqual([]);
    });

    describe('alerts and the dashboard (issue 13)', () => {
        const ALERTS: Record<string, string> = {
            alertPollFailuresInARow: 'pollFailuresInARow',
            alertHeartbeatMinutes: 'heartbeatMinutes',
            alertOwedThreshold: 'owedThreshold',
            alertServerErrorThreshold: 'serverErrorThreshold',
            alertRefusedThreshold: 'refusedThreshold',
        };

        it('deploys one log alert per condition on Application Insights, each sent to the action group', () => {
            const [rule] = resources('modules/alerts.bicep', 'Microsoft.Insights/scheduledQueryRules');
            expect(rule.apiVersion).toBe('2023-12-01');
            expect(value(property(rule.body, 'kind'))).toBe('LogAlert');
            expect(property(rule.body, 'properties.scopes')?.text).toContain('appInsightsId');
            expect(property(rule.body, 'properties.actions.actionGroups')?.text).toContain('actionGroup.id');
            const keys = (variable('modules/alerts.bicep', 'rules')?.namedChildren ?? []).map((item) => value(property(item, 'key')));
            expect(keys).toEqual(['poll-failing', 'no-successful-poll', 'owed-growing', 'action-errors', 'table-unreachable', 'moveworks-refused']);
        });

        it('sends the alerts to an email and a webhook given as parameters, the webhook kept secret', () => {
            const [group] = resources('modules/alerts.bicep', 'Microsoft.Insights/actionGroups');
            expect(property(group.body, 'properties.emailReceivers')?.text).toContain('alertEmail');
            expect(property(group.body, 'properties.webhookReceivers')?.text).toContain('alertWebhookUrl');
            expect(param('main.bicep', 'alertWebhookUrl').decorators.has('secure')).toBe(true);
            expect(moduleParams('alerts')).toMatchObject({ alertEmail: 'alertEmail', alertWebhookUrl: 'alertWebhookUrl', appInsightsId: 'monitoring.outputs.id' });
        });

        it('takes every threshold as a parameter with a default and a lower bound, passed through to the module', () => {
            for (const [top, inner] of Object.entries(ALERTS)) {
                const declaredTop = param('main.bicep', top);
                expect([top, declaredTop.type, declaredTop.default !== undefined, declaredTop.decorators.has('minValue') || declaredTop.decorators.has('allowed')]).toEqual([top, 'int', true, true]);
                expect(param('modules/alerts.bicep', inner).default).toBeDefined();
                expect(moduleParams('alerts')[inner]).toBe(top);
            }
        });

        it('points every alert at a section of the runbook that exists and names its key', () => {
            const runbook = readFileSync(join(__dirname, '..', 'docs', 'operations.md'), 'utf8');
            const sections = [...runbook.matchAll(/^## (.+)$/gm)].map((match) => match[1]);
            for (const rule of variable('modules/alerts.bicep', 'rules')?.namedChildren ?? []) {
                const key = value(property(rule, 'key'))!;
                const title = /See docs\/operations\.md "([^"]+)"/.exec(value(property(rule, 'description')) ?? '')?.[1];
                expect([key, sections.find((section) => section === `${title} (\`${key}\`)`)]).toEqual([key, expect.any(String)]);
            }
        });

        it('gives every rule a window size Azure Monitor accepts, whatever the parameters', () => {
            const ACCEPTED_MINUTES = [5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880];
            const minutes = (duration: string) => (/^PT(\d+)H$/.exec(duration) ? Number(/^PT(\d+)H$/.exec(duration)![1]) * 60 : Number(/^PT(\d+)M$/.exec(duration)?.[1]));
            const windows = (variable('modules/alerts.bicep', 'rules')?.namedChildren ?? []).map((item) => value(property(item, 'window'))!);
            const heartbeat = param('modules/alerts.bicep', 'heartbeatMinutes').decorators.get('allowed')?.text ?? '';
            const heartbeatChoices = [...heartbeat.matchAll(/\d+/g)].map((match) => Number(match[0]));
            expect(heartbeatChoices.length).toBeGreaterThan(0);
            for (const window of windows) {
                const sizes = window === 'PT${heartbeatMinutes}M' ? heartbeatChoices : [minutes(window)];
                expect([window, sizes.filter((size) => !ACCEPTED_MINUTES.includes(size))]).toEqual([window, []]);
            }
            expect(param('main.bicep', 'alertHeartbeatMinutes').decorators.get('allowed')?.text).toBe(heartbeat);
        });

        it('deploys the workbook on Application Insights with the charts of workbook.json', () => {
            const [workbook] = resources('modules/workbook.bicep', 'Microsoft.Insights/workbooks');
            expect(property(workbook.body, 'properties.sourceId')?.text).toBe('appInsightsId');
            expect(property(workbook.body, 'properties.serializedData')?.text).toBe("string(union(loadJsonContent('workbook.json'), { fallbackResourceIds: [appInsightsId] }))");
            const document = JSON.parse(readFileSync(join(infra, 'modules', 'workbook.json'), 'utf8')) as { items: { type: number; content: { title?: string } }[] };
            expect(document.items.filter((item) => item.type === 3).map((item) => item.content.title)).toEqual([
                'Messages sent to approvers, by source',
                'Decisions, by outcome and channel',
                'Time from notification to decision in chat (p50, p95, minutes)',
                'Refused and failed calls, by system',
                'Messages owed for the next poll, by source',
            ]);
            expect(moduleParams('workbook')).toMatchObject({ appInsightsId: 'monitoring.outputs.id' });
        });
    });

    it('catches a syntax error (the check is not vacuous)', () => {
        expect(parser.parse("resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  location:\n}\n").rootNode.hasError).toBe(true);
    });

    it('writes exactly the app settings the config schema reads, but the documented local-only ones', () => {
        const root = parse(join(infra, 'main.bicep'));
        const keys: string[] = [];
        const visit = (node: Node) => {
            const key = node.type === 'object_property' ? node.child(0) : null;
            if (key?.text === 'appSettings') {
                for (const property of node.namedChildren[1]?.namedChildren ?? []) {
                    if (property.type === 'object_property') keys.push(property.child(0)!.text.replace(/^'|'$/g, ''));
                }
            }
            node.children.forEach(visit);
        };
        visit(root);
        expect(keys.length).toBeGreaterThan(0);
        expect(keys.sort()).toEqual(SETTING_NAMES.filter((name) => !LOCAL_ONLY.includes(name) && !HOST_SETTINGS.includes(name)).sort());
    });

    it('gives the host identity-based storage as the Flex samples do: account name, managed identity and its client id', () => {
        const app = module('functionApp.bicep');
        expect(app).toMatch(/AzureWebJobsStorage__accountName: storageAccountName\n/);
        expect(app).toMatch(/AzureWebJobsStorage__credential: 'managedidentity'\n/);
        expect(app).toMatch(/AzureWebJobsStorage__clientId: identityClientId\n/);
        expect(main()).toMatch(/storageAccountName: storage\.outputs\.name\n/);
        expect(app).not.toMatch(/AzureWebJobsStorage:/);
    });

    it('writes only host settings besides the app settings', () => {
        const hostSettings = /var hostSettings = \{([\s\S]*?)\n\}/.exec(module('functionApp.bicep'))?.[1] ?? '';
        const names = [...hostSettings.matchAll(/^\s+([A-Za-z_]+):/gm)].map((match) => match[1]);
        expect(names.sort()).toEqual([...HOST_SETTINGS].sort());
    });

    it('runs on a Flex Consumption FC1 plan with Node.js 22 and the user-assigned identity', () => {
        const app = module('functionApp.bicep');
        expect(app).toMatch(/tier: 'FlexConsumption'\s+name: 'FC1'/);
        expect(app).toMatch(/runtime: \{\s+name: 'node'\s+version: '22'/);
        expect(app).toMatch(/type: 'UserAssigned'/);
        expect(app).toMatch(/keyVaultReferenceIdentity: identityId/);
        expect(app).toMatch(/type: 'UserAssignedIdentity'\s+userAssignedIdentityResourceId: identityId/);
    });

    it('disables shared keys on storage and grants the identity blob owner and table contributor', () => {
        const storage = module('storage.bicep');
        expect(storage).toContain('allowSharedKeyAccess: false');
        expect(storage).toContain("'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'");
        expect(storage).toContain("'0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'");
    });

    it('turns off local auth on Application Insights and grants Monitoring Metrics Publisher', () => {
        const monitoring = module('monitoring.bicep');
        expect(monitoring).toContain('DisableLocalAuth: true');
        expect(monitoring).toContain("'3913510d-42f4-4e42-8a64-420c390055eb'");
    });

    it('keeps every secret in an RBAC Key Vault and references it from the app settings', () => {
        expect(module('keyVault.bicep')).toContain('enableRbacAuthorization: true');
        expect(module('keyVault.bicep')).toContain("'4633458b-17de-408a-b874-0445c86b69e6'");
        for (const setting of ['IIQ_CLIENT_SECRET', 'ISC_CLIENT_SECRET', 'MOVEWORKS_API_KEY', 'AUDIT_READER_KEY']) {
            expect(main()).toMatch(new RegExp(`${setting}: secretReference\\.`));
        }
        expect(main()).toMatch(/@Microsoft\.KeyVault\(SecretUri=\$\{vault\.outputs\.uri\}secrets\//);
        for (const secret of ['iiqClientSecret', 'iscClientSecret', 'moveworksApiKey', 'auditReaderKey']) expect(main()).toMatch(new RegExp(`@secure\\(\\)\\s+param ${secret} `));
    });

    it('keeps the stored secrets on a redeploy without them: a secret is written only when given, and referenced while its source is on', () => {
        expect(module('keyVault.bicep')).toMatch(/for item in items\(secrets\): if \(!empty\(item\.value\)\)/);
        expect(main()).toMatch(/iiq: empty\(iiqBaseUrl\) \? '' : '@Microsoft\.KeyVault/);
        expect(main()).toMatch(/isc: empty\(iscBaseUrl\) \? '' : '@Microsoft\.KeyVault/);
        expect(main()).not.toMatch(/empty\((iiqClientSecret|iscClientSecret|moveworksApiKey)\) \?/);
        for (const secret of ['iiqClientSecret', 'iscClientSecret', 'moveworksApiKey', 'auditReaderKey']) expect([secret, value(param('main.bicep', secret).default)]).toEqual([secret, '']);
        expect(main()).toMatch(/auditReader: enableAuditReaderKey \? '@Microsoft\.KeyVault/);
        expect(main()).not.toMatch(/empty\(auditReaderKey\) \?/);
    });

    it('declares each caller setting as an optional, described string parameter and writes it to its app setting', () => {
        const appSettings = entries(property(moduleParamsObject('functionApp'), 'appSettings'));
        for (const [name, setting] of Object.entries(CALLER_PARAMETERS)) {
            const declaration = param('main.bicep', name);
            expect(declaration.type).toBe('string');
            expect(declaration.default?.text).toBe("''");
            expect(value(declaration.decorators.get('description'))?.length).toBeGreaterThan(20);
            expect(appSettings[setting]).toBe(name);
        }
        expect(value(param('main.bicep', 'callerJwtIssuer').decorators.get('description'))).toMatch(/empty leaves caller-token verification off/);
    });

    it('turns allowedCallerIpRanges into Allow rules for the app and its scm site, denying the rest only when ranges are given', () => {
        const ranges = param('main.bicep', 'allowedCallerIpRanges');
        expect(ranges.type).toBe('string[]');
        expect(ranges.default?.text).toBe('[]');
        expect(value(ranges.decorators.get('description'))).toMatch(/CIDR/);
        expect(value(ranges.decorators.get('description'))).toMatch(/Moveworks egress IP/);
        expect(moduleParams('functionApp').allowedIpRanges).toBe('allowedCallerIpRanges');
        expect(param('modules/functionApp.bicep', 'allowedIpRanges').default?.text).toBe('[]');

        // One rule per range: for (cidr, i) in allowedIpRanges, allowing that range, with distinct priorities.
        const loop = variable('modules/functionApp.bicep', 'ipRules')!;
        expect(loop.type).toBe('for_statement');
        const [parameters, source, body] = loop.namedChildren;
        const [item, index] = parameters.namedChildren.map((node) => node.text);
        expect(source.text).toBe('allowedIpRanges');
        expect(entries(body)).toEqual(expect.objectContaining({ action: "'Allow'", ipAddress: item }));
        expect(entries(body).priority).toMatch(new RegExp(`^\\d+ \\+ ${index}$`));
        expect(entries(body).name).toContain(index);

        // Deny for everything else only when there is a range; Allow (no restriction) when there is none.
        const defaultAction = variable('modules/functionApp.bicep', 'ipDefaultAction')!;
        expect(defaultAction.type).toBe('ternary_expression');
        expect(defaultAction.namedChildren.map((node) => value(node))).toEqual(['empty(allowedIpRanges)', 'Allow', 'Deny']);

        const [site] = resources('modules/functionApp.bicep', 'Microsoft.Web/sites');
        const siteConfig = entries(property(site.body, 'properties.siteConfig'));
        expect(siteConfig).toEqual(
            expect.objectContaining({
                ipSecurityRestrictions: 'ipRules',
                ipSecurityRestrictionsDefaultAction: 'ipDefaultAction',
                scmIpSecurityRestrictions: 'ipRules',
                scmIpSecurityRestrictionsDefaultAction: 'ipDefaultAction',
                scmIpSecurityRestrictionsUseMain: 'false',
            }),
        );
    });

    it('turns off basic publishing credentials for both scm and ftp', () => {
        const policies = resources('modules/functionApp.bicep', 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
        expect(policies.map((policy) => value(property(policy.body, 'name'))).sort()).toEqual(['ftp', 'scm']);
        for (const policy of policies) {
            expect(value(property(policy.body, 'parent'))).toBe('site');
            expect(value(property(policy.body, 'properties.allow'))).toBe('false');
        }
    });

    it.each([
        ['modules/keyVault.bicep', 'vault', 'Microsoft.KeyVault/vaults', 'vault', ['AuditEvent'], ['AllMetrics']],
        ['modules/storage.bicep', 'storage', 'Microsoft.Storage/storageAccounts/tableServices', 'tableService', ['StorageRead', 'StorageWrite', 'StorageDelete'], ['Transaction']],
        ['modules/storage.bicep', 'storage', 'Microsoft.Storage/storageAccounts/blobServices', 'blobService', ['StorageRead', 'StorageWrite', 'StorageDelete'], ['Transaction']],
        ['modules/functionApp.bicep', 'functionApp', 'Microsoft.Web/sites', 'site', ['FunctionAppLogs'], ['AllMetrics']],
    ])('sends the diagnostics of %s to the Log Analytics workspace', (file, moduleSymbol, scopeType, scopeSymbol, logs, metrics) => {
        const setting = resources(file, 'Microsoft.Insights/diagnosticSettings').find((candidate) => value(property(candidate.body, 'scope')) === scopeSymbol);
        expect(setting).toBeDefined();
        if (!setting) return;
        expect(resources(file, scopeType).map((resource) => resource.symbol)).toContain(scopeSymbol);
        expect(value(property(setting.body, 'properties.workspaceId'))).toBe('workspaceId');
        const categories = (list: string) => (property(setting.body, `properties.${list}`)?.namedChildren ?? []).map((entry) => entries(entry));
        expect(categories('logs')).toEqual(logs.map((category) => ({ category: `'${category}'`, enabled: 'true' })));
        expect(categories('metrics')).toEqual(metrics.map((category) => ({ category: `'${category}'`, enabled: 'true' })));
        expect(param(file, 'workspaceId').type).toBe('string');
        expect(moduleParams(moduleSymbol).workspaceId).toBe('monitoring.outputs.workspaceId');
    });

    it('takes the diagnostics workspace id from the monitoring module', () => {
        const [workspace] = resources('modules/monitoring.bicep', 'Microsoft.OperationalInsights/workspaces');
        expect(output('modules/monitoring.bicep', 'workspaceId')).toBe(`${workspace.symbol}.id`);
    });

    it('turns off local auth on the Log Analytics workspace, Application Insights ingesting with the identity instead', () => {
        const [workspace] = resources('modules/monitoring.bicep', 'Microsoft.OperationalInsights/workspaces');
        expect(value(property(workspace.body, 'properties.features.disableLocalAuth'))).toBe('true');

        // Application Insights takes no instrumentation-key-only telemetry: the app's user-assigned identity
        // publishes it, with the Monitoring Metrics Publisher role on the component.
        const [appInsights] = resources('modules/monitoring.bicep', 'Microsoft.Insights/components');
        expect(value(property(appInsights.body, 'properties.DisableLocalAuth'))).toBe('true');
        expect(value(property(appInsights.body, 'properties.WorkspaceResourceId'))).toBe(`${workspace.symbol}.id`);
        const [publisher] = resources('modules/monitoring.bicep', 'Microsoft.Authorization/roleAssignments');
        expect(value(property(publisher.body, 'scope'))).toBe(appInsights.symbol);
        expect(value(property(publisher.body, 'properties.roleDefinitionId'))).toContain('monitoringMetricsPublisher');
        expect(value(property(publisher.body, 'properties.principalId'))).toBe('publisherPrincipalId');
        expect(moduleParams('monitoring').publisherPrincipalId).toBe('identity.outputs.principalId');
        const hostSettings = entries(variable('modules/functionApp.bicep', 'hostSettings'));
        expect(hostSettings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe("'Authorization=AAD;ClientId=${identityClientId}'");
        expect(moduleParams('functionApp').identityClientId).toBe('identity.outputs.clientId');
    });

    it('sizes the worker heap from the instance memory, with the options the benchmark measures under', () => {
        const memory = param('main.bicep', 'instanceMemoryMB');
        expect(memory.decorators.get('allowed')?.text).toBe('[512, 2048, 4096]');
        expect(Number(memory.default?.text)).toBe(DEFAULT_INSTANCE_MEMORY_MB);
        expect(moduleParams('functionApp').instanceMemoryMB).toBe('instanceMemoryMB');
        const nodeOptions = entries(variable('modules/functionApp.bicep', 'hostSettings')).NODE_OPTIONS;
        for (const instanceMemoryMB of [512, 2048, 4096]) {
            const resolved = nodeOptions.slice(1, -1).replace('${instanceMemoryMB / 4}', String(instanceMemoryMB / 4));
            expect(resolved).toBe(workerNodeOptions(instanceMemoryMB));
        }
    });

    it('bounds the poll budget to what the function timeout leaves, as the app does', () => {
        const budget = param('main.bicep', 'pollBudgetSeconds');
        const hostJson = JSON.parse(readFileSync(join(infra, '..', 'host.json'), 'utf8')) as { functionTimeout: string };
        const [hours, minutes, seconds] = hostJson.functionTimeout.split(':').map(Number);
        expect(Number(budget.decorators.get('minValue')?.text)).toBe(5);
        expect(Number(budget.decorators.get('maxValue')?.text)).toBe(MAX_POLL_BUDGET_SECONDS);
        expect(MAX_POLL_BUDGET_SECONDS).toBeLessThanOrEqual(0.75 * (hours * 3600 + minutes * 60 + seconds));
    });

    it('makes Key Vault public network access a parameter, Enabled or Disabled', () => {
        for (const [file, name] of [
            ['main.bicep', 'keyVaultPublicNetworkAccess'],
            ['modules/keyVault.bicep', 'publicNetworkAccess'],
        ]) {
            const declaration = param(file, name);
            expect(declaration.type).toBe('string');
            expect(value(declaration.default)).toBe('Enabled');
            expect(declaration.decorators.get('allowed')?.namedChildren.map((node) => value(node))).toEqual(['Enabled', 'Disabled']);
            expect(value(declaration.decorators.get('description'))).toMatch(/private endpoint/);
        }
        expect(value(param('main.bicep', 'keyVaultPublicNetworkAccess').decorators.get('description'))).toMatch(/VNet integration, which this template does not create/);
        expect(moduleParams('vault').publicNetworkAccess).toBe('keyVaultPublicNetworkAccess');
        const [vault] = resources('modules/keyVault.bicep', 'Microsoft.KeyVault/vaults');
        expect(value(property(vault.body, 'properties.publicNetworkAccess'))).toBe('publicNetworkAccess');
    });

    it('gives a parameters file whose names the template declares, and no secrets', () => {
        const parameters = JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, unknown> };
        const declared = [...main().matchAll(/^param (\w+) /gm)].map((match) => match[1]);
        for (const name of Object.keys(parameters.parameters)) expect(declared).toContain(name);
        expect(Object.keys(parameters.parameters)).not.toEqual(expect.arrayContaining(['moveworksApiKey']));
        expect(Object.keys(parameters.parameters).filter((name) => /secret|apikey/i.test(name))).toEqual([]);
    });
});
