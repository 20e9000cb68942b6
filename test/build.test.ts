import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const tsconfig = (file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as { compilerOptions: { types?: string[] }; include: string[] };

const text = (file: string) => readFileSync(join(root, file), 'utf8');

describe('the platform', () => {
    const PRODUCTION_MAJOR = /runtime: \{\s*name: 'node'\s*version: '(\d+)'/.exec(text('infra/modules/functionApp.bicep'))?.[1];

    it('deploys Node 22', () => {
        expect(PRODUCTION_MAJOR).toBe('22');
    });

    it('runs this suite on the Node major that production runs, whatever the system Node is', () => {
        expect(process.versions.node.split('.')[0]).toBe(PRODUCTION_MAJOR);
    });

    it('asks for that major everywhere: the node dev dependency, engines, @types/node and the workflow', () => {
        const manifest = JSON.parse(text('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };
        expect(manifest.devDependencies.node).toMatch(new RegExp(`^\\^${PRODUCTION_MAJOR}\\.`));
        expect(manifest.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${PRODUCTION_MAJOR}(\\.|$)`));
        expect(manifest.engines.node).toBe(`>=${PRODUCTION_MAJOR}`);
        expect([...text('.github/workflows/ci.yml').matchAll(/node-version: (\S+)/g)].map((match) => match[1])).toEqual(expect.arrayContaining([PRODUCTION_MAJOR]));
        expect([...text('.github/workflows/ci.yml').matchAll(/node-version: (\S+)/g)].every((match) => match[1] === PRODUCTION_MAJOR)).toBe(true);
    });
});

describe('the GitHub workflow', () => {
    const workflow = () => text('.github/workflows/ci.yml');
    const runs = () => [...workflow().matchAll(/^\s*(?:- )?run: (.+)$/gm)].map((match) => match[1].trim());

    it('compiles once: npm test, npm run package and npm start each compile again, so the workflow runs the built scripts', () => {
        const compiling = runs().filter((command) => /^npm (run build|test|run package|start|run bench|run soak)\b/.test(command));
        expect(compiling).toEqual(['npm run build']);
        expect(runs()).toEqual(expect.arrayContaining(['node scripts/test.js', 'node scripts/package.js']));
    });

    it('uses the current major of every action, which runs on a supported Node', () => {
        const CURRENT: Record<string, string> = { 'actions/checkout': 'v6', 'actions/setup-node': 'v6', 'actions/upload-artifact': 'v7', 'actions/download-artifact': 'v8', 'azure/login': 'v3' };
        const used = [...workflow().matchAll(/uses: ([\w.-]+\/[\w.-]+)@(\S+)/g)].map((match) => [match[1], match[2]]);
        expect(used.length).toBeGreaterThan(0);
        for (const [action, version] of used) expect(`${action}@${version}`).toBe(`${action}@${CURRENT[action]}`);
    });

    it('names the federated credential subject the deploy job logs in with', () => {
        expect(workflow()).toContain('repo:OWNER/REPO:environment:production');
        expect(workflow()).toMatch(/^\s+environment: production$/m);
    });
});

describe('the build', () => {
    it('compiles production code without jest types, from folders that exist', () => {
        const production = tsconfig('tsconfig.json');
        expect(production.compilerOptions.types).not.toContain('jest');
        expect(production.include.filter((path) => !existsSync(join(root, path)))).toEqual([]);
        expect(production.include).not.toContain('test');
    });

    it('compiles the specs with jest types through their own tsconfig', () => {
        const specs = tsconfig('tsconfig.test.json');
        expect(specs.compilerOptions.types).toContain('jest');
        expect(specs.include).toContain('test');
    });

    it('keeps every trace out of Application Insights sampling, since the alerts and queries read the JSON log events', () => {
        const host = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8')) as { logging: { applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes?: string } } } };
        const sampling = host.logging.applicationInsights.samplingSettings;
        expect(!sampling.isEnabled || (sampling.excludedTypes ?? '').split(';').includes('Trace')).toBe(true);
    });
});
