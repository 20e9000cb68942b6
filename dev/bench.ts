import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { TableClient } from '@azure/data-tables';
import { createApp } from '../shared/app';
import { loadConfig, MAX_POLL_BUDGET_SECONDS } from '../shared/config';
import { silentLogger } from '../shared/platform/log';
import { ApprovalRecord } from '../shared/store/approvalRecord';
import { TokenCache } from '../shared/platform/tokens';
import { startAzurite } from './azurite';
import { LocalHost } from './host/host';
import { loadRegistrations } from './host/registrations';
import { RemoteSimulator } from './simulator/remote';
import { SimulatorOptions } from './simulator/simulator';
import { DEFAULT_INSTANCE_MEMORY_MB, workerNodeOptions } from './workerNodeOptions';

/**
 * `npm run bench`: runs the real poll and approve code paths against the bundled simulator (with a
 * per-call latency) on Azurite and prints, for each case, the measured figure, its limit and their ratio.
 * Options: --n, --latency, --concurrency, --rate, --only, --json. A run of every case writes its table to
 * docs/benchmarks.md.
 */

const CASES = ['burst', 'idle', 'drain', 'cold', 'memory', 'approve', 'access', 'pending'] as const;

interface Options {
    only: string[];
    n: number;
    latency: number;
    concurrency: number;
    rate: number;
    json: boolean;
}

interface Row {
    case: string;
    measured: number;
    unit: string;
    limit: number;
    target: string;
    note: string;
    /** The target is a floor: met when measured ≥ limit, and the ratio is limit / measured. */
    atLeast?: boolean;
}

function parseOptions(argv: string[]): Options {
    const options: Options = { only: [...CASES], n: 250, latency: 20, concurrency: 32, rate: 120, json: false };
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].split('=');
        const value = () => Number(inline ?? argv[++i]);
        if (flag === '--json') options.json = true;
        else if (flag === '--only') options.only = (inline ?? argv[++i]).split(',');
        else if (flag === '--n') options.n = value();
        else if (flag === '--latency') options.latency = value();
        else if (flag === '--concurrency') options.concurrency = value();
        else if (flag === '--rate') options.rate = value();
        else throw new Error(`unknown option ${flag}`);
    }
    return options;
}

const root = join(__dirname, '..', '..');
let tableCounter = 0;

/** A simulator in its own process, and an app in this one, on a fresh table. */
async function environment(connectionString: string, simulatorOptions: SimulatorOptions, settings: Record<string, string> = {}) {
    const simulator = new RemoteSimulator();
    const { settings: simulatorSettings, sample } = await simulator.start(simulatorOptions);
    const env = {
        ...simulatorSettings,
        AzureWebJobsStorage: connectionString,
        STATE_TABLE_NAME: `bench${Date.now()}${tableCounter++}`,
        ...settings,
    };
    try {
        const app = createApp(loadConfig(env), { log: silentLogger, tokens: new TokenCache() });
        return { simulator, sample, env, app };
    } catch (error) {
        // A setting the config refuses would otherwise leave the simulator's process running.
        await simulator.stop();
        throw error;
    }
}

const callsTo = (prefix: string) => (calls: Record<string, number>) => Object.entries(calls).filter(([route]) => route.startsWith(prefix)).reduce((sum, [, count]) => sum + count, 0);
const iiqCalls = callsTo('iiq.');
const iscCalls = callsTo('isc.');

/** One poll of `n` new approvals added by `add`, with a raised Moveworks limit: seconds to the last message accepted, and calls made. */
async function onePollOfNew(connectionString: string, options: Options, simulatorOptions: SimulatorOptions, add: string, sourceCalls: (calls: Record<string, number>) => number) {
    const { simulator, app } = await environment(
        connectionString,
        { ...simulatorOptions, latencyMs: options.latency, moveworksPerMinute: 1_000_000 },
        { MOVEWORKS_MAX_PER_MINUTE: '100000', MOVEWORKS_CONCURRENCY: String(options.concurrency) },
    );
    try {
        await app.poll();
        const before = await simulator.stats();
        await simulator.call(add, options.n);
        const started = Date.now();
        await app.poll();
        const after = await simulator.stats();
        const sent = after.messages.slice(before.messages.length);
        const made = (route: string) => after.calls[route] - before.calls[route];
        return {
            seconds: (Math.max(...sent.map((message) => message.at)) - started) / 1000,
            sent: sent.length,
            calls: sourceCalls(after.calls) - sourceCalls(before.calls) + made('moveworks.send'),
            made,
        };
    } finally {
        await simulator.stop();
    }
}

/** Polls of a burst case: on two shared cores one poll's time varies by a fifth from run to run, so the case reports the median. */
const BURST_RUNS = 5;

/** onePollOfNew BURST_RUNS times, each on a fresh simulator and table: the median run, and every run's seconds in order. */
async function medianPollOfNew(...args: Parameters<typeof onePollOfNew>) {
    const runs: Awaited<ReturnType<typeof onePollOfNew>>[] = [];
    for (let run = 0; run < BURST_RUNS; run++) runs.push(await onePollOfNew(...args));
    const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
    return { ...sorted[Math.floor(BURST_RUNS / 2)], every: `median of ${BURST_RUNS} polls (${sorted.map((one) => one.seconds.toFixed(3)).join(', ')} s)` };
}

/** The seed guide (its Python sample included), read from the project's specification material beside the clone. */
const SEED_GUIDE = join(root, '..', 'shared', 'seeds', '000_aefafd1a5e6e0012.txt');
const SEED_GUIDE_MODULES = 'import httpx, fastapi, lxml, dotenv, pydantic';

/** A python3 that can run the seed guide's sample (SEED_GUIDE_PYTHON first), or why none can. */
function seedGuidePython(): { python: string } | { missing: string } {
    if (!existsSync(SEED_GUIDE)) return { missing: `the guide is not at ${SEED_GUIDE}` };
    const candidates = [process.env.SEED_GUIDE_PYTHON, 'python3', '/usr/bin/python3'].filter((candidate): candidate is string => Boolean(candidate));
    const python = candidates.find((candidate) => spawnSync(candidate, ['-c', SEED_GUIDE_MODULES]).status === 0);
    return python ? { python } : { missing: `no python3 with httpx, fastapi, lxml, python-dotenv and pydantic (tried ${candidates.join(', ')})` };
}

/**
 * One poll of the seed guide's Python sample, run as written by dev/seedGuidePoll.py, on `n` new approvals
 * of the same simulator and latency as case 1: its seconds and the messages Moveworks accepted.
 */
async function seedGuidePoll(options: Options, python: string) {
    const simulator = new RemoteSimulator();
    try {
        const { settings } = await simulator.start({ latencyMs: options.latency, moveworksPerMinute: 1_000_000 });
        await simulator.call('addApprovals', options.n);
        const env = {
            ...process.env,
            sailpoint_base_url: settings.IIQ_BASE_URL,
            sailpoint_client_id: settings.IIQ_CLIENT_ID,
            sailpoint_client_secret: settings.IIQ_CLIENT_SECRET,
            event_id: settings.MOVEWORKS_EVENT_ID,
            // The sample sends this value as the whole Authorization header.
            event_api_key: `Bearer ${settings.MOVEWORKS_API_KEY}`,
        };
        const run = spawnSync(python, [join(root, 'dev', 'seedGuidePoll.py'), SEED_GUIDE, settings.MOVEWORKS_BASE_URL], { env, encoding: 'utf8', timeout: 600_000 });
        const seconds = Number(run.stdout.trim().split('\n').pop());
        if (run.status !== 0 || !Number.isFinite(seconds)) throw new Error(`the seed guide's poll failed: ${run.stderr.slice(-500)}`);
        const stats = await simulator.stats();
        return { seconds, sent: stats.messages.length, calls: Object.values(stats.calls).reduce((sum, count) => sum + count, 0) };
    } finally {
        await simulator.stop();
    }
}

/** The target against the seed guide's Python, as a row: measured from a run of the sample where it can run. */
async function againstSeedGuide(options: Options, pollSeconds: number): Promise<Row> {
    const row = { case: `1b. the seed guide's Python sample, run as written on the same ${options.n} approvals, against case 1`, unit: '×', limit: 25, target: '≥ 25×', atLeast: true };
    const found = seedGuidePython();
    if ('missing' in found) return { ...row, measured: Number.NaN, note: `not run: ${found.missing}; see docs/benchmarking.md` };
    const seed = await seedGuidePoll(options, found.python);
    return {
        ...row,
        measured: seed.seconds / pollSeconds,
        note: `the sample's poll took ${seed.seconds.toFixed(2)} s against case 1's ${pollSeconds.toFixed(3)} s: ${seed.calls} calls one after another, a new connection each; ${seed.sent} messages accepted (it reads one page of ${options.n} and sends a workgroup's approvals to no one)`,
    };
}

async function burst(connectionString: string, options: Options): Promise<Row[]> {
    const run = await medianPollOfNew(connectionString, options, {}, 'addApprovals', iiqCalls);
    // Round trips that cannot overlap: list, member look-ups (in parallel), one identity look-up, then the sends in waves.
    const floorMs = options.latency * (3 + Math.ceil(options.n / options.concurrency));
    return [
        {
            case: `1. one poll, ${options.n} new approvals, ${options.latency} ms per call, raised Moveworks limit`,
            measured: run.seconds,
            unit: 's',
            limit: 1.0,
            target: '≤ 1.0 s',
            note: `${run.every}; ${run.sent} messages accepted; concurrency ${options.concurrency}; round-trip floor ${(floorMs / 1000).toFixed(3)} s`,
        },
        await againstSeedGuide(options, run.seconds),
        {
            case: '2. HTTP calls per new approval (IdentityIQ + Moveworks)',
            measured: run.calls / options.n,
            unit: 'calls',
            limit: 1.1,
            target: '≤ 1.1',
            note: `${run.calls} calls for ${options.n} approvals of 11 owners (2 workgroups)`,
        },
    ];
}

async function idle(connectionString: string): Promise<Row[]> {
    const { simulator, app } = await environment(connectionString, { moveworksPerMinute: 1_000_000 }, { MOVEWORKS_MAX_PER_MINUTE: '100000', MOVEWORKS_CONCURRENCY: '32' });
    try {
        await simulator.call('addApprovals', 997, 3_600_000);
        await app.poll();
        const before = await simulator.stats();
        const tableBefore = app.store.operations;
        await app.poll();
        const after = await simulator.stats();
        return [
            {
                case: '3. idle poll, 1,000 approvals already notified',
                measured: iiqCalls(after.calls) - iiqCalls(before.calls),
                unit: 'IIQ calls',
                limit: 1,
                target: '≤ 1 IIQ, 0 Moveworks',
                note: `${after.calls['moveworks.send'] - before.calls['moveworks.send']} Moveworks calls, ${app.store.operations - tableBefore} table operations`,
            },
        ];
    } finally {
        await simulator.stop();
    }
}

async function drain(connectionString: string, options: Options): Promise<Row[]> {
    const n = options.rate * 2;
    const { simulator, app } = await environment(connectionString, { moveworksPerMinute: options.rate }, { MOVEWORKS_MAX_PER_MINUTE: String(options.rate) });
    try {
        await simulator.call('addApprovals', n - 3);
        const started = Date.now();
        // The timer fires every minute; each poll sends what the limit allows and leaves the rest owed.
        let stats = await simulator.stats();
        for (let poll = 0; poll < 10 && stats.messages.length < n; poll++) {
            const pollStarted = Date.now();
            await app.poll();
            stats = await simulator.stats();
            if (stats.messages.length < n) await new Promise((resolve) => setTimeout(resolve, Math.max(0, 60_000 - (Date.now() - pollStarted))));
        }
        const finished = Math.max(...stats.messages.map((message) => message.at));
        const unique = new Set(stats.messages.map((message) => message.approvalId)).size;
        return [
            {
                case: `4. backlog of ${n} at ${options.rate} messages/min (polls every minute)`,
                measured: (finished - started) / 1000,
                unit: 's',
                limit: (n / options.rate) * 60,
                target: '≤ 1.1 × N/R, 0 lost',
                note: `${unique}/${n} notified, ${stats.messages.length - unique} duplicates, ${stats.rateLimited} 429s provoked`,
            },
        ];
    } finally {
        await simulator.stop();
    }
}

function coldStart(): Row[] {
    const files = readdirSync(join(root, 'dist', 'functions')).filter((file) => file.endsWith('.js'));
    const script = `const t=process.hrtime.bigint();for (const f of ${JSON.stringify(files)}) require('./dist/functions/'+f);console.log(Number(process.hrtime.bigint()-t)/1e6)`;
    const samples = Array.from({ length: 5 }, () => Number(spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }).stdout.trim().split('\n').pop()));
    samples.sort((a, b) => a - b);
    return [
        {
            case: '5a. cold start: import every function module in a fresh node',
            measured: samples[2] / 1000,
            unit: 's',
            limit: 0.35,
            target: '≤ 350 ms',
            note: `median of 5 (${samples.map((sample) => sample.toFixed(0)).join(', ')} ms)`,
        },
    ];
}

/** Runs of the memory case: the target holds for every run, and V8 returns freed memory lazily, so runs differ. */
const MEMORY_RUNS = 3;

async function memory(connectionString: string): Promise<Row[]> {
    const runs: { rss: number; heapUsed: number; notified: number }[] = [];
    for (let run = 0; run < MEMORY_RUNS; run++) runs.push(await memoryRun(connectionString));
    const worst = runs.reduce((a, b) => (b.rss > a.rss ? b : a));
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    return [
        {
            case: '5b. resident memory after full sweeps of 10,000 pending approvals',
            measured: worst.rss / 1024 / 1024,
            unit: 'MB',
            limit: 200,
            target: '≤ 200 MB',
            note: `highest of ${MEMORY_RUNS} runs (${runs.map((one) => mb(one.rss)).join(', ')} MB); ${Math.min(...runs.map((one) => one.notified))} approvals notified by the first sweep; V8 heap in use ${runs.map((one) => mb(one.heapUsed)).join(', ')} MB`,
        },
    ];
}

async function memoryRun(connectionString: string): Promise<{ rss: number; heapUsed: number; notified: number }> {
    const { simulator, env } = await environment(connectionString, { moveworksPerMinute: 10_000_000 }, { MOVEWORKS_MAX_PER_MINUTE: '100000', MOVEWORKS_CONCURRENCY: '64', POLL_BUDGET_SECONDS: String(MAX_POLL_BUDGET_SECONDS) });
    try {
        await simulator.call('addApprovals', 9_997);
        const script = `
            const { createApp } = require('./dist/shared/app');
            const { loadConfig } = require('./dist/shared/config');
            const { silentLogger } = require('./dist/shared/platform/log');
            (async () => {
                let offset = 0;
                const app = createApp(loadConfig(process.env), { log: { ...silentLogger, error: (e, p) => console.error(e, JSON.stringify(p)) }, now: () => Date.now() + offset });
                await app.poll();
                offset = 16 * 60_000;
                await app.poll();
                console.log(JSON.stringify({ rss: process.memoryUsage().rss, detail: process.memoryUsage() }));
            })().catch((error) => { console.error(error); process.exit(1); });`;
        const run = await runNode(script, { ...process.env, ...env });
        if (run.status !== 0 || run.stderr) throw new Error(`memory case failed: ${run.stderr}`);
        const { rss, detail } = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { rss: number; detail: { heapUsed: number; external: number } };
        const stats = await simulator.stats();
        return { rss, heapUsed: detail.heapUsed, notified: new Set(stats.messages.map((message) => message.approvalId)).size };
    } finally {
        await simulator.stop();
    }
}

function runNode(script: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, ['-e', script], { cwd: root, env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
        child.on('close', (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
        });
    });
}

/** The built function files next to this one, served by the local host: a build into another folder measures its own code. */
function functionsHost(): LocalHost {
    const functions = join(__dirname, '..', 'functions');
    return new LocalHost({ registrations: loadRegistrations(readdirSync(functions).filter((f) => f.endsWith('.js')).map((f) => join(functions, f))), port: 0, timers: false, log: () => undefined });
}

async function approveLatency(connectionString: string, options: Options): Promise<Row[]> {
    const count = 200;
    const { simulator, sample, env } = await environment(connectionString, { latencyMs: options.latency, moveworksPerMinute: 1_000_000 }, { MOVEWORKS_MAX_PER_MINUTE: '100000', MOVEWORKS_CONCURRENCY: '32' });
    Object.assign(process.env, env);
    // The functions log JSON lines to the console; the table is the output here.
    const quiet = console.info;
    console.info = () => undefined;
    const host = functionsHost();
    const url = await host.start();
    try {
        const ids = await simulator.call<string[]>('addWorkItems', count, sample.jamieId, sample.amyId);
        host.runNow('pollApprovals');
        await host.idle();
        const timings: number[] = [];
        for (const id of ids) {
            const started = process.hrtime.bigint();
            const response = await fetch(`${url}/api/approvals/${id}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"approverEmail":"jamie.rivera@example.com"}' });
            await response.text();
            if (response.status !== 200) throw new Error(`approve answered ${response.status}`);
            timings.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
        timings.sort((a, b) => a - b);
        // The three round trips an approve needs (identity look-up, work item re-read, PUT), plus 40% for the rest.
        const roundTrips = (3 * options.latency) / 1000;
        const { decisions } = await simulator.stats();
        return [
            { case: `6a. approve, median of ${count} sequential, ${options.latency} ms per call`, measured: timings[Math.floor(count / 2)] / 1000, unit: 's', limit: 1.4 * roundTrips, target: '≤ 1.4 × its 3 round trips', note: 'identity look-up, work item re-read, PUT' },
            { case: `6b. approve, p95 of ${count} sequential`, measured: timings[Math.floor(count * 0.95)] / 1000, unit: 's', limit: 1.4 * roundTrips, target: 'reported', note: `${decisions} decisions reached IdentityIQ` },
        ];
    } finally {
        console.info = quiet;
        await host.stop();
        await simulator.stop();
    }
}

async function accessRequestBurst(connectionString: string, options: Options): Promise<Row[]> {
    const run = await medianPollOfNew(connectionString, options, { sources: ['isc'] }, 'addAccessRequests', iscCalls);
    // Round trips that cannot overlap: the access-request list, the generic list, the owner look-ups (four at once; the
    // recommendations are asked beside them), then the sends in waves.
    const limitMs = options.latency * (2 + Math.ceil(options.n / 50 / 4) + Math.ceil(options.n / options.concurrency));
    return [
        {
            case: `7. one poll, ${options.n} new ISC access-request approvals, ${options.latency} ms per call, raised Moveworks limit`,
            measured: run.seconds,
            unit: 's',
            limit: 1.0,
            target: '≤ 1.0 s',
            note: `${run.every}; ${run.sent} messages accepted; concurrency ${options.concurrency}; both kinds on; round-trip floor ${(limitMs / 1000).toFixed(3)} s`,
        },
        {
            case: '8. HTTP calls per new access-request approval (ISC + Moveworks)',
            measured: run.calls / options.n,
            unit: 'calls',
            limit: 1.1,
            target: '≤ 1.1',
            note: `${run.calls} calls for ${options.n} approvals of ${options.n} owners (${run.made('isc.identities')} identity look-ups, ${run.made('isc.recommendations')} Identity AI recommendation calls)`,
        },
    ];
}

/** Open approvals in the table when the pending list is timed, and how many of them are the one person's. */
const PENDING_SIZES = [300, 3_000, 30_000];
const PENDING_OWN = 20;
const PENDING_PEOPLE = 1_000;
const PENDING_REQUESTS = 25;

/** An open approval as a poll records it, notified, with a message of an ordinary size. */
function openApproval(approver: string, index: number): ApprovalRecord {
    const at = Date.now() - index * 1000;
    const lines = Array.from({ length: 12 }, (_, line) => `<p>Item ${line}: Active Directory memberOf CN=Group-${index}-${line},OU=Groups,DC=example,DC=com (Add)</p>`);
    return {
        source: 'iiq',
        id: randomBytes(16).toString('hex'),
        status: 'open',
        approverKey: `identity:${approver}`,
        approverNames: approver,
        changedAt: at,
        message: `<b>Approval ${index}</b> for Amy Cox, asked by Allen Burton${lines.join('')}`,
        recipients: [approver],
        notified: [{ email: approver, approverKey: `identity:${approver}`, at }],
        refused: [],
        step: 0,
        summary: `Amy Cox's request ${index} for IT Database Manager`,
        remindersSent: 0,
        reminderOwed: [],
        sendLeaseUntil: 0,
        createdAt: at,
        updatedAt: at,
    };
}

/**
 * GET /api/approvals for one person with PENDING_OWN approvals, through the local host, while the table
 * holds PENDING_SIZES open approvals of PENDING_PEOPLE people in all: the median of PENDING_REQUESTS
 * requests at each size. The rows are written through the store, as a poll writes them.
 */
async function pendingList(connectionString: string): Promise<Row[]> {
    const { simulator, env, app } = await environment(connectionString, {});
    Object.assign(process.env, env);
    const quiet = console.info;
    console.info = () => undefined;
    const host = functionsHost();
    const url = await host.start();
    const person = 'jamie.rivera@example.com';
    const medians: { size: number; ms: number; floorMs: number }[] = [];
    const table = TableClient.fromConnectionString(connectionString, env.STATE_TABLE_NAME, { allowInsecureConnection: true });
    try {
        let seeded = 0;
        for (const size of PENDING_SIZES) {
            const records: ApprovalRecord[] = [];
            // The person's approvals are spread among the first size's, the others dealt round the other people.
            const spacing = PENDING_SIZES[0] / PENDING_OWN;
            for (; seeded < size; seeded++) records.push(openApproval(seeded < PENDING_SIZES[0] && seeded % spacing === 0 ? person : `person.${seeded % PENDING_PEOPLE}@example.com`, seeded));
            for await (const written of app.store.insertMany(records)) if (written.refused.length > 0) throw new Error('the table refused a seeded row');
            const timings: number[] = [];
            for (let request = 0; request < PENDING_REQUESTS; request++) {
                const started = process.hrtime.bigint();
                const response = await fetch(`${url}/api/approvals?approverEmail=${encodeURIComponent(person)}&limit=20`);
                const body = (await response.json()) as { total?: number };
                if (response.status !== 200 || body.total !== PENDING_OWN) throw new Error(`the list answered ${response.status} with ${body.total} approvals`);
                timings.push(Number(process.hrtime.bigint() - started) / 1e6);
            }
            timings.sort((a, b) => a - b);
            medians.push({ size, ms: timings[Math.floor(PENDING_REQUESTS / 2)], floorMs: await pointReadMs(table) });
        }
    } finally {
        console.info = quiet;
        await host.stop();
        await simulator.stop();
    }
    const [small, ...larger] = medians;
    const limit = (2.5 * small.ms + 50) / 1000;
    const all = medians.map((one) => `${one.size.toLocaleString('en')}: ${one.ms.toFixed(1)} ms`).join(', ');
    const floor = medians.map((one) => `${one.size.toLocaleString('en')}: ${one.floorMs.toFixed(1)} ms`).join(', ');
    return larger.map((one, index) => ({
        case: `9${'ab'[index]}. GET /api/approvals for one person with ${PENDING_OWN} approvals, ${one.size.toLocaleString('en')} open in all`,
        measured: one.ms / 1000,
        unit: 's',
        limit,
        target: `≤ 2.5 × the median at ${small.size} + 50 ms`,
        note: `median of ${PENDING_REQUESTS} requests at each size (${all}); ${PENDING_PEOPLE} people; Azurite finds even a row by its keys by scanning the table (Azure Tables does not), so one point read takes ${floor}`,
    }));
}

/** Azurite's own time for a point read (of a row that is not there), median of 9: it grows with the table, unlike Azure's. */
async function pointReadMs(table: TableClient): Promise<number> {
    const timings: number[] = [];
    for (let run = 0; run < 9; run++) {
        const started = process.hrtime.bigint();
        await table.getEntity('iiq', 'not-there').catch(() => undefined);
        timings.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return timings.sort((a, b) => a - b)[4];
}

const WORKER_NODE_OPTIONS = workerNodeOptions(DEFAULT_INSTANCE_MEMORY_MB);

/** The machine and Node a run measured on: the figures depend on both. */
const machine = () => `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version} with NODE_OPTIONS="${WORKER_NODE_OPTIONS}" as in Azure`;

/**
 * Runs the benchmark again under the worker's NODE_OPTIONS unless it already has them, so every case and the
 * processes it starts size their heap as the worker does in Azure. Answers the exit code of that run.
 */
function underWorkerOptions(): number | undefined {
    const current = process.env.NODE_OPTIONS ?? '';
    const given = current.split(/\s+/);
    if (WORKER_NODE_OPTIONS.split(' ').every((option) => given.includes(option))) return undefined;
    const run = spawnSync(process.execPath, process.argv.slice(1), { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: `${current} ${WORKER_NODE_OPTIONS}`.trim() } });
    return run.status ?? 1;
}

/** A row's measured figure over its limit, or the inverse for a floor: at most 1 when the target is met. */
const ratioOf = (row: Row) => (!row.limit || Number.isNaN(row.measured) ? undefined : row.atLeast ? row.limit / row.measured : row.measured / row.limit);

function format(rows: Row[], options: Options, elapsed: number): string {
    const number = (value: number) => (Number.isNaN(value) ? 'not run' : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(3));
    const lines = [
        '| case | measured | limit | ratio | target | note |',
        '|---|---|---|---|---|---|',
        ...rows.map((row) => `| ${row.case} | ${number(row.measured)} ${row.unit} | ${number(row.limit)} ${row.unit} | ${ratioOf(row)?.toFixed(2) ?? '—'} | ${row.target} | ${row.note} |`),
    ];
    return [
        `Run ${new Date().toISOString()} on ${machine()}, Azurite 3.35 in memory, ${(elapsed / 1000).toFixed(0)} s in all.`,
        `Command: \`npm run bench -- --n ${options.n} --latency ${options.latency} --concurrency ${options.concurrency} --rate ${options.rate}\``,
        '',
        ...lines,
    ].join('\n');
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    const rerun = underWorkerOptions();
    if (rerun !== undefined) {
        process.exitCode = rerun;
        return;
    }
    const azurite = await startAzurite();
    const started = Date.now();
    try {
        const run: Record<(typeof CASES)[number], () => Promise<Row[]> | Row[]> = {
            burst: () => burst(azurite.connectionString, options),
            idle: () => idle(azurite.connectionString),
            drain: () => drain(azurite.connectionString, options),
            cold: () => coldStart(),
            memory: () => memory(azurite.connectionString),
            approve: () => approveLatency(azurite.connectionString, options),
            access: () => accessRequestBurst(azurite.connectionString, options),
            pending: () => pendingList(azurite.connectionString),
        };
        const rows: Row[] = [];
        for (const name of CASES.filter((candidate) => options.only.includes(candidate))) {
            const caseStarted = Date.now();
            rows.push(...(await run[name]()));
            console.error(`[bench] ${name} done in ${((Date.now() - caseStarted) / 1000).toFixed(1)} s`);
        }
        if (options.json) {
            const figures = rows.map((row) => ({ ...row, ratio: ratioOf(row) }));
            console.log(JSON.stringify({ run: { at: new Date().toISOString(), machine: machine(), seconds: (Date.now() - started) / 1000 }, options, rows: figures }, null, 2));
            return;
        }
        const table = format(rows, options, Date.now() - started);
        console.log(table);
        // The page records a whole run; a run of some cases only prints its table.
        if (CASES.some((name) => !options.only.includes(name))) return;
        mkdirSync(join(root, 'docs'), { recursive: true });
        writeFileSync(
            join(root, 'docs', 'benchmarks.md'),
            `# Benchmarks\n\nFigures from the last \`npm run bench\` on this project's development machine (see the first line). The\nbenchmark runs the real poll and approve code against the bundled simulator on Azurite; the limits are\nexplained in [benchmarking.md](benchmarking.md). Resident memory (5b) varies from run to run because V8 returns\nfreed memory lazily, so the case runs ${MEMORY_RUNS} times and counts the highest; the note gives each run\nand its heap in use.\n\n${table}\n`,
        );
    } finally {
        await azurite.stop();
    }
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
});
