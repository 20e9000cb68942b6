#!/usr/bin/env node
// Runs jest and ends with the plain line CI reads: "N passed, M failed". Exits non-zero on any failure.
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const results = join(root, '.test-results.json');
rmSync(results, { force: true });
const jest = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--json', `--outputFile=${results}`, ...process.argv.slice(2)], {
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
