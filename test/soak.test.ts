import { spawn } from 'node:child_process';
import { join } from 'node:path';

/** The short fault soak (`npm run soak` runs the long one): 200 approvals over 10 polls under injected faults. */
describe('fault soak', () => {
    it('notifies every approval exactly once, keeps every pending one open and lets every accepted decision reach IdentityIQ exactly once, under faults', async () => {
        const soak = join(__dirname, '..', 'dist', 'dev', 'soak.js');
        const { status, output } = await new Promise<{ status: number | null; output: string }>((resolve) => {
            const child = spawn(process.execPath, [soak, '--approvals', '200', '--polls', '10', '--seed', '11']);
            let output = '';
            child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
            child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
            const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
            child.on('close', (code) => {
                clearTimeout(timer);
                resolve({ status: code, output });
            });
        });
        expect(output).toContain('soak: 0 violations');
        expect(status).toBe(0);
        const summary = JSON.parse(output.split('\n').find((line) => line.startsWith('{"approvals"')) ?? '{}') as Record<string, number>;
        expect(summary).toMatchObject({ approvals: 200, violations: 0 });
        expect(summary.completedInsideWhilePaging).toBeGreaterThan(0);
        expect(summary.clicksRefused).toBeGreaterThan(0);
    }, 180_000);
});
