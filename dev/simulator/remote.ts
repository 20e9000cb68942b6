import { ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { SimulatorOptions } from './simulator';

/** Drives a simulator running in a child process (see child.ts). */
export class RemoteSimulator {
    private readonly child: ChildProcess;
    private nextId = 0;
    private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

    constructor() {
        this.child = fork(join(__dirname, 'child.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        this.child.on('message', (reply: { id: number; result?: unknown; error?: string }) => {
            const waiter = this.pending.get(reply.id);
            this.pending.delete(reply.id);
            if (reply.error) waiter?.reject(new Error(reply.error));
            else waiter?.resolve(reply.result);
        });
    }

    call<T>(method: string, ...args: unknown[]): Promise<T> {
        const id = this.nextId++;
        return new Promise<T>((resolve, reject) => {
            this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
            this.child.send({ id, method, args });
        });
    }

    start(options: SimulatorOptions) {
        return this.call<{ settings: Record<string, string>; sample: { jamieId: string; amyId: string } }>('start', options);
    }

    stats() {
        return this.call<{ calls: Record<string, number>; messages: { at: number; approvalId: string }[]; rateLimited: number; decisions: number }>('stats');
    }

    async stop(): Promise<void> {
        const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
        await this.call('stop');
        await exited;
    }
}
