import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** Runs the soak (`npm run soak` runs the long one) and answers its output and exit status. */
async function soak(args: string[]): Promise<{ status: number | null; output: string }> {
    const script = join(__dirname, '..', 'dist', 'dev', 'soak.js');
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [script, ...args]);
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
        child.on('close', (code) => {
            clearTimeout(timer);
            resolve({ status: code, output });
        });
    });
}

const summaryOf = (output: string) => JSON.parse(output.split('\n').find((line) => line.startsWith('{"approvals"')) ?? '{}') as Record<string, number | string>;

/** The short fault soak: approvals over several polls under injected faults, through each Moveworks path. */
describe('fault soak', () => {
    it('notifies every approval exactly once, keeps every pending one open and lets every accepted decision reach IdentityIQ exactly once, under faults', async () => {
        const { status, output } = await soak(['--approvals', '200', '--polls', '10', '--seed', '11']);
        expect(output).toContain('soak: 0 violations');
        expect(status).toBe(0);
        const summary = summaryOf(output);
        expect(summary).toMatchObject({ approvals: 200, violations: 0 });
        expect(summary.completedInsideWhilePaging).toBeGreaterThan(0);
        expect(summary.clicksRefused).toBeGreaterThan(0);
    }, 180_000);

    it('loses and doubles no notice through an Agent Studio listener that answers 5xx, 429 and, for a while, 401', async () => {
        const { status, output } = await soak(['--approvals', '120', '--polls', '8', '--seed', '13', '--delivery', 'listener']);
        expect(output).toContain('soak: 0 violations');
        expect(status).toBe(0);
        expect(summaryOf(output)).toMatchObject({ approvals: 120, delivery: 'listener', violations: 0 });
    }, 180_000);
});
