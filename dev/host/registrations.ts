import Module from 'node:module';
import { dirname, join, sep } from 'node:path';

/**
 * Captures the functions that `@azure/functions` registers. The package registers through
 * `@azure/functions-core`, a module the Functions worker provides; this stub provides it instead, so the
 * function files run unchanged and their registrations (name, trigger binding, handler) are recorded.
 */

export interface HttpTrigger {
    type: 'httpTrigger';
    route?: string;
    methods?: string[];
    authLevel?: 'anonymous' | 'function' | 'admin';
}

export interface TimerTrigger {
    type: 'timerTrigger';
    schedule: string;
    runOnStartup?: boolean;
}

export interface Registration {
    name: string;
    trigger: HttpTrigger | TimerTrigger | { type: string };
    handler: (...args: unknown[]) => unknown;
}

interface CoreMetadata {
    name: string;
    bindings: Record<string, { type: string; direction: string } & Record<string, unknown>>;
}

export function createCoreStub() {
    const registrations: Registration[] = [];
    const disposable = { dispose: () => undefined };
    const api = {
        setProgrammingModel: () => undefined,
        registerHook: () => disposable,
        log: () => undefined,
        registerFunction(metadata: CoreMetadata, handler: Registration['handler']) {
            const trigger = Object.values(metadata.bindings).find((binding) => binding.direction === 'in' && binding.type.endsWith('Trigger'));
            registrations.push({ name: metadata.name, trigger: (trigger ?? { type: 'unknown' }) as Registration['trigger'], handler });
            return disposable;
        },
    };
    return { api, registrations };
}

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;

/**
 * Loads function files in plain Node with the stub standing in for the worker's core module. They load
 * anew each time, as in a new worker, with the app they build and `@azure/functions` (which keeps the core
 * module it first found): a process that serves them twice (the benchmark's cases) gets each set registered.
 */
export function loadRegistrations(files: string[]): Registration[] {
    forgetLoaded(files);
    const { api, registrations } = createCoreStub();
    const moduleWithLoad = Module as unknown as { _load: Loader };
    const original = moduleWithLoad._load;
    moduleWithLoad._load = (request, parent, isMain) => (request === '@azure/functions-core' ? api : original(request, parent, isMain));
    try {
        for (const file of files) require(file);
    } finally {
        moduleWithLoad._load = original;
    }
    return registrations;
}

/** Drops from the module cache the function files, the app code beside them and `@azure/functions`. */
function forgetLoaded(files: string[]): void {
    const appFolders = [...new Set(files.map((file) => dirname(dirname(file))))].flatMap((root) => [join(root, 'functions'), join(root, 'shared')].map((folder) => `${folder}${sep}`));
    const functionsPackage = `${sep}node_modules${sep}@azure${sep}functions${sep}`;
    for (const cached of Object.keys(require.cache)) {
        if (appFolders.some((folder) => cached.startsWith(folder)) || cached.includes(functionsPackage)) delete require.cache[cached];
    }
}
