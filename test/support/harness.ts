import { randomBytes } from 'node:crypto';
import { App, createApp } from '../../shared/app';
import { loadConfig } from '../../shared/config';
import { Logger, LogProperties } from '../../shared/platform/log';
import { TokenCache } from '../../shared/platform/tokens';
import { seedIscSampleData, seedSampleData } from '../../dev/simulator/sampleData';
import { Simulator, SimulatorOptions } from '../../dev/simulator/simulator';

export interface LogEntry extends LogProperties {
    level: 'info' | 'warn' | 'error';
    event: string;
}

export function capturingLogger(): Logger & { entries: LogEntry[] } {
    const entries: LogEntry[] = [];
    const write = (level: LogEntry['level']) => (event: string, properties: LogProperties = {}) => {
        entries.push({ level, event, ...properties });
    };
    return { entries, info: write('info'), warn: write('warn'), error: write('error') };
}

/** App settings for a fresh table on the run's Azurite, pointed at `simulator`. */
export function testSettings(simulator: Simulator, overrides: Record<string, string> = {}): Record<string, string> {
    const connectionString = process.env.TEST_STORAGE_CONNECTION_STRING;
    if (!connectionString) throw new Error('TEST_STORAGE_CONNECTION_STRING is not set: run the tests through jest (globalSetup starts Azurite)');
    return {
        ...simulator.settings(),
        AzureWebJobsStorage: connectionString,
        STATE_TABLE_NAME: `t${randomBytes(8).toString('hex')}`,
        AUDIT_TABLE_NAME: `a${randomBytes(8).toString('hex')}`,
        HTTP_TIMEOUT_MS: '3000',
        HTTP_MAX_RETRIES: '2',
        POLL_BUDGET_SECONDS: '10',
        ...overrides,
    };
}

export interface Harness {
    simulator: Simulator;
    settings: Record<string, string>;
    app: App;
    log: ReturnType<typeof capturingLogger>;
    sample: ReturnType<typeof seedSampleData>;
    iscSample: ReturnType<typeof seedIscSampleData>;
    /** Another app instance on the same table and simulator, as a second worker or a restart would be. */
    newApp(overrides?: Record<string, string>, now?: () => number): App;
    stop(): Promise<void>;
}

export async function startHarness(options: { simulator?: SimulatorOptions; settings?: Record<string, string> } = {}): Promise<Harness> {
    const simulator = new Simulator(options.simulator);
    await simulator.start();
    const sample = seedSampleData(simulator);
    const iscSample = seedIscSampleData(simulator);
    const settings = testSettings(simulator, options.settings);
    const log = capturingLogger();
    const newApp = (overrides: Record<string, string> = {}, now?: () => number) =>
        createApp(loadConfig({ ...settings, ...overrides }), { log, tokens: new TokenCache(), now });
    return { simulator, settings, app: newApp(), log, sample, iscSample, newApp, stop: () => simulator.stop() };
}

/** A clock the test moves by hand, starting at the real time. */
export function manualClock() {
    let offset = 0;
    return { now: () => Date.now() + offset, advance: (ms: number) => (offset += ms) };
}
