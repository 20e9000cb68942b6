#!/usr/bin/env node
// Runs jest and ends with the plain line CI reads: "N passed, M failed". Exits non-zero on any failure.
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const results = join(root, '.test-results.json');
rmSync(results, { force: true });
// `npm test` compiles first (--build): a compile error must end with the summary line too.
const args = process.argv.slice(2);
if (args[0] === '--build') {
    args.shift();
    const npm = process.env.npm_execpath;
    const build = npm ? spawnSync(process.execPath, [npm, 'run', 'build'], { cwd: root, stdio: 'inherit' }) : spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: true });
    if (build.status !== 0) {
        console.log('0 passed, 1 failed');
        process.exit(build.status || 1);
    }
}
const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--json', `--outputFile=${results}`, ...args], {
    cwd: root,
    stdio: 'inherit',
});
if (!existsSync(results)) {
    console.log('0 passed, 1 failed');
    process.exit(jest.status || 1);
}
const summary = JSON.parse(readFileSync(results, 'utf8'));
const failed = summary.numFailedTests + (summary.numRuntimeErrorTestSuites || 0);
console.log(`${summary.numPassedTests} passed, ${failed} failed`);
process.exit(failed > 0 || jest.status !== 0 || summary.numTotalTests === 0 ? 1 : 0);
