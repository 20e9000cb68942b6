import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalHost } from '../../dev/host/host';
import { createCoreStub, Registration } from '../../dev/host/registrations';

// The Functions worker's core module, stood in for by the local host's stub, so the real function files
// register as they would in Azure.
jest.mock(
    '@azure/functions-core',
    () => {
        const stub = (jest.requireActual('../../dev/host/registrations') as { createCoreStub: typeof createCoreStub }).createCoreStub();
        return { ...stub.api, registrations: stub.registrations };
    },
    { virtual: true },
);

const FUNCTIONS_DIR = join(__dirname, '..', '..', 'functions');
const FUNCTION_FILES = readdirSync(FUNCTIONS_DIR)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(FUNCTIONS_DIR, file));

export interface FunctionHost {
    url: string;
    host: LocalHost;
    /** What the host and the functions logged, one line each. */
    logged: string[];
    post(path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
    get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
    pollNow(): Promise<void>;
    stop(): Promise<void>;
}

/** The app's function files, loaded fresh with `settings` as the environment, served by the local host. */
export async function startFunctionHost(settings: Record<string, string>): Promise<FunctionHost> {
    const saved = { ...process.env };
    // The app logs JSON lines to the console; the specs assert on answers and on the simulator instead.
    const quiet = ['info', 'warn', 'error'].map((level) => jest.spyOn(console, level as 'info').mockImplementation(() => undefined));
    Object.assign(process.env, settings);
    let registrations: Registration[] = [];
    jest.isolateModules(() => {
        for (const file of FUNCTION_FILES) require(file);
        registrations = (require('@azure/functions-core') as { registrations: Registration[] }).registrations;
    });
    const logged: string[] = [];
    const host = new LocalHost({ registrations, port: 0, functionKey: settings.FUNCTION_KEY, masterKey: settings.MASTER_KEY, settings, timers: false, log: (line) => logged.push(line) });
    const url = await host.start();
    const key: Record<string, string> = settings.FUNCTION_KEY ? { 'x-functions-key': settings.FUNCTION_KEY } : {};
    return {
        url,
        host,
        logged,
        async post(path, body, headers = {}) {
            const response = await fetch(`${url}${path}`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', ...key, ...headers },
                body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
            });
            const text = await response.text();
            return { status: response.status, body: text ? JSON.parse(text) : undefined };
        },
        async get(path, headers = {}) {
            const response = await fetch(`${url}${path}`, { headers: { ...key, ...headers } });
            const text = await response.text();
            return { status: response.status, body: text ? JSON.parse(text) : undefined };
        },
        async pollNow() {
            const admin = settings.MASTER_KEY ? { 'x-functions-key': settings.MASTER_KEY } : key;
            const response = await fetch(`${url}/admin/functions/pollApprovals`, { method: 'POST', headers: { 'content-type': 'application/json', ...admin }, body: '{"input":""}' });
            if (response.status !== 202) throw new Error(`admin endpoint answered ${response.status}`);
            await host.idle();
        },
        async stop() {
            await host.stop();
            for (const spy of quiet) spy.mockRestore();
            for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
            Object.assign(process.env, saved);
        },
    };
}
