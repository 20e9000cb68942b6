import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { preProcessFile } from 'typescript';
import { SETTING_NAMES } from '../shared/config';

/**
 * The floors of the code, bottom to top, and the one direction imports run (docs/how-it-works.md):
 * platform/ (plumbing) < the loose domain files (model, contract, approvalId, config) < the adapters
 * (iiq/, isc/, moveworks/, store/, callers/) < the use cases (approvals/, connections/) and the operations (ops/) <
 * app.ts (the composition root) < api/ (the HTTP edge) < functions/. A file imports its own folder or a
 * lower floor; two folders on one floor (two adapters, approvals/ and ops/) do not import each other.
 */

const root = join(__dirname, '..');

const FLOORS: { floor: number; folders: string[] }[] = [
    { floor: 0, folders: ['shared/platform'] },
    { floor: 1, folders: ['shared'] },
    { floor: 2, folders: ['shared/iiq', 'shared/isc', 'shared/moveworks', 'shared/store', 'shared/callers'] },
    { floor: 3, folders: ['shared/approvals', 'shared/connections', 'shared/ops'] },
    { floor: 5, folders: ['shared/api'] },
    { floor: 6, folders: ['functions'] },
];
const COMPOSITION_ROOT = 'shared/app.ts';

/** A file's floor, and the folder that holds it on that floor (its top folder under shared/). */
function placeOf(file: string): { floor: number; folder: string } {
    if (file === COMPOSITION_ROOT) return { floor: 4, folder: COMPOSITION_ROOT };
    const parts = file.split('/');
    const folder = parts[0] === 'shared' && parts.length > 2 ? `shared/${parts[1]}` : parts.slice(0, -1).join('/');
    const found = FLOORS.find(({ folders }) => folders.includes(folder));
    if (!found) throw new Error(`${file} is in no floor: add its folder to FLOORS and to docs/how-it-works.md`);
    return { floor: found.floor, folder };
}

/** Why `from` may not import `to`, or undefined when it may. */
function violation(from: string, to: string): string | undefined {
    const [a, b] = [placeOf(from), placeOf(to)];
    if (a.folder === b.folder) return undefined;
    if (b.floor > a.floor) return `${from} (floor ${a.floor}) imports ${to} (floor ${b.floor}), a floor above it`;
    if (b.floor === a.floor) return `${from} imports ${to}: ${a.folder} and ${b.folder} are side by side on floor ${a.floor}`;
    return undefined;
}

function sourceFiles(dir: string): string[] {
    return readdirSync(join(root, dir)).flatMap((entry) => {
        const path = `${dir}/${entry}`;
        return statSync(join(root, path)).isDirectory() ? sourceFiles(path) : entry.endsWith('.ts') ? [path] : [];
    });
}

/** Every project file a file imports (static, type-only, re-exported, import() or require()), as a path from the repository's root. */
function importsOf(file: string): string[] {
    const { importedFiles } = preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    return importedFiles
        .map((imported) => imported.fileName)
        .filter((specifier) => specifier.startsWith('.'))
        .map((specifier) => relative(root, normalize(join(root, dirname(file), specifier))).split('\\').join('/') + '.ts');
}

const files = [...sourceFiles('shared'), ...sourceFiles('functions')];

describe('the direction of imports', () => {
    it('every file of shared/ and functions/ sits on a floor', () => {
        expect(() => files.forEach(placeOf)).not.toThrow();
    });

    it('no file imports a floor above its own, nor a folder beside it', () => {
        const found = files.flatMap((file) => importsOf(file).flatMap((imported) => violation(file, imported) ?? []));
        expect(found).toEqual([]);
    });

    it('the check reads imports the way the code writes them, static and lazy', () => {
        expect(importsOf('shared/ops/health.ts')).toContain('shared/ops/preflight.ts');
        expect(importsOf('shared/api/actionFunction.ts')).toContain('shared/app.ts');
    });

    it('reads type-only imports, double quotes and require() too', () => {
        const written = ['import type { Config } from "../config";', "export { x } from '../model';", 'const m = require("../approvals/decide");'].join('\n');
        const { importedFiles } = preProcessFile(written, true, true);
        expect(importedFiles.map((imported) => imported.fileName)).toEqual(['../config', '../model', '../approvals/decide']);
    });

    it.each([
        ['shared/platform/http.ts', 'shared/config.ts', 'a floor above'],
        ['shared/iiq/source.ts', 'shared/approvals/decide.ts', 'a floor above'],
        ['shared/store/approvalStore.ts', 'shared/moveworks/message.ts', 'side by side'],
        ['shared/approvals/decide.ts', 'shared/ops/preflight.ts', 'side by side'],
        ['shared/app.ts', 'shared/api/httpAnswers.ts', 'a floor above'],
    ])('refuses %s importing %s (%s)', (from, to, why) => {
        expect(violation(from, to)).toContain(why);
    });

    it('lets a use case import an adapter, and an adapter the plumbing', () => {
        expect(violation('shared/approvals/decide.ts', 'shared/store/approvalStore.ts')).toBeUndefined();
        expect(violation('shared/iiq/source.ts', 'shared/platform/http.ts')).toBeUndefined();
    });
});

describe('the size of the house', () => {
    it('keeps README.md, the front door, at 16 KB or less', () => {
        expect(readFileSync(join(root, 'README.md')).byteLength).toBeLessThanOrEqual(16 * 1024);
    });

    it('leaves at most 8 files loose in shared/', () => {
        expect(readdirSync(join(root, 'shared')).filter((entry) => entry.endsWith('.ts')).length).toBeLessThanOrEqual(8);
    });

    it('keeps every file of shared/ at 450 lines or fewer', () => {
        const long = files.filter((file) => file.startsWith('shared/')).filter((file) => readFileSync(join(root, file), 'utf8').split('\n').length > 450);
        expect(long).toEqual([]);
    });

    it('keeps the composition root at 120 lines or fewer', () => {
        expect(readFileSync(join(root, COMPOSITION_ROOT), 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(120);
    });
});

/** Settings the table documents that the schema does not parse: axios reads them from the environment itself. */
const READ_BY_AXIOS = ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY'];

describe('the settings page', () => {
    it('names in its table exactly the settings the config schema reads, and the proxy settings', () => {
        const table = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8')
            .split('\n')
            .filter((line) => line.startsWith('| `'));
        const documented = new Set(table.flatMap((line) => [...line.split('|')[1].matchAll(/`([A-Za-z][A-Za-z0-9_]+)`/g)].map((match) => match[1])));
        expect([...documented].sort()).toEqual([...SETTING_NAMES, ...READ_BY_AXIOS].sort());
    });
});
