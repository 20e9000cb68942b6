import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SETTING_NAMES } from '../shared/config';

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
    'AzureWebJobsStorage__credential',
    'AzureWebJobsStorage__clientId',
    'AzureWebJobsStorage__blobServiceUri',
    'APPLICATIONINSIGHTS_CONNECTION_STRING',
    'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

type Node = import('web-tree-sitter').SyntaxNode;

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

    it('has main.bicep and its modules', () => {
        expect(bicepFiles(infra).map((path) => relative(infra, path)).sort()).toEqual(
            ['main.bicep', 'modules/functionApp.bicep', 'modules/identity.bicep', 'modules/keyVault.bicep', 'modules/monitoring.bicep', 'modules/storage.bicep'].sort(),
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
        expect(keys.sort()).toEqual(SETTING_NAMES.filter((name) => !LOCAL_ONLY.includes(name)).sort());
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
        for (const setting of ['IIQ_CLIENT_SECRET', 'ISC_CLIENT_SECRET', 'MOVEWORKS_API_KEY']) {
            expect(main()).toMatch(new RegExp(`${setting}: secretReference\\.`));
        }
        expect(main()).toMatch(/@Microsoft\.KeyVault\(SecretUri=\$\{vault\.outputs\.uri\}secrets\//);
        for (const secret of ['iiqClientSecret', 'iscClientSecret', 'moveworksApiKey']) expect(main()).toMatch(new RegExp(`@secure\\(\\)\\s+param ${secret} `));
    });

    it('gives a parameters file whose names the template declares, and no secrets', () => {
        const parameters = JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, unknown> };
        const declared = [...main().matchAll(/^param (\w+) /gm)].map((match) => match[1]);
        for (const name of Object.keys(parameters.parameters)) expect(declared).toContain(name);
        expect(Object.keys(parameters.parameters)).not.toEqual(expect.arrayContaining(['moveworksApiKey']));
        expect(Object.keys(parameters.parameters).filter((name) => /secret|apikey/i.test(name))).toEqual([]);
    });
});
