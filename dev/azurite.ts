import { ChildProcess, spawn } from 'node:child_process';
import { createServer, Socket } from 'node:net';

/**
 * Starts Azurite's Table service as a child process on a free loopback port, in memory or under a folder,
 * and answers its connection string. Telemetry is off: this machine has no internet.
 */

export const AZURITE_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The port `UseDevelopmentStorage=true` means for the Table service. */
export const AZURITE_TABLE_PORT = 10002;

export interface RunningAzurite {
    connectionString: string;
    port: number;
    stop(): Promise<void>;
}

export function connectionStringFor(port: number): string {
    return `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${AZURITE_ACCOUNT_KEY};TableEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`;
}

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address() as { port: number };
            server.close(() => resolve(port));
        });
    });
}

export function canConnect(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = new Socket();
        socket.once('connect', () => {
            socket.destroy();
            resolve(true);
        });
        socket.once('error', () => resolve(false));
        socket.connect(port, '127.0.0.1');
    });
}

export async function startAzurite(options: { port?: number; location?: string } = {}): Promise<RunningAzurite> {
    const port = options.port ?? (await freePort());
    const storage = options.location ? ['--location', options.location] : ['--inMemoryPersistence'];
    const child: ChildProcess = spawn(
        process.execPath,
        [require.resolve('azurite/dist/src/table/main.js'), ...storage, '--silent', '--disableTelemetry', '--tableHost', '127.0.0.1', '--tablePort', String(port)],
        { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const stop = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        // SIGINT lets Azurite save what it holds in memory to --location; SIGTERM would drop recent writes.
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
    };
    const deadline = Date.now() + 20_000;
    while (!(await canConnect(port))) {
        if (child.exitCode !== null || Date.now() > deadline) {
            await stop();
            throw new Error(`Azurite did not start on port ${port}: ${stderr.trim() || 'no output'}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { connectionString: connectionStringFor(port), port, stop };
}
