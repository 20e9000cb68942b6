import AdmZip from 'adm-zip';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

/**
 * `func azure functionapp publish <app> --typescript --no-build` from a fresh clone (docs/deploy.md,
 * "Publishing with Core Tools"). Core Tools cannot be installed here, so this spec does its part the way its
 * source does (Azure/azure-functions-core-tools, src/Cli/func: Common/GitIgnoreParser.cs,
 * Common/FileSystemHelpers.cs GetLocalFiles, Helpers/ZipHelper.cs): it takes the repository's files as a
 * clone would hold them, runs `npm ci` and `npm run build` there (offline, from npm's cache, which CI's
 * `npm ci` has just filled), picks the files Core Tools would zip by `.funcignore`, and checks what that
 * upload holds, compares it with `npm run package`'s app.zip and with a production install, and starts the
 * functions from it alone. Broken variants of `.funcignore`, fed to the same checks, show that they fail.
 */

const root = join(__dirname, '..');
/** The issue's ceiling for an upload that carries its dependencies: 60 MB (10^6 bytes) of files. */
const LIMIT_BYTES = 60_000_000;
const FORBIDDEN_FOLDERS = ['dev', 'test', 'docs', 'infra'];
/** The dev dependencies the issue names; each must be a dev package of package-lock.json for the check to mean something. */
const NAMED_DEV_PACKAGES = ['typescript', 'jest', 'azurite', 'node', 'tree-sitter-bicep'];

// ---------------------------------------------------------------------------------------------------------
// Core Tools' side, ported from its source.

/**
 * Core Tools' reading of `.funcignore` (GitIgnoreParser.cs, itself a port of codemix/gitignore-parser), line
 * for line: blank lines and `#` lines dropped, a leading `!` makes a line a take-back, a leading `/` is
 * dropped, special characters escaped, `**` becomes `(.+)` and `*` `([^\/]+)`, and each list becomes one
 * regular expression `^((a)|(b)|...)\b`. A file is uploaded when a take-back matches it or no other line does
 * (`Accepts`): whatever the order of the lines, and whether or not the match ends at a `/`.
 */
function coreToolsReader(funcignore: string): { accepts: (path: string) => boolean } {
    const positive: string[] = [];
    const negative: string[] = [];
    for (const trimmed of funcignore.split('\n').map((line) => line.trim())) {
        if (trimmed.startsWith('#') || trimmed === '') continue;
        const isNegative = trimmed.startsWith('!');
        let line = isNegative ? trimmed.slice(1) : trimmed;
        if (line.startsWith('/')) line = line.slice(1);
        (isNegative ? negative : positive).push(line);
    }
    const prepare = (pattern: string) =>
        pattern
            .replace(/[-[\]/{}()+?.\\^$|]/g, '\\$&')
            .replace(/\*\*/g, '(.+)')
            .replace(/\*/g, '([^\\/]+)');
    const compile = (list: string[]) => (list.length > 0 ? new RegExp(`^((${list.map(prepare).join(')|(')}))\\b`) : /$^/);
    const [positiveRegex, negativeRegex] = [compile(positive), compile(negative)];
    return { accepts: (path) => negativeRegex.test(path) || !positiveRegex.test(path) };
}

/** What GetLocalFiles never uploads, at any depth and in any case, before `.funcignore` is read. */
const ALWAYS_SKIPPED_FOLDERS = ['.git', '.vscode'];
const ALWAYS_SKIPPED_FILES = ['.funcignore', '.gitignore', 'local.settings.json', 'project.lock.json'];
const alwaysSkipped = (path: string) => {
    const parts = path.toLowerCase().split('/');
    return parts.slice(0, -1).some((part) => ALWAYS_SKIPPED_FOLDERS.includes(part)) || ALWAYS_SKIPPED_FILES.includes(parts[parts.length - 1]);
};

const statOrUndefined = (path: string) => {
    try {
        return statSync(path);
    } catch {
        return undefined;
    }
};

/** The files Core Tools zips from `folder` (GetLocalFiles, then CreateZip): path from the folder → size in bytes. Links are followed, as .NET's file enumeration and CreateEntryFromFile do. */
function coreToolsUpload(folder: string, funcignore: string): Map<string, number> {
    const reader = coreToolsReader(funcignore);
    const files = new Map<string, number>();
    const walk = (relativeDir: string) => {
        for (const entry of readdirSync(join(folder, relativeDir), { withFileTypes: true })) {
            const path = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
            const target = entry.isSymbolicLink() ? statOrUndefined(join(folder, path)) : entry;
            if (target?.isDirectory()) {
                if (!ALWAYS_SKIPPED_FOLDERS.includes(entry.name.toLowerCase())) walk(path);
            } else if (!ALWAYS_SKIPPED_FILES.includes(entry.name.toLowerCase()) && reader.accepts(path)) {
                // A dangling link (node_modules/.bin/node when install scripts did not run) counts as empty.
                files.set(path, statOrUndefined(join(folder, path))?.size ?? 0);
            }
        }
    };
    walk('');
    return files;
}

/** The same selection under git's own rules (`git ls-files --others --exclude-from`), less what Core Tools always skips. */
function gitUpload(folder: string, funcignore: string, scratch: string): string[] {
    const rules = join(scratch, 'funcignore-for-git');
    writeFileSync(rules, funcignore);
    const listed = spawnSync('git', ['-C', folder, 'ls-files', '-z', '--others', `--exclude-from=${rules}`], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (listed.status !== 0) throw new Error(`git ls-files failed:\n${listed.stderr}`);
    return listed.stdout.split('\0').filter((path) => path !== '' && !alwaysSkipped(path));
}

// ---------------------------------------------------------------------------------------------------------
// What the upload must hold.

interface Lock {
    production: string[];
    dev: string[];
}

/** The packages at the top of node_modules, as package-lock.json marks them (a package's own node_modules travels with it). */
function readLock(folder: string): Lock {
    const lock = JSON.parse(readFileSync(join(folder, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const production: string[] = [];
    const dev: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
        if (!path.startsWith('node_modules/') || path.lastIndexOf('node_modules/') !== 0) continue;
        (entry.dev ? dev : production).push(path.slice('node_modules/'.length));
    }
    return { production: production.sort(), dev: dev.sort() };
}

/** The package a path under node_modules/ belongs to (`@scope/name` or `name`), or undefined. */
function packageOf(path: string): string | undefined {
    const parts = path.split('/');
    if (parts[0] !== 'node_modules' || parts.length < 3) return undefined;
    return parts[1].startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1];
}

/**
 * The node_modules block `.funcignore` must end with for these packages: every top-level package taken back
 * but the dev ones. A name that begins a dev package's name (cookie, cookie-signature) is taken back as
 * `name/` and `name/**`, since Core Tools reads `name` as a prefix; each scope is taken back as `\@scope/`
 * for git (which cannot take back a file whose folder stays left out) and left out again below it.
 */
function nodeModulesBlock(lock: Lock): string {
    const takeBack = (name: string) => {
        const clashes = lock.dev.some((other) => other.startsWith(name) && /^[^A-Za-z0-9_]/.test(other.slice(name.length)));
        return clashes ? [`!/node_modules/${name}/`, `!/node_modules/${name}/**`] : [`!/node_modules/${name}`];
    };
    const lines = ['/node_modules/*', ...lock.production.filter((name) => !name.startsWith('@')).flatMap(takeBack)];
    const scopes = [...new Set(lock.production.filter((name) => name.startsWith('@')).map((name) => name.split('/')[0]))].sort();
    for (const scope of scopes) {
        lines.push(`!/node_modules/\\${scope}/`, `/node_modules/${scope}/*`, ...lock.production.filter((name) => name.startsWith(`${scope}/`)).flatMap(takeBack));
    }
    return `${lines.join('\n')}\n`;
}

interface Inspection {
    files: Map<string, number>;
    bytes: number;
    problems: string[];
}

interface Expectations {
    lock: Lock;
    /** Every file a production install puts in node_modules (`npm ci --omit=dev`), less its .bin and .package-lock.json. */
    productionFiles: Set<string>;
    /** The compiled file of each function source: dist/functions/<name>.js. */
    functionFiles: string[];
}

/** The checker: the upload Core Tools would make from `folder` with this `.funcignore`, and what is wrong with it. */
function inspect(folder: string, funcignore: string, expected: Expectations): Inspection {
    const files = coreToolsUpload(folder, funcignore);
    const paths = [...files.keys()];
    const bytes = [...files.values()].reduce((sum, size) => sum + size, 0);
    const problems: string[] = [];

    const devPackages = new Set(expected.lock.dev);
    const uploadedDev = [...new Set(paths.map(packageOf).filter((name): name is string => name !== undefined && devPackages.has(name)))].sort();
    if (uploadedDev.length > 0) problems.push(`dev dependencies uploaded (${uploadedDev.length}): ${uploadedDev.join(', ')}`);
    for (const folderName of FORBIDDEN_FOLDERS) {
        const inside = paths.filter((path) => path.startsWith(`${folderName}/`));
        if (inside.length > 0) problems.push(`${folderName}/ uploaded (${inside.length} files)`);
    }
    if (bytes > LIMIT_BYTES) problems.push(`${(bytes / 1e6).toFixed(1)} MB uploaded, over ${LIMIT_BYTES / 1e6} MB`);
    const npmOwn = paths.filter((path) => path.startsWith('node_modules/.bin/') || path === 'node_modules/.package-lock.json');
    if (npmOwn.length > 0) problems.push(`node_modules/.bin or .package-lock.json uploaded (${npmOwn.length} files)`);

    const missing = [...expected.productionFiles].filter((path) => !files.has(path));
    const missingPackages = [...new Set(missing.map(packageOf))].sort();
    if (missing.length > 0) problems.push(`production files left out (${missing.length}) of ${missingPackages.join(', ')}`);
    for (const required of ['host.json', 'package.json', ...expected.functionFiles]) {
        if (!files.has(required)) problems.push(`${required} left out`);
    }
    return { files, bytes, problems };
}

// ---------------------------------------------------------------------------------------------------------
// Starting the functions from the upload alone.

interface LoadReport {
    functions: Record<string, string[]>;
    required: string[];
    failures: string[];
    outside: string[];
}

/**
 * Runs in a child node whose working folder is the uploaded tree, with nothing else on its module path: the
 * host's part of starting the app (package.json `main` names the files; each is loaded, and `@azure/functions`
 * registers through `@azure/functions-core`, the worker's module, stubbed here as in dev/host/registrations.ts),
 * then every package the compiled code requires, some of which it loads only on first use. Prints a LoadReport.
 */
function loadUploadedApp(): void {
    const Module = require('node:module') as { _load: (...args: unknown[]) => unknown; isBuiltin: (name: string) => boolean; createRequire: (from: string) => (id: string) => unknown };
    const fs = require('node:fs') as typeof import('node:fs');
    const path = require('node:path') as typeof import('node:path');
    const here = process.cwd();
    const registered: string[] = [];
    const disposable = { dispose: () => undefined };
    const core = {
        setProgrammingModel: () => undefined,
        registerHook: () => disposable,
        log: () => undefined,
        registerFunction: (metadata: { name: string }) => {
            registered.push(metadata.name);
            return disposable;
        },
    };
    const load = Module._load;
    Module._load = function (this: unknown, ...args: unknown[]) {
        return args[0] === '@azure/functions-core' ? core : load.apply(this, args);
    };
    const report = { functions: {} as Record<string, string[]>, required: [] as string[], failures: [] as string[], outside: [] as string[] };
    const main = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { main: string }).main;
    const escape = (text: string) => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    const namePattern = new RegExp('^' + path.basename(main).split('*').map(escape).join('[^/]*') + '$');
    const functionFolder = path.join(here, path.dirname(main));
    for (const file of fs.readdirSync(functionFolder).filter((name) => namePattern.test(name)).sort()) {
        const before = registered.length;
        try {
            require(path.join(functionFolder, file));
        } catch (error) {
            report.failures.push(`${file}: ${(error as Error).message.split('\n')[0]}`);
        }
        report.functions[file] = registered.slice(before);
    }
    const compiled: string[] = [];
    const walk = (folder: string): void => {
        for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
            const full = path.join(folder, entry.name);
            if (entry.isDirectory()) walk(full);
            else if (entry.name.endsWith('.js')) compiled.push(full);
        }
    };
    walk(path.join(here, 'dist'));
    for (const file of compiled) {
        for (const [, , request] of fs.readFileSync(file, 'utf8').matchAll(/\brequire\((["'])([^"'.][^"']*)\1\)/g)) {
            if (Module.isBuiltin(request)) continue;
            report.required.push(request);
            try {
                Module.createRequire(file)(request);
            } catch (error) {
                report.failures.push(`${path.relative(here, file)} requires ${request}: ${(error as Error).message.split('\n')[0]}`);
            }
        }
    }
    report.required = [...new Set(report.required)].sort();
    report.outside = Object.keys(require.cache).filter((loaded) => !loaded.startsWith(here + path.sep));
    console.log(JSON.stringify(report));
}

/** Copies the upload's files out of `from` into a new folder `into` (as the deployment unpacks the zip) and starts the app there. */
function stageAndLoad(from: string, files: Iterable<string>, into: string): { status: number | null; stderr: string; report?: LoadReport } {
    const made = new Set<string>();
    for (const file of files) {
        const folder = dirname(join(into, file));
        if (!made.has(folder)) {
            mkdirSync(folder, { recursive: true });
            made.add(folder);
        }
        copyFileSync(join(from, file), join(into, file));
    }
    const run = spawnSync(process.execPath, ['-e', `(${loadUploadedApp.toString()})()`], { cwd: into, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 60_000 });
    const last = run.stdout.trim().split('\n').pop() ?? '';
    let report: LoadReport | undefined;
    try {
        report = JSON.parse(last) as LoadReport;
    } catch {
        report = undefined;
    }
    return { status: run.status, stderr: run.stderr, report };
}

// ---------------------------------------------------------------------------------------------------------
// The fresh clone.

/** npm, run by this node; without the npm_* settings of an outer `npm test`, so nothing points it back at this repository. */
function npm(args: string[], cwd: string): Promise<void> {
    const execPath = process.env.npm_execpath;
    const [command, prefix] = execPath && /npm-cli\.js$/.test(execPath) ? [process.execPath, [execPath]] : ['npm', []];
    const env: NodeJS.ProcessEnv = { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };
    for (const [key, value] of Object.entries(process.env)) {
        if (!/^npm_/i.test(key) && key !== 'PATH') env[key] = value;
    }
    return new Promise((resolve, reject) => {
        const child = spawn(command, [...prefix, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm ${args.join(' ')} in ${cwd} exited ${code}:\n${output.slice(-4000)}`))));
    });
}

/** The repository's files as a clone of the working tree would hold them: tracked, and new files git does not ignore. */
function copyCheckout(to: string): void {
    const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (listed.status !== 0) throw new Error(`git ls-files failed:\n${listed.stderr}`);
    for (const file of listed.stdout.split('\0').filter(Boolean)) {
        if (!existsSync(join(root, file))) continue;
        mkdirSync(dirname(join(to, file)), { recursive: true });
        copyFileSync(join(root, file), join(to, file));
    }
}

/** Every file under `folder` (links followed): path from the folder → size. */
function filesUnder(folder: string, prefix = ''): Map<string, number> {
    const files = new Map<string, number>();
    for (const entry of readdirSync(join(folder, prefix), { withFileTypes: true })) {
        const path = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (path === '.bin') continue;
        const stats = statSync(join(folder, path));
        if (stats.isDirectory()) for (const [inner, size] of filesUnder(folder, path)) files.set(inner, size);
        else files.set(path, stats.size);
    }
    return files;
}

const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex');

describe('func azure functionapp publish --no-build from a fresh clone (Core Tools 4.x, Flex Consumption)', () => {
    let scratch: string;
    let checkout: string;
    let funcignore: string;
    let expected: Expectations;
    let production: Map<string, number>;
    let actual: Inspection;

    beforeAll(async () => {
        scratch = mkdtempSync(join(tmpdir(), 'approvals-func-publish-'));
        checkout = join(scratch, 'clone');
        copyCheckout(checkout);
        // The developer's `npm ci` (offline, without install scripts: no production package has one, and
        // the dev ones only fetch tools), and beside it a production install to compare node_modules with.
        const productionInstall = join(scratch, 'production');
        mkdirSync(productionInstall);
        for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(checkout, file), join(productionInstall, file));
        const quiet = ['--offline', '--ignore-scripts', '--no-audit', '--no-fund'];
        await Promise.all([npm(['ci', ...quiet], checkout), npm(['ci', '--omit=dev', ...quiet], productionInstall)]);
        await npm(['run', 'build'], checkout);
        const packaged = spawnSync(process.execPath, [join(checkout, 'scripts', 'package.js'), join(scratch, 'app.zip')], { cwd: checkout, encoding: 'utf8', timeout: 120_000 });
        if (packaged.status !== 0) throw new Error(`npm run package's script failed:\n${packaged.stdout}\n${packaged.stderr}`);
        const init = spawnSync('git', ['-c', 'init.defaultBranch=main', 'init', '-q', checkout], { encoding: 'utf8' });
        if (init.status !== 0) throw new Error(`git init failed:\n${init.stderr}`);

        funcignore = readFileSync(join(checkout, '.funcignore'), 'utf8');
        production = new Map([...filesUnder(join(productionInstall, 'node_modules'))].filter(([path]) => path !== '.package-lock.json').map(([path, size]) => [`node_modules/${path}`, size]));
        expected = {
            lock: readLock(checkout),
            productionFiles: new Set(production.keys()),
            functionFiles: readdirSync(join(checkout, 'functions'))
                .filter((name) => name.endsWith('.ts'))
                .map((name) => `dist/functions/${name.replace(/\.ts$/, '.js')}`),
        };
        actual = inspect(checkout, funcignore, expected);
    }, 300_000);

    afterAll(() => {
        if (scratch) rmSync(scratch, { recursive: true, force: true });
    });

    it('reads .funcignore as Core Tools does, not as git does', () => {
        const reader = (text: string) => coreToolsReader(text).accepts;
        // `*.ts` is anchored at the root (Azure/azure-functions-core-tools#2701: nested .ts files were published).
        expect([reader('*.ts')('a.ts'), reader('*.ts')('src/a.ts')]).toEqual([false, true]);
        // A trailing `/` needs a word character after it: scoped packages and .bin stay in.
        expect(['node_modules/axios/index.js', 'node_modules/@types/node/index.d.ts', 'node_modules/.bin/tsc'].map(reader('node_modules/'))).toEqual([false, true, true]);
        expect(['node_modules/@types/node/index.d.ts', 'node_modules/.bin/tsc'].map(reader('/node_modules/*'))).toEqual([false, false]);
        // A take-back wins wherever it stands, and takes back every path it begins.
        expect(reader('!/keep\n/keep')('keep/x.js')).toBe(true);
        expect(['node_modules/cookie/index.js', 'node_modules/cookie-signature/index.js'].map(reader('/node_modules/*\n!/node_modules/cookie'))).toEqual([true, true]);
        expect(['node_modules/cookie/index.js', 'node_modules/cookie-signature/index.js'].map(reader('/node_modules/*\n!/node_modules/cookie/\n!/node_modules/cookie/**'))).toEqual([true, false]);
        // `\@` is a backslash to Core Tools: the scope line that git needs takes back nothing here.
        expect(reader('/node_modules/*\n!/node_modules/\\@azure/')('node_modules/@azure/ms-rest-js/index.js')).toBe(false);
    });

    it('uploads no dev dependency, none of dev/, test/, docs/ or infra/, under 60 MB, with every file the functions need', () => {
        for (const name of NAMED_DEV_PACKAGES) expect([name, expected.lock.dev.includes(name)]).toEqual([name, true]);
        expect(actual.problems).toEqual([]);
        expect(actual.bytes).toBeLessThan(LIMIT_BYTES);
        console.log(`func azure functionapp publish would upload ${actual.files.size} files, ${(actual.bytes / 1e6).toFixed(1)} MB (${(actual.bytes / 2 ** 20).toFixed(1)} MiB) before compression`);
    });

    it("lists in .funcignore each production package of package-lock.json, and no other", () => {
        const block = funcignore.slice(funcignore.indexOf('\n/node_modules/*\n') + 1);
        // On failure, the expected side is what the end of .funcignore must read.
        expect(block).toBe(nodeModulesBlock(expected.lock));
    });

    it("uploads exactly the files of npm run package's app.zip, with the same contents (package.json less scripts and devDependencies)", () => {
        const zip = new AdmZip(join(scratch, 'app.zip'));
        const entries = new Map(zip.getEntries().filter((entry) => !entry.isDirectory).map((entry) => [entry.entryName, entry]));
        const onlyUploaded = [...actual.files.keys()].filter((path) => !entries.has(path)).sort();
        const onlyZipped = [...entries.keys()].filter((path) => !actual.files.has(path)).sort();
        expect({ onlyUploaded, onlyZipped }).toEqual({ onlyUploaded: [], onlyZipped: [] });

        const differing = [...actual.files.keys()].filter((path) => path !== 'package.json' && sha1(readFileSync(join(checkout, path))) !== sha1(entries.get(path)!.getData()));
        expect(differing).toEqual([]);
        const uploaded = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as Record<string, unknown>;
        const zipped = JSON.parse(entries.get('package.json')!.getData().toString('utf8')) as Record<string, unknown>;
        const { scripts, devDependencies, ...runtime } = uploaded;
        expect([typeof scripts, typeof devDependencies]).toEqual(['object', 'object']);
        expect(runtime).toEqual(zipped);
    });

    it('uploads in node_modules exactly what npm ci --omit=dev installs', () => {
        const uploaded = [...actual.files].filter(([path]) => path.startsWith('node_modules/'));
        const differing = uploaded.filter(([path, size]) => production.get(path) !== size).map(([path]) => path);
        const notUploaded = [...production.keys()].filter((path) => !actual.files.has(path));
        expect({ differing, notUploaded }).toEqual({ differing: [], notUploaded: [] });
    });

    it("picks the same files under git's own rules", () => {
        const byGit = gitUpload(checkout, funcignore, scratch);
        const onlyCoreTools = [...actual.files.keys()].filter((path) => !byGit.includes(path));
        const gitSet = new Set(byGit);
        expect({ onlyCoreTools, onlyGit: byGit.filter((path) => !actual.files.has(path)) }).toEqual({ onlyCoreTools: [], onlyGit: [] });
        expect(gitSet.size).toBe(actual.files.size);
    });

    it('starts every function from the upload alone: each file registers, every package the code requires loads, nothing comes from outside', () => {
        const started = stageAndLoad(checkout, actual.files.keys(), join(scratch, 'deployed'));
        expect(started.stderr).not.toMatch(/Cannot find module/);
        expect(started.status).toBe(0);
        const report = started.report!;
        expect(report.failures).toEqual([]);
        expect(report.outside).toEqual([]);
        expect(Object.keys(report.functions).map((file) => `dist/functions/${file}`)).toEqual([...expected.functionFiles].sort());
        expect(Object.entries(report.functions).filter(([, names]) => names.length === 0)).toEqual([]);
        expect(report.required).toEqual(expect.arrayContaining(['@azure/functions', '@azure/data-tables', '@azure/identity', 'jose', 'zod']));
    });

    describe('fails on a broken .funcignore', () => {
        const without = (text: string, ...lines: string[]) => text.split('\n').filter((line) => !lines.includes(line)).join('\n');

        it('without /node_modules/*: the dev dependencies go up, over 60 MB', () => {
            const broken = inspect(checkout, without(funcignore, '/node_modules/*'), expected);
            const devLine = broken.problems.find((problem) => problem.startsWith('dev dependencies uploaded')) ?? '';
            for (const name of NAMED_DEV_PACKAGES) expect(devLine.split(/[:,] /)).toContain(name);
            expect(broken.problems.join('\n')).toMatch(/MB uploaded, over 60 MB/);
        });

        it("with node_modules/ written as for git: Core Tools keeps the scoped dev packages and .bin", () => {
            const broken = inspect(checkout, funcignore.replace('\n/node_modules/*\n', '\nnode_modules/\n'), expected);
            const devLine = broken.problems.find((problem) => problem.startsWith('dev dependencies uploaded')) ?? '';
            expect(devLine).toMatch(/@types\/node/);
            expect(devLine).toMatch(/@jest\//);
            expect(broken.problems.join('\n')).toMatch(/node_modules\/\.bin/);
        });

        it('without /dev, /test, /docs and /infra: those folders go up', () => {
            const broken = inspect(checkout, without(funcignore, '/dev', '/test', '/docs', '/infra'), expected);
            for (const folderName of FORBIDDEN_FOLDERS) expect(broken.problems.join('\n')).toContain(`${folderName}/ uploaded`);
        });

        it('without !/node_modules/zod: zod is left out and the functions do not start', () => {
            const broken = inspect(checkout, without(funcignore, '!/node_modules/zod'), expected);
            expect(broken.problems.join('\n')).toMatch(/production files left out \(\d+\) of zod$/m);
            const started = stageAndLoad(checkout, broken.files.keys(), join(scratch, 'deployed-without-zod'));
            expect(started.report?.failures.join('\n') ?? started.stderr).toMatch(/Cannot find module 'zod'/);
        });
    });
});
