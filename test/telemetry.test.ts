import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The alert rules (infra/modules/alerts.bicep), the workbook (infra/modules/workbook.json) and the queries
 * of the runbook and the README read the app's JSON log events by name and field. These specs hold them to what the code logs, so that renaming an event
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
    report: interfaceKeys('shared/approvals/sync.ts', 'SyncReport'),
    reader: ['by', 'subject', 'clientId'],
};

/** Every event the code logs, with the fields any of its log calls pass. */
function loggedEvents(): Map<string, Set<string>> {
    const events = new Map<string, Set<string>>();
    for (const file of [...sourceFiles('shared'), ...sourceFiles('functions')]) {
        const text = read(file);
        for (const match of text.matchAll(/\blog\.(?:info|warn|error)\(\s*'([a-z_.]+)'/g)) {
            const call = balanced(text, match.index + match[0].indexOf('('));
            const fields = events.get(match[1]) ?? new Set<string>();
            for (const key of call.matchAll(/[{,]\s*(\w+)\s*[:,}]/g)) fields.add(key[1]);
            for (const spread of call.matchAll(/\.\.\.(\w+)/g)) for (const key of SPREADS[spread[1]] ?? []) fields.add(key);
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
    const fromDocs = ['docs/operations.md', 'README.md'].flatMap((file) =>
        [...read(file).matchAll(/```kusto\n([\s\S]*?)```/g)].map((match, i) => ({ where: `${file} query ${i + 1}`, text: match[1] })),
    );
    return [...fromAlerts, ...fromWorkbook, ...fromDocs];
}

const eventsNamed = (kql: string) => [
    ...[...kql.matchAll(/\bevent\s*==\s*"([^"]+)"/g)].map((match) => match[1]),
    ...[...kql.matchAll(/\bevent\s+in\s*\(([^)]*)\)/g)].flatMap((match) => [...match[1].matchAll(/"([^"]+)"/g)].map((name) => name[1])),
];
const fieldsRead = (kql: string) => [...new Set([...kql.matchAll(/\be\.(\w+)/g)].map((match) => match[1]).filter((field) => field !== 'event'))];

/** What a query names that the code does not log: unknown events, and fields none of its events carry. */
function drift(query: Query, logged: Map<string, Set<string>>): string[] {
    const events = eventsNamed(query.text);
    const unknown = events.filter((event) => !logged.has(event)).map((event) => `${query.where}: event ${event} is not logged`);
    // A query that names no event (a join from requests, say) may read a field of any event.
    const candidates = events.length > 0 ? events : [...logged.keys()];
    const fields = fieldsRead(query.text)
        .filter((field) => !candidates.some((event) => logged.get(event)?.has(field)))
        .map((field) => `${query.where}: field ${field} is logged by none of ${events.length > 0 ? events.join(', ') : 'the events'}`);
    return [...unknown, ...fields];
}

describe('the alerts, the workbook and the documented queries read what the code logs', () => {
    const logged = loggedEvents();
    const all = queries();

    it('finds the queries of every alert rule, every chart and the runbook', () => {
        expect(all.filter((query) => query.where.startsWith('alert'))).toHaveLength(6);
        expect(all.filter((query) => query.where.startsWith('chart'))).toHaveLength(5);
        expect(all.filter((query) => query.where.startsWith('docs/operations.md')).length).toBeGreaterThanOrEqual(7);
    });

    it('names only events the code logs, and only fields those events carry', () => {
        expect(all.flatMap((query) => drift(query, logged))).toEqual([]);
    });

    it('names only HTTP functions the app registers in its request queries', () => {
        const registered = [...sourceFiles('functions').join('\n').matchAll(/functions\/(\w+)\.ts/g)].map((match) => match[1]);
        const named = all.flatMap((query) => [...query.text.matchAll(/\bname\s+in\s*\(([^)]*)\)/g)].flatMap((match) => [...match[1].matchAll(/"([^"]+)"/g)].map((name) => name[1])));
        expect(named.length).toBeGreaterThan(0);
        expect(named.filter((name) => !registered.includes(name))).toEqual([]);
    });

    it('reports a renamed event and a renamed field (the check is not vacuous)', () => {
        const renamed = { where: 'test', text: '| where event == "sync.finished" or event == "sync.done"\n| project e.owedNextPoll, e.owedForNextPoll' };
        expect(drift(renamed, logged)).toEqual(['test: event sync.finished is not logged', 'test: field owedNextPoll is logged by none of sync.finished, sync.done']);
    });
});
