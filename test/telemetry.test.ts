import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sinceNotified } from '../shared/approvals/decide';
import { ApprovalRecord } from '../shared/store/approvalRecord';
import { startHarness } from './support/harness';
import { TableProxy } from './support/tableProxy';

/**
 * The alert rules (infra/modules/alerts.bicep), the workbook (infra/modules/workbook.json) and the queries
 * of the runbook and the deploy page read the app's JSON log events by name and field. These specs hold them to what the code logs, so that renaming an event
 * or a field breaks the build instead of silently breaking the alerting.
 */

const root = join(__dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function sourceFiles(dir: string): string[] {
    return readdirSync(join(root, dir)).flatMap((entry) => {
        const path = join(dir, entry);
        return statSync(join(root, path)).isDirectory() ? sourceFiles(path) : entry.endsWith('.ts') ? [path] : [];
    });
}

/** The text from an opening bracket to its match. */
function balanced(text: string, open: number): string {
    let depth = 0;
    for (let i = open; i < text.length; i++) {
        if ('({['.includes(text[i])) depth++;
        if (')}]'.includes(text[i]) && --depth === 0) return text.slice(open, i + 1);
    }
    throw new Error(`unbalanced from ${text.slice(open, open + 60)}`);
}

/** The keys an interface declares, for a spread such as `...report` of a SyncReport. */
function interfaceKeys(path: string, name: string): string[] {
    const text = read(path);
    const body = balanced(text, text.indexOf('{', text.indexOf(`interface ${name}`)));
    return [...body.matchAll(/^\s+(\w+)\??:/gm)].map((match) => match[1]);
}

const SPREADS: Record<string, string[]> = {
    report: interfaceKeys('shared/approvals/sync/syncContext.ts', 'SyncReport'),
    reader: ['by', 'subject', 'clientId'],
};
/** Functions whose answer is an event's fields, by the keys of their declared return type. */
const FIELD_FUNCTIONS: Record<string, string[]> = {
    storageFailure: [...(/function storageFailure\([^)]*\): \{([^}]*)\}/.exec(read('shared/store/storageFailure.ts'))?.[1] ?? '').matchAll(/(\w+)\??:/g)].map((match) => match[1]),
};

/** Every event the code logs, with the fields any of its log calls pass. */
function loggedEvents(): Map<string, Set<string>> {
    const events = new Map<string, Set<string>>();
    for (const file of [...sourceFiles('shared'), ...sourceFiles('functions')]) {
        const text = read(file);
        for (const match of text.matchAll(/\blog\.(?:info|warn|error)\(\s*'([a-z_.]+)'/g)) {
            const call = balanced(text, match.index + match[0].indexOf('('));
            const fields = events.get(match[1]) ?? new Set<string>();
            for (const key of call.matchAll(/[{,]\s*(\w+)\s*(?=[:,}])/g)) fields.add(key[1]);
            for (const spread of call.matchAll(/\.\.\.(\w+)/g)) for (const key of SPREADS[spread[1]] ?? []) fields.add(key);
            for (const [name, keys] of Object.entries(FIELD_FUNCTIONS)) if (call.includes(`${name}(`)) keys.forEach((key) => fields.add(key));
            events.set(match[1], fields);
        }
    }
    return events;
}

interface Query {
    where: string;
    text: string;
}

/** The KQL of every alert rule and every workbook chart. */
function queries(): Query[] {
    const alerts = read('infra/modules/alerts.bicep');
    const prefix = /var events = '''([\s\S]*?)'''/.exec(alerts)?.[1] ?? '';
    const fromAlerts = [...alerts.matchAll(/key: '([\w-]+)'[\s\S]*?query: '((?:[^'\\]|\\.)*)'/g)].map((match) => ({
        where: `alert ${match[1]}`,
        text: match[2].replace('${events}', prefix).replace(/\\n/g, '\n'),
    }));
    const workbook = JSON.parse(read('infra/modules/workbook.json')) as { items: { content: { title?: string; query?: string } }[] };
    const fromWorkbook = workbook.items.filter((item) => item.content.query).map((item) => ({ where: `chart "${item.content.title}"`, text: item.content.query! }));
    const fromDocs = ['docs/operations.md', 'docs/deploy.md'].flatMap((file) =>
        [...read(file).matchAll(/```kusto\n([\s\S]*?)```/g)].map((match, i) => ({ where: `${file} query ${i + 1}`, text: match[1] })),
    );
    return [...fromAlerts, ...fromWorkbook, ...fromDocs];
}

const eventsNamed = (kql: string) => [
    ...[...kql.matchAll(/\bevent\s*==\s*"([^"]+)"/g)].map((match) => match[1]),
    ...[...kql.matchAll(/\bevent\s+in\s*\(([^)]*)\)/g)].flatMap((match) => [...match[1].matchAll(/"([^"]+)"/g)].map((name) => name[1])),
];
const fieldsRead = (kql: string) => [...new Set([...kql.matchAll(/\be\.(\w+)/g)].map((match) => match[1]).filter((field) => field !== 'event'))];

/**
 * Fields a query reads although some of the events it names do not carry them, by design: each such
 * event is listed here, so that any other event the query names must carry the field, and a rename in one
 * of them is caught.
 */
const NOT_CARRIED: Record<string, string[]> = {
    listingFailed: ['sync.failed', 'config.invalid'],
    error: ['sync.done', 'storage.failed', 'config.invalid', 'sync.notification_not_recorded'],
    problems: ['sync.done', 'sync.failed'],
    source: ['config.invalid', 'moveworks.rate_limited', 'announce.not_sent', 'isc.list.failed', 'action.source_failed'],
    status: ['sync.failed', 'sync.send_failed', 'sync.notification_not_recorded'],
    code: ['sync.failed', 'sync.send_failed', 'sync.notification_not_recorded'],
    kind: ['sync.failed', 'sync.listing_failed', 'sync.recipients_failed'],
    owedForNextPoll: ['moveworks.rate_limited', 'sync.message_owed', 'sync.send_failed'],
    messagesSent: ['moveworks.rate_limited', 'sync.message_owed', 'sync.send_failed'],
    reason: ['sync.done', 'sync.send_failed', 'moveworks.rate_limited'],
    recipients: ['sync.message_failed', 'announce.not_sent'],
    closed: ['decide.done'],
    decision: ['sync.done'],
};

/** What a query names that the code does not log: unknown events, and fields an event it names does not carry. */
function drift(query: Query, logged: Map<string, Set<string>>): string[] {
    const events = eventsNamed(query.text);
    const unknown = events.filter((event) => !logged.has(event)).map((event) => `${query.where}: event ${event} is not logged`);
    // A query that names no event (a join from requests, say) may read a field of any event.
    const fields = fieldsRead(query.text).flatMap((field) => {
        if (events.length === 0) return [...logged.values()].some((carried) => carried.has(field)) ? [] : [`${query.where}: field ${field} is logged by no event`];
        const carriers = events.filter((event) => !(NOT_CARRIED[field] ?? []).includes(event));
        const missing = carriers.filter((event) => logged.has(event) && !logged.get(event)!.has(field));
        if (carriers.length === 0) return [`${query.where}: field ${field} is carried by none of ${events.join(', ')}`];
        return missing.map((event) => `${query.where}: field ${field} is not logged by ${event}`);
    });
    return [...unknown, ...fields];
}

describe('the alerts, the workbook and the documented queries read what the code logs', () => {
    const logged = loggedEvents();
    const all = queries();

    it('finds the queries of every alert rule, every chart and the runbook', () => {
        expect(all.filter((query) => query.where.startsWith('alert'))).toHaveLength(6);
        expect(all.filter((query) => query.where.startsWith('chart'))).toHaveLength(5);
        expect(all.filter((query) => query.where.startsWith('docs/operations.md')).length).toBeGreaterThanOrEqual(7);
        expect(all.filter((query) => query.where.startsWith('docs/deploy.md')).length).toBeGreaterThanOrEqual(1);
    });

    it('names only events the code logs, and only fields those events carry', () => {
        expect(all.flatMap((query) => drift(query, logged))).toEqual([]);
    });

    it('names only HTTP functions the app registers in its request queries', () => {
        const registered = sourceFiles('functions').flatMap((file) => [...read(file).matchAll(/\bapp\.http\(\s*'(\w+)'/g)].map((match) => match[1]));
        expect(registered).toContain('approveApproval');
        const named = all.flatMap((query) => [...query.text.matchAll(/\bname\s+in\s*\(([^)]*)\)/g)].flatMap((match) => [...match[1].matchAll(/"([^"]+)"/g)].map((name) => name[1])));
        expect(named.length).toBeGreaterThan(0);
        expect(named.filter((name) => !registered.includes(name))).toEqual([]);
    });

    it('excuses a field only for events that are logged and really do not carry it', () => {
        const wrong = Object.entries(NOT_CARRIED).flatMap(([field, events]) => events.filter((event) => !logged.has(event) || logged.get(event)!.has(field)).map((event) => `${field} / ${event}`));
        expect(wrong).toEqual([]);
    });

    it('reports a renamed event and a renamed field (the check is not vacuous)', () => {
        const renamed = { where: 'test', text: '| where event == "sync.finished" or event == "sync.done"\n| project e.owedNextPoll, e.owedForNextPoll' };
        expect(drift(renamed, logged)).toEqual(['test: event sync.finished is not logged', 'test: field owedNextPoll is not logged by sync.done']);
    });

    it('reports a field renamed in only one of the events a query names', () => {
        const query = { where: 'test', text: '| where event in ("sync.message_refused", "sync.message_failed")\n| project e.reason, e.source' };
        const renamed = new Map(logged);
        renamed.set('sync.message_failed', new Set([...logged.get('sync.message_failed')!].filter((field) => field !== 'source')));
        expect(drift(query, logged)).toEqual([]);
        expect(drift(query, renamed)).toEqual(['test: field source is not logged by sync.message_failed']);
    });
});

describe('the time to a decision the workbook charts', () => {
    const HOUR = 3_600_000;
    const record = (changes: Partial<ApprovalRecord>) => ({ createdAt: 0, approverKey: 'u:dana', recipients: ['dana@example.com'], step: 0, notified: [], ...changes }) as unknown as ApprovalRecord;

    it('counts from the first message to the approvers who decide, not from a reassignment away', () => {
        const reassigned = record({ notified: [{ email: 'amy@example.com', approverKey: 'u:amy', at: 0 }, { email: 'dana@example.com', approverKey: 'u:dana', at: 5 * HOUR }] });
        expect(sinceNotified(reassigned, 5 * HOUR + 60_000)).toBe(60_000);
    });

    it('counts from the message of the current step, and not from a reminder', () => {
        const secondStep = record({
            step: 1,
            notified: [
                { email: 'dana@example.com', approverKey: 'u:dana', at: 0 },
                { email: 'dana@example.com', approverKey: 'u:dana', at: 3 * HOUR, step: 1 },
                { email: 'dana@example.com', approverKey: 'u:dana', at: 4 * HOUR, step: 1, reminder: true },
            ],
        });
        expect(sinceNotified(secondStep, 4 * HOUR)).toBe(HOUR);
    });

    it('says nothing while the message is still owed', () => {
        expect(sinceNotified(record({ createdAt: 0 }), 2 * HOUR)).toBeUndefined();
    });
});

describe('the events the table alert reads', () => {
    it('logs storage.failed when a poll cannot reach the table, not only when an HTTP action cannot', async () => {
        const proxy = new TableProxy();
        const h = await startHarness();
        try {
            const app = h.newApp({ AzureWebJobsStorage: await proxy.start(), HTTP_MAX_RETRIES: '0' });
            proxy.fail({ matches: () => true, status: 503 });
            await app.poll();
            expect(h.log.entries.filter((entry) => entry.event === 'storage.failed')).toEqual(expect.arrayContaining([expect.objectContaining({ source: 'iiq', status: 503 })]));
        } finally {
            await proxy.stop();
            await h.stop();
        }
    });
});
