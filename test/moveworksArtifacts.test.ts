import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { parseCommentInput, parseConnectionInput, parseDecisionInput, parseReassignInput } from '../shared/api/actionInput';
import { openApiDocument } from '../shared/api/openapi';
import { parsePendingQuery } from '../shared/api/queryInput';
import { Config, SETTING_NAMES } from '../shared/config';
import { actionBody, connectionBody } from '../shared/contract';
import type { ApprovalCard } from '../shared/model';
import { toListenerPayload } from '../shared/moveworks/listenerClient';
import type { Notice } from '../shared/moveworks/notifier';
import { actingEmail } from '../shared/platform/email';

/**
 * The ready-to-use Moveworks artifacts in docs/moveworks/ (issue 26), checked against the code they name:
 * the cURL commands an admin pastes into Agent Studio's "Import cURL" (routes the app registers, bodies its
 * schemas and parsers accept, the expressions Agent Studio documents, Idempotency-Key), the ambient agent's
 * trigger filter, input mapping and compound actions (fields the listener payload really has), the Classic
 * Event's calls, every setting named, and every app URL (one base URL, `…/api`, never `?code=`).
 * Each check is a function that lists problems, and the last block shows each one failing on a broken artifact.
 */

// Only the docs' YAML is read with js-yaml (a dev dependency).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { load: loadYaml } = require('js-yaml') as { load: (text: string) => unknown };

const root = join(__dirname, '..');
const docsDir = join(root, 'docs', 'moveworks');
const BASE_URL = 'https://<app>.azurewebsites.net/api';
const ACTION_INSTANCE_ID = '{{meta_info.action_instance_id}}';
const AGENT_STUDIO_USER_EMAIL = '{{meta_info.user.email_addr}}';
const CLASSIC_USER_EMAIL = '{{user.email_addr}}';
const AGENT_STUDIO_PAGES = ['http-actions.md', 'ambient-agent.md'];

// ---------------------------------------------------------------------------------------------------------
// The code's side: routes, schemas, parsers, payload, settings.
// ---------------------------------------------------------------------------------------------------------

/** Every notice type the app sends; the compiler fails this file if Notice['type'] gains one not listed. */
const NOTICE_TYPES = ['approval.pending', 'approval.reminder', 'approval.outcome'] as const satisfies readonly Notice['type'][];
type Unlisted = Exclude<Notice['type'], (typeof NOTICE_TYPES)[number]>;
const everyTypeListed: [Unlisted] extends [never] ? true : never = true;

/** A notice with every field the listener payload can carry (Required<> makes the compiler insist on each). */
const card: Required<ApprovalCard> = {
    title: "Amy Cox's request for Payroll Admin",
    sourceTitle: 'Identity Security Cloud',
    requestedFor: 'Amy Cox',
    requestedBy: 'Amy Cox',
    items: [{ operation: 'Add', name: 'Payroll Admin', application: 'Workday' }],
    moreItems: 2,
    conflicts: [{ policy: 'Payroll SoD', left: ['Payroll Admin'], right: ['Payroll Approver'] }],
    dueAt: Date.UTC(2027, 0, 1),
    recommendation: { verdict: 'YES', reasons: ['Peers in Finance have this access.'] },
};
const notice: Required<Notice> = {
    type: 'approval.pending',
    approvalId: '0a0000fa8d2e1a5b818d2f3e4b7c0012',
    source: 'isc',
    kind: 'access-request',
    message: '<b>Approval needed</b>',
    recipients: ['jamie.rivera@example.com', 'dana.lee@example.com'],
    summary: card,
};
const samplePayload = toListenerPayload(notice, Date.UTC(2026, 11, 7, 9, 30)) as unknown as Record<string, unknown>;

/** The type of the preflight's POST to the listener, as the preflight writes it. */
const PREFLIGHT_TYPE = /JSON\.stringify\(\{\s*type:\s*'([^']+)'/.exec(readFileSync(join(root, 'shared', 'ops', 'moveworksChecks.ts'), 'utf8'))?.[1];

/** The slot the Events client fills with the approval id. */
const EVENT_SLOT = /slots:\s*\{\s*(\w+):/.exec(readFileSync(join(root, 'shared', 'moveworks', 'eventsClient.ts'), 'utf8'))?.[1];

interface Registration {
    name: string;
    methods: string[];
    route: string;
}

/** What functions/*.ts register with `app.http`: name, methods and route template. */
const registrations: Registration[] = readdirSync(join(root, 'functions'))
    .filter((file) => file.endsWith('.ts'))
    .flatMap((file) => {
        const source = readFileSync(join(root, 'functions', file), 'utf8');
        return [...source.matchAll(/app\.http\('(\w+)',\s*\{([\s\S]*?)\}\);/g)].map((match) => ({
            name: match[1],
            methods: [...(/methods:\s*\[([^\]]*)\]/.exec(match[2])?.[1] ?? "'GET', 'POST'").matchAll(/'(\w+)'/g)].map((method) => method[1]),
            route: /route:\s*'([^']*)'/.exec(match[2])?.[1] ?? '',
        }));
    });

const openApi = openApiDocument() as unknown as {
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: { content: { 'application/json': { schema: { $ref: string } } } } }>>;
};
const REQUEST_SCHEMAS: Record<string, z.ZodObject> = { ActionRequest: actionBody, ConnectionRequest: connectionBody };

const limits: Config['decisions'] = { requireRejectReason: true, maxCommentLength: 1000, allowSelfApproval: false, notifyRequester: true };

/** Each registered route's own input parser, as its function calls it (reject with a reason required). */
const PARSERS: Record<string, (request: HttpRequest) => unknown> = {
    approveApproval: (request) => parseDecisionInput(request, 'approve', limits),
    rejectApproval: (request) => parseDecisionInput(request, 'reject', limits),
    commentApproval: (request) => parseCommentInput(request, limits),
    reassignApproval: (request) => parseReassignInput(request, limits),
    linkIscConnection: (request) => parseConnectionInput(request),
    disconnectIscConnection: (request) => parseConnectionInput(request),
    listApprovals: (request) => parsePendingQuery(request),
    iscConnectionStatus: (request) => actingEmail(request.query.get('approverEmail') ?? undefined, undefined, 'approverEmail'),
};

// ---------------------------------------------------------------------------------------------------------
// The docs' side: pages, fenced blocks, cURL commands.
// ---------------------------------------------------------------------------------------------------------

interface Page {
    file: string;
    text: string;
}

interface Block {
    file: string;
    lang: string;
    body: string;
    /** `<!-- spec: name -->` on the line before the fence. */
    marker?: string;
    /** The heading above the block. */
    heading: string;
}

const pages: Page[] = readdirSync(docsDir)
    .filter((file) => file.endsWith('.md'))
    .map((file) => ({ file, text: readFileSync(join(docsDir, file), 'utf8') }));
const page = (file: string) => pages.find((candidate) => candidate.file === file)?.text ?? '';

function blocksOf({ file, text }: Page): Block[] {
    const lines = text.split('\n');
    const blocks: Block[] = [];
    let heading = '';
    for (let index = 0; index < lines.length; index++) {
        if (/^#{1,6} /.test(lines[index])) heading = lines[index];
        const fence = /^```(\w*)\s*$/.exec(lines[index]);
        if (!fence) continue;
        const end = lines.findIndex((line, at) => at > index && line.startsWith('```'));
        let before = index - 1;
        while (before >= 0 && lines[before].trim() === '') before--;
        const marker = before >= 0 ? /^<!-- spec: ([\w-]+) -->$/.exec(lines[before].trim())?.[1] : undefined;
        blocks.push({ file, lang: fence[1], body: lines.slice(index + 1, end).join('\n'), marker, heading });
        index = end;
    }
    return blocks;
}

const blocks = pages.flatMap(blocksOf);
function marked(name: string): string {
    const found = blocks.filter((block) => block.marker === name);
    if (found.length !== 1) throw new Error(`expected one block marked ${name} in docs/moveworks/, found ${found.length}`);
    return found[0].body;
}

interface Curl {
    /** The action's name, the last `name` in backticks of the heading above the block. */
    action: string;
    method: string;
    url: string;
    headers: Record<string, string>;
    body?: string;
}

/** Shell words of a one-command cURL: single and double quotes, backslash line continuations. */
function shellWords(command: string): string[] {
    const words: string[] = [];
    let word: string | undefined;
    let quote: string | undefined;
    const text = command.replace(/\\\r?\n/g, ' ');
    for (const char of text) {
        if (quote) {
            if (char === quote) quote = undefined;
            else word = (word ?? '') + char;
        } else if (char === "'" || char === '"') {
            quote = char;
            word = word ?? '';
        } else if (/\s/.test(char)) {
            if (word !== undefined) words.push(word);
            word = undefined;
        } else word = (word ?? '') + char;
    }
    if (quote) throw new Error('unterminated quote');
    if (word !== undefined) words.push(word);
    return words;
}

function parseCurl(command: string, action = ''): Curl {
    const words = shellWords(command.trim());
    if (words[0] !== 'curl') throw new Error(`not a curl command: ${words[0]}`);
    const curl: Curl = { action, method: '', url: '', headers: {} };
    for (let index = 1; index < words.length; index++) {
        const word = words[index];
        const value = () => {
            if (index + 1 >= words.length) throw new Error(`${word} without a value`);
            return words[++index];
        };
        if (word === '-X' || word === '--request') curl.method = value().toUpperCase();
        else if (word === '-H' || word === '--header') {
            const header = value();
            const colon = header.indexOf(':');
            if (colon < 1) throw new Error(`malformed header ${header}`);
            curl.headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
        } else if (['-d', '--data', '--data-raw', '--data-binary'].includes(word)) curl.body = value();
        else if (word.startsWith('-')) throw new Error(`unexpected option ${word}`);
        else if (curl.url) throw new Error(`a second URL ${word}`);
        else curl.url = word;
    }
    if (!curl.url) throw new Error('no URL');
    curl.method ||= curl.body === undefined ? 'GET' : 'POST';
    return curl;
}

const curlBlocks = blocks.filter((block) => block.lang === 'bash' && block.body.trim().startsWith('curl'));
const curls: Curl[] = curlBlocks.map((block) => parseCurl(block.body, [...block.heading.matchAll(/`([\w.]+)`/g)].pop()?.[1] ?? ''));

/** The `{{name}}` (or `{{{name}}}`) placeholders of a text. */
const placeholders = (text: string) => [...text.matchAll(/\{\{\{?\s*([^{}\s]+)\s*\}?\}\}/g)].map((match) => match[1]);

/** The route a URL below the base URL names: the registration, the path parameters and the query. */
function routeOf(url: string): { registration?: Registration; path: string; params: Record<string, string>; query: Record<string, string> } {
    const [path, search = ''] = url.slice(BASE_URL.length + 1).split('?');
    const query = Object.fromEntries(search.split('&').filter(Boolean).map((pair) => [pair.split('=')[0], pair.slice(pair.indexOf('=') + 1)]));
    const segments = path.split('/');
    for (const registration of registrations) {
        const template = registration.route.split('/');
        if (template.length !== segments.length) continue;
        const params: Record<string, string> = {};
        const fits = template.every((part, index) => {
            const param = /^\{(\w+)\}$/.exec(part)?.[1];
            if (param) {
                params[param] = segments[index];
                return /^\{\{\{?[^{}]+\}?\}\}$/.test(segments[index]) || /^[^{}]+$/.test(segments[index]);
            }
            return part === segments[index];
        });
        if (fits) return { registration, path, params, query };
    }
    return { path, params: {}, query };
}

/** A realistic value for each placeholder, so a command can be fed to the route's own parser. */
function sample(name: string): string {
    if (name === 'reassign_to_email') return 'dana.lee@example.com';
    if (/email/.test(name)) return 'jamie.rivera@example.com';
    if (/approval_?id/i.test(name)) return '0a0000fa8d2e1a5b818d2f3e4b7c0012';
    if (name === 'meta_info.action_instance_id') return '9b2f0c1e-5a37-4d8e-9f61-3c2a7b4e8d10';
    return 'Not needed any more';
}
const filled = (text: string) => text.replace(/\{\{\{?\s*([^{}\s]+)\s*\}?\}\}/g, (_, name: string) => sample(name));

// ---------------------------------------------------------------------------------------------------------
// The checks, each a list of problems.
// ---------------------------------------------------------------------------------------------------------

/** A cURL command against what the app registers, describes and parses, and what Agent Studio documents. */
async function curlProblems(curl: Curl): Promise<string[]> {
    const problems: string[] = [];
    const where = `${curl.action || '(unnamed)'} ${curl.method} ${curl.url}`;
    if (!/^[a-z][a-z0-9_]*$/.test(curl.action)) problems.push(`${where}: the heading above it names no action in backticks`);
    if (!curl.url.startsWith(`${BASE_URL}/`)) return [...problems, `${where}: does not start with the base URL ${BASE_URL}`];
    if (/[?&]code=/.test(curl.url)) problems.push(`${where}: carries the function key as ?code= in the URL`);
    if (curl.headers['x-functions-key'] !== '<function-key>') problems.push(`${where}: no x-functions-key: <function-key> header`);
    const { registration, path, params, query } = routeOf(curl.url);
    if (!registration) return [...problems, `${where}: /${path} is no route the app registers`];
    if (!registration.methods.includes(curl.method)) problems.push(`${where}: ${registration.name} does not take ${curl.method}`);
    const operation = openApi.paths[`/${registration.route}`]?.[curl.method.toLowerCase()];
    if (!operation) return [...problems, `${where}: the OpenAPI document has no ${curl.method} /${registration.route}`];
    const declared = new Set((operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name));
    problems.push(...Object.keys(query).filter((name) => !declared.has(name)).map((name) => `${where}: query parameter ${name} is not one the route takes`));

    const text = `${curl.url} ${Object.values(curl.headers).join(' ')} ${curl.body ?? ''}`;
    if (/\{\{\s*user[ .]/i.test(text)) problems.push(`${where}: names the user with a Classic expression; Agent Studio HTTP actions use ${AGENT_STUDIO_USER_EMAIL}`);
    const changes = curl.method !== 'GET';
    if (changes && curl.headers['idempotency-key'] !== ACTION_INSTANCE_ID) problems.push(`${where}: no Idempotency-Key: ${ACTION_INSTANCE_ID}`);

    let body: Record<string, unknown> = {};
    if (curl.body !== undefined) {
        if (curl.headers['content-type'] !== 'application/json') problems.push(`${where}: a body without Content-Type: application/json`);
        try {
            body = JSON.parse(curl.body) as Record<string, unknown>;
        } catch {
            return [...problems, `${where}: the body is not JSON`];
        }
        const ref = operation.requestBody?.content['application/json'].schema.$ref.split('/').pop() ?? '';
        const schema = REQUEST_SCHEMAS[ref];
        if (!schema) return [...problems, `${where}: the route describes no JSON body`];
        const unknown = Object.keys(body).filter((key) => !(key in schema.shape));
        if (unknown.length > 0) problems.push(`${where}: ${unknown.join(', ')} not in the route's schema ${ref}`);
        if (!schema.safeParse(body).success) problems.push(`${where}: the body does not parse with ${ref}`);
    }
    const person = (body.approverEmail ?? query.approverEmail) as string | undefined;
    if (person === undefined) problems.push(`${where}: names no approverEmail`);
    else if (person !== AGENT_STUDIO_USER_EMAIL && !(changes && /^\{\{[a-z_]+\}\}$/.test(person))) {
        problems.push(`${where}: approverEmail is ${person}, neither ${AGENT_STUDIO_USER_EMAIL} nor an input argument bound at send time`);
    }

    const parser = PARSERS[registration.name];
    if (!parser) return [...problems, `${where}: no parser known for ${registration.name}`];
    const request = new HttpRequest({
        method: curl.method,
        url: filled(curl.url).replace('<app>', 'app'),
        headers: { 'content-type': 'application/json' },
        params: Object.fromEntries(Object.entries(params).map(([name, value]) => [name, filled(value)])),
        ...(curl.body !== undefined ? { body: { string: filled(curl.body) } } : {}),
    });
    try {
        await parser(request);
    } catch (error) {
        problems.push(`${where}: ${registration.name} refuses it: ${(error as Error).message}`);
    }
    return problems;
}

/** Every ALL_CAPS_WITH_UNDERSCORES name in a text must be an app setting. */
const settingProblems = (file: string, text: string) =>
    [...new Set([...text.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)].map((match) => match[0]))]
        .filter((name) => !(SETTING_NAMES as string[]).includes(name))
        .map((name) => `${file}: ${name} is not an app setting`);

/** The app's URLs: one base URL ending in /api, never ?code=, every route below it one the app registers. */
function urlProblems(file: string, text: string): string[] {
    const problems: string[] = [];
    for (const line of text.split('\n')) {
        for (const [url] of line.matchAll(/https?:\/\/[^\s'"`)\]]+/g)) {
            if (/[?&]code=/.test(url)) problems.push(`${file}: ${url} carries ?code=`);
            if (!/azurewebsites\.net|<app>/.test(url)) continue;
            if (url !== BASE_URL && !url.startsWith(`${BASE_URL}/`)) problems.push(`${file}: ${url} is not below the base URL ${BASE_URL}`);
            else if (url !== BASE_URL && !routeOf(url).registration) problems.push(`${file}: ${url} names no route the app registers`);
            if (/base URL/i.test(line) && url !== BASE_URL) problems.push(`${file}: the base URL ${url} is not ${BASE_URL}`);
        }
    }
    return problems;
}

/** Paths written as `/api/...`, `/approvals/...` or `/connections/...` must be routes the app registers. */
const pathProblems = (file: string, text: string) =>
    [...text.matchAll(/`(?:(?:GET|POST) )?(\/(?:api\/)?(?:approvals|connections|refused|audit)[^`\s]*)`/g)]
        .map((match) => match[1].replace(/^\/api/, ''))
        .filter((path) => !routeOf(`${BASE_URL}${path}`).registration)
        .map((path) => `${file}: ${path} is no route the app registers`);

/** `parsed_body.a.b` against the payload: every step must exist. */
function resolves(path: string, payload: Record<string, unknown>): boolean {
    let at: unknown = payload;
    for (const part of path.split('.')) {
        if (at === null || typeof at !== 'object' || !(part in (at as object))) return false;
        at = (at as Record<string, unknown>)[part];
    }
    return true;
}

/** A trigger filter: `parsed_body.type == "…"` joined by OR, exactly the types wanted, every field in the payload. */
function filterProblems(filter: string, wanted: readonly string[]): string[] {
    const problems: string[] = [];
    const terms = filter.trim().split(/\s+OR\s+/);
    const types = terms.map((term) => /^\(?\s*parsed_body\.type\s*==\s*"([^"]+)"\s*\)?$/.exec(term)?.[1]);
    if (types.some((type) => type === undefined)) problems.push(`the filter ${filter.trim()} is not parsed_body.type == "…" joined by OR`);
    const fields = [...filter.matchAll(/parsed_body\.([\w.]+)/g)].map((match) => match[1]);
    problems.push(...fields.filter((field) => !resolves(field, samplePayload)).map((field) => `parsed_body.${field} is not in the listener payload`));
    const named = types.filter((type): type is string => type !== undefined);
    problems.push(...named.filter((type) => !(NOTICE_TYPES as readonly string[]).includes(type)).map((type) => `"${type}" is no type the app sends`));
    if (PREFLIGHT_TYPE === undefined || named.includes(PREFLIGHT_TYPE)) problems.push(`the filter lets the preflight's "${PREFLIGHT_TYPE}" through`);
    if ([...named].sort().join() !== [...wanted].sort().join()) problems.push(`the filter takes ${named.join(', ')} instead of ${wanted.join(', ')}`);
    return problems;
}

/** An input mapping: each argument from a field the listener payload has. */
function mappingProblems(mapping: Record<string, unknown>): string[] {
    return Object.entries(mapping).flatMap(([argument, value]) => {
        const field = typeof value === 'string' ? /^parsed_body\.([\w.]+)$/.exec(value)?.[1] : undefined;
        if (!field) return [`${argument}: ${String(value)} is not a parsed_body field`];
        return resolves(field, samplePayload) ? [] : [`${argument}: parsed_body.${field} is not in the listener payload`];
    });
}

type Yaml = Record<string, unknown>;
/** Every object in a YAML tree, depth first. */
const objectsOf = (node: unknown): Yaml[] =>
    Array.isArray(node) ? node.flatMap(objectsOf) : node && typeof node === 'object' ? [node as Yaml, ...Object.values(node).flatMap(objectsOf)] : [];
const stringsOf = (node: unknown): string[] => (typeof node === 'string' ? [node] : node && typeof node === 'object' ? Object.values(node).flatMap(stringsOf) : []);

/**
 * A compound action that notifies each recipient: a `for` over data.recipients, mw.get_user_by_email on the
 * loop's email, `notify` with that user's record id and data.message, and `data.x` only for inputs it is
 * given (the plugin's mapping) or outputs it makes. With `buttons`, Approve is a system action running an
 * approve HTTP action whose every input is bound, the approver to the loop's recipient; Reject is a
 * conversation action whose inputs the reject HTTP action takes.
 */
function compoundProblems(compound: unknown, inputs: string[], buttons: boolean): string[] {
    const problems: string[] = [];
    const objects = objectsOf(compound);
    const outputs = objects.flatMap((object) => (typeof object.output_key === 'string' ? [object.output_key] : []));
    for (const reference of stringsOf(compound).flatMap((text) => [...text.matchAll(/\bdata\.(\w+)/g)].map((match) => match[1]))) {
        if (!inputs.includes(reference) && !outputs.includes(reference)) problems.push(`data.${reference} is neither an input from the plugin's mapping nor an output_key`);
    }
    const loop = objects.map((object) => object.for as Yaml | undefined).find((candidate) => candidate?.in === 'data.recipients');
    if (!loop) return [...problems, 'no for loop over data.recipients'];
    const each = loop.each as string;
    const lookup = objectsOf(loop.steps)
        .map((object) => object.action as Yaml | undefined)
        .find((action) => action?.action_name === 'mw.get_user_by_email');
    if (!lookup || (lookup.input_args as Yaml | undefined)?.user_email !== each) return [...problems, `no mw.get_user_by_email of ${each} in the loop`];
    const notify = objectsOf(loop.steps)
        .map((object) => object.notify as Yaml | undefined)
        .find(Boolean);
    if (!notify) return [...problems, 'no notify in the loop'];
    if (notify.recipient_id !== `data.${lookup.output_key as string}.user.record_id`) problems.push(`recipient_id is ${String(notify.recipient_id)}, not the looked-up user's record_id`);
    if (notify.message !== 'data.message') problems.push('the notify does not send data.message');
    if (typeof notify.output_key !== 'string') problems.push('the notify has no output_key');
    const actions = (notify.actions ?? []) as Yaml[];
    if (!buttons) return actions.length > 0 ? [...problems, 'the outcome message has buttons'] : problems;

    for (const action of actions) if (!/^'[^']+'$/.test(String(action.label))) problems.push(`the label of ${String(action.key)} is not a quoted DSL string`);
    const approve = actions.find((action) => action.key === 'approve')?.system_action as Yaml | undefined;
    const reject = actions.find((action) => action.key === 'reject')?.conversation_action as Yaml | undefined;
    if (!approve) return [...problems, 'no Approve button running a system action'];
    if (!reject || typeof reject.conversation_process_name !== 'string') return [...problems, 'no Reject button starting a conversation process'];
    const approveCurl = curls.find((curl) => curl.action === approve.action_name);
    if (!approveCurl || routeOf(approveCurl.url).registration?.name !== 'approveApproval') return [...problems, `Approve runs ${String(approve.action_name)}, which is no approve cURL in http-actions.md`];
    const bound = (approve.input_args ?? {}) as Yaml;
    const wanted = placeholders(`${approveCurl.url} ${approveCurl.body ?? ''}`).filter((name) => !name.startsWith('meta_info.'));
    problems.push(...wanted.filter((name) => !(name in bound)).map((name) => `Approve does not bind ${name}, which ${approveCurl.action} takes`));
    const person = /^\{\{(\w+)\}\}$/.exec(String((JSON.parse(approveCurl.body ?? '{}') as Yaml).approverEmail))?.[1];
    if (person && bound[person] !== each) problems.push(`Approve binds ${person} to ${String(bound[person])}, not to the recipient ${each}`);
    const rejectCurl = curls.find((curl) => routeOf(curl.url).registration?.name === 'rejectApproval' && curl.body !== undefined && !curl.body.includes(AGENT_STUDIO_USER_EMAIL));
    if (!rejectCurl) return [...problems, 'no reject cURL in http-actions.md takes the approver bound at send time'];
    const takes = placeholders(`${rejectCurl.url} ${rejectCurl.body ?? ''}`);
    const passed = (reject.input_args ?? {}) as Yaml;
    problems.push(...Object.keys(passed).filter((name) => !takes.includes(name)).map((name) => `Reject passes ${name}, which the reject action does not take`));
    const rejecter = /^\{\{(\w+)\}\}$/.exec(String((JSON.parse(rejectCurl.body ?? '{}') as Yaml).approverEmail))?.[1];
    if (rejecter && passed[rejecter] !== each) problems.push(`Reject binds ${rejecter} to ${String(passed[rejecter])}, not to the recipient ${each}`);
    return problems;
}

/** Relative links of a page: the file exists, and so does the heading an anchor names. */
function linkProblems(file: string, text: string, from = docsDir): string[] {
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    return [...text.matchAll(/\]\(([^)\s]+)\)/g)].flatMap(([, link]) => {
        if (/^[a-z]+:/.test(link)) return [];
        const [target, anchor] = link.split('#');
        const path = target ? normalize(join(from, target)) : join(from, file);
        if (!existsSync(path)) return [`${file}: the link ${link} leads nowhere`];
        if (!anchor || !path.endsWith('.md')) return [];
        const headings = readFileSync(path, 'utf8').split('\n').filter((line) => /^#{1,6} /.test(line)).map((line) => slug(line.replace(/^#+/, '')));
        return headings.includes(anchor) ? [] : [`${file}: the link ${link} names no heading`];
    });
}

// ---------------------------------------------------------------------------------------------------------

describe('the HTTP actions for "Import cURL"', () => {
    it('are there: approve, approve bound at send time, reject, comment, reassign, the list and the ISC connection', () => {
        expect(curls.map((curl) => routeOf(curl.url).registration?.name).sort()).toEqual(
            ['approveApproval', 'approveApproval', 'commentApproval', 'disconnectIscConnection', 'iscConnectionStatus', 'linkIscConnection', 'listApprovals', 'reassignApproval', 'rejectApproval', 'rejectApproval'].sort(),
        );
        expect(new Set(curls.map((curl) => curl.action)).size).toBe(curls.length);
    });

    it('each parses, names a registered route and a body its schema and parser accept, with Idempotency-Key and the Agent Studio user', async () => {
        const problems = (await Promise.all(curls.map(curlProblems))).flat();
        expect(problems).toEqual([]);
    });

    it('binds the person at send time only in the actions the buttons run: Approve directly, Reject through its conversation', () => {
        const bound = curls.filter((curl) => curl.body !== undefined && !curl.body.includes(AGENT_STUDIO_USER_EMAIL));
        const compound = loadYaml(marked('compound-action'));
        const systemActions = objectsOf(compound).flatMap((object) => (object.system_action ? [(object.system_action as Yaml).action_name] : []));
        // The Reject button's conversation process runs the action its section names, with the slots the button fills.
        const conversation = /## 4\. The conversation process[\s\S]*?(?=\n## )/.exec(readFileSync(join(docsDir, 'ambient-agent.md'), 'utf8'))?.[0] ?? '';
        const conversationActions = [...conversation.matchAll(/the action `(\w+)`/g)].map((match) => match[1]);
        expect(bound.map((curl) => curl.action).filter((action) => !systemActions.includes(action) && !conversationActions.includes(action))).toEqual([]);
        expect(conversationActions).toEqual(['sailpoint_reject_bound']);
    });
});

describe('the ambient agent', () => {
    it('shows a payload example with exactly the fields the app sends', () => {
        const example = JSON.parse(marked('payload-example')) as Record<string, unknown>;
        expect(Object.keys(example).sort()).toEqual(Object.keys(samplePayload).sort());
        expect(Object.keys(example.summary as object).filter((key) => !(key in card))).toEqual([]);
        expect(NOTICE_TYPES).toContain(example.type);
    });

    it('filters the approval plugin to approvals and reminders, not the preflight nor outcomes', () => {
        expect(everyTypeListed).toBe(true);
        expect(PREFLIGHT_TYPE).toBe('preflight');
        expect(filterProblems(marked('trigger-filter'), ['approval.pending', 'approval.reminder'])).toEqual([]);
    });

    it('filters the outcome plugin to outcomes', () => {
        expect(filterProblems(marked('outcome-filter'), ['approval.outcome'])).toEqual([]);
    });

    it('maps only fields the listener payload has', () => {
        expect(mappingProblems(loadYaml(marked('input-mapping')) as Yaml)).toEqual([]);
        expect(mappingProblems(loadYaml(marked('outcome-mapping')) as Yaml)).toEqual([]);
    });

    it('notifies each recipient with Approve bound to them and Reject asking for a reason', () => {
        const inputs = Object.keys(loadYaml(marked('input-mapping')) as Yaml);
        expect(compoundProblems(loadYaml(marked('compound-action')), inputs, true)).toEqual([]);
    });

    it('tells the requester the outcome without buttons', () => {
        const inputs = Object.keys(loadYaml(marked('outcome-mapping')) as Yaml);
        expect(compoundProblems(loadYaml(marked('outcome-compound-action')), inputs, false)).toEqual([]);
    });

    it('every YAML block loads', () => {
        const broken = blocks.filter((block) => block.lang === 'yaml').flatMap((block) => {
            try {
                loadYaml(block.body);
                return [];
            } catch (error) {
                return [`${block.file} under ${block.heading}: ${(error as Error).message}`];
            }
        });
        expect(broken).toEqual([]);
    });
});

describe('the Classic Event path', () => {
    it('calls approve and reject with the Classic user expression and the slot the app sends', async () => {
        expect(EVENT_SLOT).toBe('approval_id');
        const text = page('classic-events.md');
        for (const [marker, route] of [['classic-approve-body', 'approve'], ['classic-reject-body', 'reject']]) {
            const body = JSON.parse(marked(marker)) as Record<string, unknown>;
            expect(body.approverEmail).toBe(CLASSIC_USER_EMAIL);
            expect(Object.keys(body).filter((key) => !(key in actionBody.shape))).toEqual([]);
            expect(text).toContain(`\`/approvals/{{${EVENT_SLOT}}}/${route}\``);
            const curl = parseCurl(`curl -H 'Content-Type: application/json' -H 'x-functions-key: <function-key>' -H 'Idempotency-Key: ${ACTION_INSTANCE_ID}' -d '${JSON.stringify({ ...body, approverEmail: AGENT_STUDIO_USER_EMAIL })}' '${BASE_URL}/approvals/{{${EVENT_SLOT}}}/${route}'`, `classic_${route}`);
            expect(await curlProblems(curl)).toEqual([]);
        }
        expect(text).toMatch(/Create Slots/);
        expect(text).toMatch(/[Ll]aunch rules/);
        expect(text).toMatch(/Show greeting message/);
    });

    it('Agent Studio pages never use the Classic expression, and no page the old {{user email}}', () => {
        expect(pages.filter(({ text }) => /\{\{\s*user email\s*\}\}/i.test(text)).map(({ file }) => file)).toEqual([]);
        expect(AGENT_STUDIO_PAGES.filter((file) => page(file).includes(CLASSIC_USER_EMAIL))).toEqual([]);
    });
});

describe('every page of docs/moveworks/', () => {
    it('names only settings the app reads', () => {
        expect(pages.flatMap(({ file, text }) => settingProblems(file, text))).toEqual([]);
    });

    it('writes the app URL as one base URL ending in /api, never with ?code=', () => {
        expect(pages.flatMap(({ file, text }) => urlProblems(file, text))).toEqual([]);
    });

    it('names only routes the app registers', () => {
        expect(pages.flatMap(({ file, text }) => pathProblems(file, text))).toEqual([]);
    });

    it('links to pages and headings that exist, and the README links here', () => {
        expect(pages.flatMap(({ file, text }) => linkProblems(file, text))).toEqual([]);
        const readme = readFileSync(join(root, 'README.md'), 'utf8');
        expect(linkProblems('README.md', readme, root)).toEqual([]);
        expect(readme).toContain('(docs/moveworks/README.md)');
        expect(existsSync(join(root, 'docs', 'moveworks.md'))).toBe(false);
    });
});

describe('the checks catch what the old guide got wrong', () => {
    const good = curls.find((curl) => curl.action === 'sailpoint_reject')!;
    const variant = (changes: Partial<Curl>): Curl => ({ ...good, headers: { ...good.headers }, ...changes });

    it('a body naming the user {{user email}}, or the Classic {{user.email_addr}}', async () => {
        for (const person of ['{{user email}}', CLASSIC_USER_EMAIL]) {
            const problems = await curlProblems(variant({ body: JSON.stringify({ approverEmail: person, comment: '{{reason}}' }) }));
            expect(problems.join('\n')).toMatch(/Classic expression|neither/);
        }
    });

    it('a ?code= in the base URL, and a base URL not ending in /api', async () => {
        expect((await curlProblems(variant({ url: `${BASE_URL}?code=abc/approvals/{{approval_id}}/reject` }))).join('\n')).toMatch(/code=|base URL|registers/);
        expect(urlProblems('x.md', 'Base URL: `https://<app>.azurewebsites.net/api?code=<key>`').join('\n')).toMatch(/\?code=/);
        expect(urlProblems('x.md', 'the base URL `https://<app>.azurewebsites.net`').join('\n')).toMatch(/not below the base URL/);
        expect(urlProblems('x.md', 'base URL `https://<app>.azurewebsites.net/api/approvals/{{approval_id}}/approve`').join('\n')).toMatch(/is not https/);
    });

    it('a route the app does not register, a field its schema lacks, a body its parser refuses', async () => {
        expect((await curlProblems(variant({ url: `${BASE_URL}/approvals/{{approval_id}}/decide` }))).join('\n')).toMatch(/no route the app registers/);
        expect((await curlProblems(variant({ body: JSON.stringify({ approverEmail: AGENT_STUDIO_USER_EMAIL, reason: '{{reason}}' }) }))).join('\n')).toMatch(/reason not in the route's schema/);
        expect((await curlProblems(variant({ body: JSON.stringify({ approverEmail: AGENT_STUDIO_USER_EMAIL }) }))).join('\n')).toMatch(/refuses it: A reason is required/);
        expect((await curlProblems(variant({ method: 'PUT' }))).join('\n')).toMatch(/does not take PUT/);
    });

    it('an action without Idempotency-Key, or with another value', async () => {
        const { ['idempotency-key']: _, ...withoutKey } = good.headers;
        expect((await curlProblems(variant({ headers: withoutKey }))).join('\n')).toMatch(/no Idempotency-Key/);
        expect((await curlProblems(variant({ headers: { ...good.headers, 'idempotency-key': '{{uuid}}' } }))).join('\n')).toMatch(/no Idempotency-Key/);
    });

    it('a filter that lets outcomes or the preflight through, or names a type the app does not send', () => {
        expect(filterProblems('parsed_body.type == "approval.pending" OR parsed_body.type == "approval.reminder" OR parsed_body.type == "approval.outcome"', ['approval.pending', 'approval.reminder']).length).toBeGreaterThan(0);
        expect(filterProblems('parsed_body.type == "approval.pending" OR parsed_body.type == "preflight"', ['approval.pending']).join('\n')).toMatch(/preflight/);
        expect(filterProblems('parsed_body.type == "approval.pending" OR parsed_body.type == "approval.remind"', ['approval.pending', 'approval.reminder']).join('\n')).toMatch(/no type the app sends/);
        expect(filterProblems('parsed_body.event == "approval.pending"', ['approval.pending']).join('\n')).toMatch(/not in the listener payload/);
    });

    it('a mapping or a compound action reading a field the payload does not have', () => {
        expect(mappingProblems({ approval_id: 'parsed_body.approvalID', recipients: 'parsed_body.recipients' })).toEqual(['approval_id: parsed_body.approvalID is not in the listener payload']);
        const compound = loadYaml(marked('compound-action').replace('data.message', 'data.text'));
        expect(compoundProblems(compound, ['approval_id', 'recipients', 'message'], true).join('\n')).toMatch(/data\.text/);
    });

    it('an Approve button that leaves the approver to meta_info, or runs no approve action', () => {
        const unbound = loadYaml(marked('compound-action').replace('approver_email: recipient_email', 'approver_email: meta_info.user.email_addr'));
        expect(compoundProblems(unbound, ['approval_id', 'recipients', 'message'], true).join('\n')).toMatch(/not to the recipient/);
        const elsewhere = loadYaml(marked('compound-action').replace('action_name: sailpoint_approve_bound', 'action_name: sailpoint_reject'));
        expect(compoundProblems(elsewhere, ['approval_id', 'recipients', 'message'], true).join('\n')).toMatch(/no approve cURL/);
    });

    it('a Reject button that leaves the approver to whoever is in the conversation', () => {
        const yaml = marked('compound-action');
        const last = yaml.lastIndexOf('approver_email: recipient_email');
        const unbound = loadYaml(`${yaml.slice(0, last)}approver_email: meta_info.user.email_addr${yaml.slice(last + 'approver_email: recipient_email'.length)}`);
        expect(compoundProblems(unbound, ['approval_id', 'recipients', 'message'], true).join('\n')).toMatch(/Reject binds approver_email to meta_info\.user\.email_addr, not to the recipient/);
    });

    it('a setting the app does not read, and a route written in prose that it does not register', () => {
        expect(settingProblems('x.md', 'Set `MOVEWORKS_WEBHOOK_URL`.')).toEqual(['x.md: MOVEWORKS_WEBHOOK_URL is not an app setting']);
        expect(pathProblems('x.md', 'call `POST /api/approvals/{approvalId}/decide`')).toEqual(['x.md: /approvals/{approvalId}/decide is no route the app registers']);
    });

    it('a cURL the parser cannot read', () => {
        expect(() => parseCurl("curl -X POST 'https://<app>.azurewebsites.net/api/approvals")).toThrow(/unterminated/);
        expect(() => parseCurl('curl -X POST --json {} https://<app>.azurewebsites.net/api/approvals')).toThrow(/unexpected option/);
    });
});
