import Module from 'node:module';

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

/** Loads function files in plain Node with the stub standing in for the worker's core module. */
export function loadRegistrations(files: string[]): Registration[] {
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
