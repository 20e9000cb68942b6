import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CLEANUP_SCHEDULE, DEFAULT_POLL_SCHEDULE, describeSources, loadConfig } from '../shared/config';
import { AZURITE_TABLE_PORT, canConnect, startAzurite } from './azurite';
import { LocalHost } from './host/host';
import { loadLocalSettings } from './localSettings';
import { loadRegistrations } from './host/registrations';
import { seedAccessRequestSampleData, seedIscSampleData, seedSampleData } from './simulator/sampleData';
import { iscApiVersionFrom } from './simulator/layout';
import { SentMessage, Simulator } from './simulator/simulator';

/**
 * `npm start`: runs the app on the project's local host. Settings come from the environment, then from
 * local.settings.json. Without IdentityIQ settings it starts the bundled simulator (IdentityIQ + Moveworks)
 * with sample approvals; without AzureWebJobsStorage it starts Azurite in memory.
 */

const root = join(__dirname, '..', '..');

function plainText(message: Pick<SentMessage, 'message'>): string {
    return message.message
        .replace(/<br>/g, '\n    ')
        .replace(/<a href="([^"]*)">([^<]*)<\/a>/g, '$2 ($1)')
        .replace(/<[^>]+>/g, '')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');
}

function functionFiles(): string[] {
    const dir = join(root, 'dist', 'functions');
    return readdirSync(dir).filter((file) => file.endsWith('.js')).map((file) => join(dir, file));
}

async function main(): Promise<void> {
    loadLocalSettings();
    const stops: (() => Promise<void>)[] = [];
    let simulator: Simulator | undefined;

    if (!process.env.IIQ_BASE_URL && !process.env.ISC_BASE_URL) {
        simulator = new Simulator({
            sources: ['iiq', 'isc'],
            iscApiVersion: iscApiVersionFrom(process.env.SIMULATOR_ISC_API_VERSION),
            onMessage: (message) =>
                console.log(`\n[moveworks] message to ${message.recipients.join(', ')} (approval_id ${String(message.slots.approval_id)}):\n    ${plainText(message)}\n`),
            onListenerNotice: ({ body }) =>
                console.log(`\n[moveworks listener] ${String(body.type)} for ${(body.recipients as string[]).join(', ')} (approvalId ${String(body.approvalId)}):\n    ${plainText(body)}\n`),
        });
        await simulator.start(Number(process.env.SIMULATOR_PORT ?? 0));
        seedSampleData(simulator);
        seedAccessRequestSampleData(simulator, seedIscSampleData(simulator).people);
        Object.assign(process.env, simulator.settings());
        // MOVEWORKS_DELIVERY=listener npm start: the demo delivers to the simulator's Agent Studio listener instead of its event.
        if (process.env.MOVEWORKS_DELIVERY?.trim().toLowerCase() === 'listener') Object.assign(process.env, simulator.listenerSettings(), { MOVEWORKS_EVENT_ID: '', MOVEWORKS_API_KEY: '' });
        if (process.env.ISC_DECIDE_AS === 'user') {
            // The demo's approvers connect through the simulator's sign-in page; the keys last as long as this run.
            Object.assign(process.env, simulator.userOAuthSettings(), { PUBLIC_BASE_URL: `http://127.0.0.1:${process.env.PORT ?? 7071}` });
            process.env.USER_TOKEN_KEYS ||= `demo:${randomBytes(32).toString('base64')}`;
        }
        stops.push(() => simulator!.stop());
        console.log(`[demo] no source is configured (IIQ_BASE_URL, ISC_BASE_URL): using the bundled IdentityIQ + Identity Security Cloud + Moveworks simulator at ${simulator.baseUrl}`);
    }
    if (!process.env.AzureWebJobsStorage) {
        const azurite = await startAzurite();
        process.env.AzureWebJobsStorage = azurite.connectionString;
        stops.push(() => azurite.stop());
        console.log(`[demo] AzureWebJobsStorage is not set: using Azurite in memory on port ${azurite.port}`);
    } else if (process.env.AzureWebJobsStorage === 'UseDevelopmentStorage=true' && !(await canConnect(AZURITE_TABLE_PORT))) {
        const azurite = await startAzurite({ port: AZURITE_TABLE_PORT, location: join(root, '.azurite') });
        stops.push(() => azurite.stop());
        console.log(`[host] no Azurite on port ${AZURITE_TABLE_PORT}: started one, keeping its data in .azurite/`);
    }
    process.env.POLL_SCHEDULE ||= DEFAULT_POLL_SCHEDULE;
    process.env.CLEANUP_SCHEDULE ||= DEFAULT_CLEANUP_SCHEDULE;

    const stopAll = async () => {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
    };
    let config;
    try {
        config = loadConfig(process.env);
    } catch (error) {
        await stopAll();
        if (error instanceof ConfigError) {
            console.error(error.message);
            process.exit(1);
        }
        throw error;
    }

    const host = new LocalHost({
        registrations: loadRegistrations(functionFiles()),
        port: Number(process.env.PORT ?? 7071),
        functionKey: config.functionKey,
        masterKey: config.masterKey,
        settings: process.env,
    });
    const url = await host.start();
    stops.unshift(() => host.stop());
    console.log(`[host] listening on ${url}: GET ${url}/api/health, POST ${url}/api/approvals/{approvalId}/approve|reject|comment|reassign`);
    console.log(`[host] sources: ${describeSources(config)}`);
    if (host.open) {
        console.log(
            `[host] WARNING: neither FUNCTION_KEY nor MASTER_KEY is set, so every route, /admin/* and audit included, answers anyone who can reach ${url} (this machine only). Set FUNCTION_KEY for anything but a demo.`,
        );
    }

    let stopping = false;
    const shutdown = () => {
        if (stopping) return;
        stopping = true;
        console.log('\n[host] stopping');
        void stopAll().then(() => process.exit(0));
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);

    if (simulator) {
        console.log('[demo] running pollApprovals now (as POST /admin/functions/pollApprovals would)');
        host.runNow('pollApprovals');
        await host.idle();
        const [message] = simulator.messages;
        const [notice] = simulator.listenerNotices;
        const first = message ? { approvalId: String(message.slots.approval_id), recipient: message.recipients[0] } : notice && { approvalId: String(notice.body.approvalId), recipient: String(notice.body.recipients[0]) };
        if (first) {
            const key = config.functionKey ? ` -H 'x-functions-key: ${config.functionKey}'` : '';
            console.log(
                [
                    '[demo] approve the first one from another terminal:',
                    `  curl -s -X POST ${url}/api/approvals/${first.approvalId}/approve${key} \\`,
                    `    -H 'content-type: application/json' -d '{"approverEmail": "${first.recipient}", "comment": "Looks good"}'`,
                    '[demo] Ctrl+C stops everything.',
                ].join('\n'),
            );
            if (config.isc?.user) await printConnectLink(url, config.functionKey);
        }
    }
}

/** ISC_DECIDE_AS=user: the link Jamie opens to connect before approving an ISC request in the demo. */
async function printConnectLink(url: string, functionKey: string | undefined): Promise<void> {
    const answer = await fetch(`${url}/api/connections/isc/link`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(functionKey ? { 'x-functions-key': functionKey } : {}) },
        body: JSON.stringify({ approverEmail: 'jamie.rivera@example.com' }),
    });
    const { connectUrl } = (await answer.json()) as { connectUrl?: string };
    console.log(
        [
            '[demo] ISC_DECIDE_AS=user: ISC approvers decide with their own token, once connected. Open this in a browser and',
            `       sign in as Jamie Rivera on the simulator's page, then approve an ISC request for jamie.rivera@example.com:`,
            `  ${connectUrl ?? '(the link route answered ' + answer.status + ')'}`,
        ].join('\n'),
    );
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
});
