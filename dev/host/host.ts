import { HttpRequest, HttpResponse, HttpResponseInit, InvocationContext } from '@azure/functions';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { nextOccurrence, parseSchedule } from '../../shared/platform/ncrontab';
import { HttpTrigger, Registration, TimerTrigger } from './registrations';

/**
 * A local host for the app's function registrations, for machines without Azure Functions Core Tools:
 * HTTP functions at /api/{route} (checking FUNCTION_KEY for authLevel function), timers on their NCRONTAB
 * schedules, and POST /admin/functions/{name} to run a non-HTTP function now. A run asked for while the
 * same function runs is queued, not dropped. A developer tool: not deployed, no bindings beyond these.
 */

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export interface HostOptions {
    registrations: Registration[];
    port?: number;
    functionKey?: string;
    /** The key of authLevel 'admin' functions and the admin endpoint; FUNCTION_KEY serves when it is not set. */
    masterKey?: string;
    /** App settings for %NAME% substitution in schedules. */
    settings?: Record<string, string | undefined>;
    /** Whether timers fire on their schedules (tests drive them through the admin endpoint instead). */
    timers?: boolean;
    log?: (line: string) => void;
}

interface HttpRoute {
    registration: Registration;
    trigger: HttpTrigger;
    pattern: RegExp;
    parameters: string[];
}

/** A route template -> a pattern over /api/...; `{name}` is one segment, `{name?}` one that may be left out. */
function compileRoute(route: string): { pattern: RegExp; parameters: string[] } {
    const parameters: string[] = [];
    const source = route
        .replace(/^\/+|\/+$/g, '')
        .split('/')
        .map((segment) => {
            const parameter = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]*)?(\?)?\}$/.exec(segment);
            if (!parameter) return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
            parameters.push(parameter[1]);
            return parameter[2] ? '(?:/([^/]+))?' : '/([^/]+)';
        })
        .join('');
    return { pattern: new RegExp(`^/api${source}/?$`, 'i'), parameters };
}

function keysMatch(expected: string, given: string | null | undefined): boolean {
    if (!given) return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(given);
    return a.length === b.length && timingSafeEqual(a, b);
}

export function substituteSettings(value: string, settings: Record<string, string | undefined>): string {
    return value.replace(/%([A-Za-z0-9_]+)%/g, (_, name: string) => {
        const setting = settings[name];
        if (setting === undefined || setting === '') throw new Error(`app setting ${name} is not set (used as %${name}%)`);
        return setting;
    });
}

class FunctionRunner {
    private queued = 0;
    private running?: Promise<void>;

    constructor(private readonly run: () => Promise<void>) {}

    /** Runs now, or after the current run (and every run queued before this one) if one is going. */
    request(): void {
        this.queued++;
        this.running ??= this.drain();
    }

    async idle(): Promise<void> {
        while (this.running) await this.running;
    }

    private async drain(): Promise<void> {
        while (this.queued > 0) {
            this.queued--;
            await this.run();
        }
        this.running = undefined;
    }
}

export class LocalHost {
    private server?: Server;
    private readonly routes: HttpRoute[] = [];
    private readonly runners = new Map<string, FunctionRunner>();
    private readonly timers: NodeJS.Timeout[] = [];
    private readonly log: (line: string) => void;
    private stopped = false;
    url = '';

    constructor(private readonly options: HostOptions) {
        this.log = options.log ?? ((line) => console.log(line));
        for (const registration of options.registrations) {
            if (registration.trigger.type === 'httpTrigger') {
                const trigger = registration.trigger as HttpTrigger;
                this.routes.push({ registration, trigger, ...compileRoute(trigger.route ?? registration.name) });
            } else {
                this.runners.set(registration.name, new FunctionRunner(() => this.invokeNonHttp(registration)));
            }
        }
    }

    async start(): Promise<string> {
        this.server = createServer((request, response) => {
            this.handle(request, response).catch((error: unknown) => {
                if (error instanceof BodyTooLarge) return sendJson(response, 413, { error: { code: 'payload_too_large', message: 'The request body is over 1 MiB.' } });
                this.log(`[host] request failed: ${error instanceof Error ? error.message : String(error)}`);
                if (!response.headersSent) sendJson(response, 500, { error: { code: 'internal_error', message: 'The local host failed to run the function.' } });
            });
        });
        await new Promise<void>((resolve, reject) => {
            this.server!.once('error', reject);
            // Loopback only: the local host is a developer tool, and without FUNCTION_KEY every route is open.
            this.server!.listen(this.options.port ?? 7071, '127.0.0.1', resolve);
        });
        const address = this.server.address() as AddressInfo;
        this.url = `http://localhost:${address.port}`;
        if (this.options.timers !== false) this.startTimers();
        return this.url;
    }

    /** Asks for a run of a non-HTTP function, as the admin endpoint does. */
    runNow(name: string): boolean {
        const runner = this.runners.get(name);
        runner?.request();
        return runner !== undefined;
    }

    async idle(): Promise<void> {
        for (const runner of this.runners.values()) await runner.idle();
    }

    async stop(): Promise<void> {
        this.stopped = true;
        for (const timer of this.timers) clearTimeout(timer);
        const server = this.server;
        this.server = undefined;
        if (server) {
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
        await this.idle();
    }

    private startTimers(): void {
        for (const registration of this.options.registrations) {
            if (registration.trigger.type !== 'timerTrigger') continue;
            const trigger = registration.trigger as TimerTrigger;
            const expression = substituteSettings(trigger.schedule, this.options.settings ?? process.env);
            const schedule = parseSchedule(expression);
            const runner = this.runners.get(registration.name)!;
            const arm = () => {
                if (this.stopped) return;
                const next = nextOccurrence(schedule, new Date());
                const timer = setTimeout(() => {
                    runner.request();
                    arm();
                }, Math.min(next.getTime() - Date.now(), 2 ** 31 - 1));
                timer.unref();
                this.timers.push(timer);
            };
            arm();
            this.log(`[host] ${registration.name}: timer "${expression}" (UTC)`);
            if (trigger.runOnStartup) runner.request();
        }
    }

    private async invokeNonHttp(registration: Registration): Promise<void> {
        const context = this.context(registration.name);
        const started = Date.now();
        try {
            await registration.handler({ isPastDue: false, schedule: { adjustForDST: false } }, context);
            this.log(`[host] ${registration.name} finished in ${Date.now() - started} ms`);
        } catch (error) {
            this.log(`[host] ${registration.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
    }

    private context(functionName: string): InvocationContext {
        return new InvocationContext({
            functionName,
            invocationId: randomUUID(),
            logHandler: (level, ...args) => this.log(`[${functionName}] ${level === 'information' ? '' : `${level}: `}${args.map(String).join(' ')}`),
        });
    }

    private authorized(request: IncomingMessage, url: URL, level: 'function' | 'admin'): boolean {
        const { functionKey, masterKey } = this.options;
        const accepted = (level === 'admin' ? [masterKey ?? functionKey] : [functionKey, masterKey]).filter((key): key is string => Boolean(key));
        if (accepted.length === 0) return true;
        const header = request.headers['x-functions-key'];
        const given = [Array.isArray(header) ? header[0] : header, url.searchParams.get('code')];
        return accepted.some((key) => given.some((candidate) => keysMatch(key, candidate)));
    }

    /** Where the server listens. */
    get address(): AddressInfo {
        return this.server!.address() as AddressInfo;
    }

    /** Whether routes are open to anyone who reaches the port: neither FUNCTION_KEY nor MASTER_KEY is set. */
    get open(): boolean {
        return !this.options.functionKey && !this.options.masterKey;
    }

    private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const url = new URL(request.url ?? '/', 'http://localhost');
        const method = (request.method ?? 'GET').toUpperCase();
        // A page whose own name resolves to 127.0.0.1 (DNS rebinding) would be same-origin with this host;
        // its requests carry that name, not a loopback one.
        if (!LOOPBACK_NAMES.includes((request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase())) {
            return sendJson(response, 421, { error: { code: 'misdirected_request', message: 'The local host answers only requests addressed to localhost or 127.0.0.1.' } });
        }
        // With no key, a web page the developer visits could post here; a browser sends JSON cross-site only
        // after a CORS preflight, which this host never grants.
        if (this.open && method === 'POST' && !/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
            return sendJson(response, 415, { error: { code: 'unsupported_media_type', message: 'Without FUNCTION_KEY the local host takes only POSTs sent as Content-Type: application/json.' } });
        }

        const admin = /^\/admin\/functions\/([^/]+)\/?$/.exec(url.pathname);
        if (admin) {
            if (method !== 'POST') return sendJson(response, 405, { error: { code: 'method_not_allowed', message: 'Use POST.' } });
            if (!this.authorized(request, url, 'admin')) return sendJson(response, 401, { error: { code: 'unauthorized', message: 'The admin key is required.' } });
            await readBody(request);
            if (!this.runNow(decodeURIComponent(admin[1]))) return sendJson(response, 404, { error: { code: 'not_found', message: 'No such non-HTTP function.' } });
            response.writeHead(202).end();
            return;
        }

        const candidates = this.routes.map((route) => ({ route, match: route.pattern.exec(url.pathname) })).filter((candidate) => candidate.match);
        if (candidates.length === 0) return sendJson(response, 404, { error: { code: 'not_found', message: 'No function serves this path.' } });
        const found = candidates.find(({ route }) => (route.trigger.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()).includes(method));
        if (!found) return sendJson(response, 405, { error: { code: 'method_not_allowed', message: `This route does not accept ${method}.` } });
        const { route, match } = found;
        if (route.trigger.authLevel !== 'anonymous' && !this.authorized(request, url, route.trigger.authLevel === 'admin' ? 'admin' : 'function')) {
            return sendJson(response, 401, { error: { code: 'unauthorized', message: 'A valid function key is required (x-functions-key header or code query parameter).' } });
        }
        const body = await readBody(request);
        // An optional parameter left out is absent, as Azure passes it.
        const params = Object.fromEntries(route.parameters.flatMap((name, index) => (match![index + 1] === undefined ? [] : [[name, decodeURIComponent(match![index + 1])]])));
        const headers = Object.fromEntries(Object.entries(request.headers).flatMap(([name, value]) => (value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]])));
        const functionRequest = new HttpRequest({
            method,
            url: `${this.url}${url.pathname}${url.search}`,
            headers,
            params,
            body: body.length > 0 ? { bytes: body } : undefined,
        });
        const answer = (await route.registration.handler(functionRequest, this.context(route.registration.name))) as HttpResponseInit | HttpResponse | undefined;
        await writeAnswer(response, answer);
    }
}

async function writeAnswer(response: ServerResponse, answer: HttpResponseInit | HttpResponse | undefined): Promise<void> {
    if (answer instanceof HttpResponse) {
        const headers = Object.fromEntries(answer.headers.entries());
        response.writeHead(answer.status, headers);
        response.end(Buffer.from(await answer.arrayBuffer()));
        return;
    }
    const init = answer ?? {};
    const headers: Record<string, string> = {};
    new Headers(init.headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => (headers[name] = value));
    if (init.jsonBody !== undefined) {
        response.writeHead(init.status ?? 200, { 'content-type': 'application/json; charset=utf-8', ...headers });
        response.end(JSON.stringify(init.jsonBody));
        return;
    }
    response.writeHead(init.status ?? 200, headers);
    response.end(init.body === undefined || init.body === null ? undefined : typeof init.body === 'string' ? init.body : Buffer.from(await new Response(init.body as ConstructorParameters<typeof Response>[0]).arrayBuffer()));
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(body));
}

class BodyTooLarge extends Error {}

async function readBody(request: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
        size += (chunk as Buffer).length;
        if (size > 1024 * 1024) throw new BodyTooLarge();
        chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
}
