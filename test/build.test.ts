import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const tsconfig = (file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as { compilerOptions: { types?: string[] }; include: string[] };

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
