import AdmZip from 'adm-zip';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');

describe('the deployable package', () => {
    let work: string;
    let entries: string[];
    beforeAll(() => {
        work = mkdtempSync(join(tmpdir(), 'approvals-zip-'));
        // `npm test` builds first; `npm run package` is this script after the same build.
        const built = spawnSync(process.execPath, [join(root, 'scripts', 'package.js'), join(work, 'app.zip')], { cwd: root, encoding: 'utf8', timeout: 180_000 });
        if (built.status !== 0) throw new Error(`packaging failed:\n${built.stdout}\n${built.stderr}`);
        const zip = new AdmZip(join(work, 'app.zip'));
        entries = zip.getEntries().map((entry) => entry.entryName);
        zip.extractAllTo(join(work, 'app'), true);
    }, 200_000);
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    it('holds host.json, package.json and every function named by package.json main', () => {
        const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { main: string };
        expect(manifest.main).toBe('dist/functions/*.js');
        expect(entries).toEqual(expect.arrayContaining(['host.json', 'package.json']));
        for (const name of ['pollApprovals', 'approveApproval', 'rejectApproval', 'commentApproval', 'reassignApproval', 'health']) {
            expect(entries).toContain(`dist/functions/${name}.js`);
        }
    });

    it('leaves out tests, sources, source maps, dev tools, local settings and dev dependencies', () => {
        const unwanted = entries.filter(
            (entry) =>
                /^(test|dev|infra|scripts|functions|shared)\//.test(entry) ||
                /^dist\/(dev|test)\//.test(entry) ||
                (/^dist\//.test(entry) && /\.(ts|map)$/.test(entry)) ||
                /^local\.settings/.test(entry) ||
                /^node_modules\/(typescript|jest|ts-jest|azurite|web-tree-sitter|tree-sitter-bicep|adm-zip)\//.test(entry),
        );
        expect(unwanted).toEqual([]);
    });

    it('holds nothing that .funcignore would leave out of a Core Tools publish', () => {
        const ignored = funcIgnore(readFileSync(join(root, '.funcignore'), 'utf8'));
        expect(entries.filter((entry) => !entry.endsWith('/') && ignored(entry))).toEqual([]);
        for (const path of ['test/polling.test.ts', 'shared/app.ts', 'dev/start.ts', 'dist/dev/start.js', 'dist/shared/app.js.map', 'local.settings.json', 'tsconfig.json', 'infra/main.bicep']) {
            expect([path, ignored(path)]).toEqual([path, true]);
        }
    });

    it('loads every function from the unpacked zip without dev dependencies', () => {
        const app = join(work, 'app');
        const script = "const fs=require('fs');for (const f of fs.readdirSync('dist/functions')) require('./dist/functions/'+f); console.log('loaded')";
        const run = spawnSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
        expect(run.stderr).not.toMatch(/Cannot find module/);
        expect(run.status).toBe(0);
        expect(run.stdout).toContain('loaded');
    });
});

// The gitignore subset .funcignore uses: `*` and `**/` globs, `/` anchors, `dir/` prefixes, `!` exceptions; the last match wins.
function funcIgnore(text: string): (path: string) => boolean {
    const rules = text
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => {
            const negated = line.startsWith('!');
            const pattern = line.replace(/^!/, '').replace(/\/$/, '');
            const glob = pattern
                .replace(/^\//, '')
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*\*\//g, '\u0000')
                .replace(/\*/g, '[^/]*')
                .replace(/\u0000/g, '(.*/)?');
            // A pattern without a slash matches a name at any depth; with one, it is anchored at the root.
            const anchored = pattern.includes('/') ? `^${glob}` : `(^|/)${glob}`;
            return { negated, matches: new RegExp(`${anchored}(/|$)`) };
        });
    return (path) => rules.reduce((ignored, rule) => (rule.matches.test(path) ? !rule.negated : ignored), false);
}
