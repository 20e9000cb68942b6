#!/usr/bin/env node
// `npm run package [-- out.zip]`: the deployable zip for `az functionapp deployment source config-zip` (or
// Flex "one deploy"): compiled functions and shared code, host.json, package.json and the production
// dependencies named by package-lock.json, copied from node_modules (no network). Run after `npm run build`.
const { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join, relative, resolve } = require('node:path');
const AdmZip = require('adm-zip');

const root = join(__dirname, '..');
const out = resolve(root, process.argv[2] ?? join('dist-package', 'app.zip'));
const compiled = ['functions', 'shared'];

if (!existsSync(join(root, 'dist', 'functions'))) {
    console.error('dist/functions is missing: run `npm run build` first (`npm run package` does).');
    process.exit(1);
}

const stage = mkdtempSync(join(tmpdir(), 'approvals-package-'));
try {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    delete manifest.devDependencies;
    delete manifest.scripts;
    writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    cpSync(join(root, 'host.json'), join(stage, 'host.json'));

    for (const dir of compiled) {
        cpSync(join(root, 'dist', dir), join(stage, 'dist', dir), { recursive: true, filter: (source) => !source.endsWith('.map') });
    }

    // Top-level entries only: a nested node_modules travels with the package that needs it.
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    let packages = 0;
    for (const [path, entry] of Object.entries(lock.packages)) {
        if (!path.startsWith('node_modules/') || entry.dev || path.lastIndexOf('node_modules/') !== 0) continue;
        if (!existsSync(join(root, path))) continue;
        cpSync(join(root, path), join(stage, path), { recursive: true, dereference: true });
        packages++;
    }

    const zip = new AdmZip();
    zip.addLocalFolder(stage);
    mkdirSync(dirname(out), { recursive: true });
    zip.writeZip(out);
    const files = zip.getEntries().filter((entry) => !entry.isDirectory).length;
    console.log(`${relative(root, out)}: ${files} files, ${packages} production packages`);
} finally {
    rmSync(stage, { recursive: true, force: true });
}
