import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEFAULT_INSTANCE_MEMORY_MB, workerNodeOptions } from '../dev/workerNodeOptions';
import { MAX_POLL_BUDGET_SECONDS, SETTING_NAMES } from '../shared/config';

// web-tree-sitter 0.22 is CommonJS with the Parser class as its export.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Parser = require('web-tree-sitter') as typeof import('web-tree-sitter');

const infra = join(__dirname, '..', 'infra');

function bicepFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const path = join(dir, entry);
        return statSync(path).isDirectory() ? bicepFiles(path) : entry.endsWith('.bicep') ? [path] : [];
    });
}

/** Settings the app reads only when run locally; the template deliberately does not write them. */
const LOCAL_ONLY = ['FUNCTION_KEY', 'MASTER_KEY', 'AzureWebJobsStorage'];
/** Settings the template writes for the Functions host and Application Insights, not for the app. */
const HOST_SETTINGS = [
    'languageWorkers__node__arguments',
    'AzureWebJobsStorage__accountName',
    'AzureWebJobsStorage__credential',
    'AzureWebJobsStorage__clientId',
    'APPLICATIONINSIGHTS_CONNECTION_STRING',
    'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/** The caller settings of issue 11: each Bicep parameter and the app setting it is written to. */
const CALLER_PARAMETERS: Record<string, string> = {
    callerJwtIssuer: 'CALLER_JWT_ISSUER',
    callerJwtAudience: 'CALLER_JWT_AUDIENCE',
    callerJwksUrl: 'CALLER_JWKS_URL',
    callerAllowedClientIds: 'CALLER_ALLOWED_CLIENT_IDS',
    callerRequiredRole: 'CALLER_REQUIRED_ROLE',
    callerUserEmailClaim: 'CALLER_USER_EMAIL_CLAIM',
    callerAdminRole: 'CALLER_ADMIN_ROLE',
};

type Node = import('web-tree-sitter').SyntaxNode;

/** A parameter, resource or module declaration, with the decorators written above it. */
interface Declaration {
    kind: string;
    name: string;
    node: Node;
    decorators: Map<string, Node | undefined>;
}

/** The top-level declarations of a parsed Bicep file, in order. */
function declarations(root: Node): Declaration[] {
    const found: Declaration[] = [];
    let decorators = new Map<string, Node | undefined>();
    for (const node of root.namedChildren) {
        if (node.type === 'decorators') {
            for (const decorator of node.namedChildren) {
                const call = decorator.namedChildren[0];
                decorators.set(call.namedChildren[0].text, call.namedChildren[1]?.namedChildren[0]);
            }
            continue;
        }
        found.push({ kind: node.type.replace(/_declaration$/, ''), name: node.namedChildren[0]?.text ?? '', node, decorators });
        decorators = new Map();
    }
    return found;
}

/** The text of a string literal without its quotes, or the source text of any other expression. */
const value = (node: Node | null | undefined): string | undefined => (node == null ? undefined : node.type === 'string' ? node.text.slice(1, -1) : node.text);

/** The value of an object's property, by a dotted path through nested objects. */
function property(object: Node | null | undefined, path: string): Node | undefined {
    let node: Node | undefined = object ?? undefined;
    for (const key of path.split('.')) {
        node = node?.namedChildren.find((child) => child.type === 'object_property' && value(child.namedChildren[0]) === key)?.namedChildren[1];
    }
    return node;
}

/** The keys of an object, with the source text of their values. */
const entries = (object: Node | undefined): Record<string, string> =>
    Object.fromEntries(
        (object?.namedChildren ?? []).filter((child) => child.type === 'object_property').map((child) => [value(child.namedChildren[0])!, child.namedChildren[1].text]),
    );

/** A value a Bicep expression evaluates to. */
type BicepValue = string | number | boolean | null | BicepValue[] | { [key: string]: BicepValue } | ((...args: BicepValue[]) => BicepValue);

/**
 * A stand-in for ARM's uniqueString(): its shape (13 characters, lowercase letters and digits, the same for the
 * same arguments and, in practice, different for different ones), not its hash.
 */
function uniqueStringStandIn(...parts: BicepValue[]): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
    return [...createHash('sha256').update(parts.map(String).join('\u0000')).digest().subarray(0, 13)].map((byte) => alphabet[byte % 32]).join('');
}

const asText = (value: BicepValue): string => {
    if (typeof value !== 'string') throw new Error(`expected a string, not ${JSON.stringify(value)}`);
    return value;
};
const asInt = (value: BicepValue): number => {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`expected an int, not ${JSON.stringify(value)}`);
    return value;
};
const asArray = (value: BicepValue): BicepValue[] => {
    if (!Array.isArray(value)) throw new Error(`expected an array, not ${JSON.stringify(value)}`);
    return value;
};
const asLambda = (value: BicepValue): ((...args: BicepValue[]) => BicepValue) => {
    if (typeof value !== 'function') throw new Error('expected a lambda');
    return value;
};

/**
 * The template functions the expressions in infra/ call, as ARM documents them (a substring past the end
 * fails the deployment, as it does in ARM). uniqueString is the stand-in above.
 */
const BICEP_FUNCTIONS: Record<string, (...args: BicepValue[]) => BicepValue> = {
    toLower: (text) => asText(text).toLowerCase(),
    length: (value) => (typeof value === 'string' ? value : asArray(value)).length,
    range: (start, count) => Array.from({ length: asInt(count) }, (_, i) => asInt(start) + i),
    substring: (text, start, length) => {
        if (asInt(start) + asInt(length) > asText(text).length) throw new Error(`substring past the end of ${JSON.stringify(text)}`);
        return asText(text).substring(asInt(start), asInt(start) + asInt(length));
    },
    map: (array, lambda) => asArray(array).map((item) => asLambda(lambda)(item)),
    filter: (array, lambda) => asArray(array).filter((item) => asLambda(lambda)(item) === true),
    join: (array, delimiter) => asArray(array).map(asText).join(asText(delimiter)),
    contains: (container, item) => (typeof container === 'string' ? container.includes(asText(item)) : asArray(container).includes(item)),
    take: (value, count) => (typeof value === 'string' ? value : asArray(value)).slice(0, Math.max(0, asInt(count))),
    empty: (value) => value === null || (typeof value === 'string' || Array.isArray(value) ? value.length === 0 : typeof value === 'object' && Object.keys(value).length === 0),
    trim: (text) => asText(text).trim(),
    string: (value) => (typeof value === 'string' ? value : JSON.stringify(value)),
    uniqueString: uniqueStringStandIn,
};

const RESOURCE_GROUP_ID = '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-approvals';

/**
 * Evaluates the expressions of one parsed Bicep file as ARM would at deployment, for given parameter values
 * (the others take their defaults): so a spec checks what the expression written in the file yields, not a
 * copy of its logic. It knows the expression forms and functions infra/ uses, and throws on any other.
 */
class BicepEvaluator {
    private readonly declared: Declaration[];
    private readonly variables = new Map<string, BicepValue>();

    constructor(
        root: Node,
        private readonly params: Record<string, BicepValue>,
        private readonly resourceGroupId = RESOURCE_GROUP_ID,
    ) {
        this.declared = declarations(root);
    }

    variable(name: string): BicepValue {
        if (!this.variables.has(name)) {
            const declaration = this.declared.find((candidate) => candidate.kind === 'variable' && candidate.name === name);
            if (!declaration) throw new Error(`no variable ${name}`);
            this.variables.set(name, this.evaluate(declaration.node.namedChildren[1]));
        }
        return this.variables.get(name)!;
    }

    evaluate(node: Node, locals: ReadonlyMap<string, BicepValue> = new Map()): BicepValue {
        const evaluate = (child: Node) => this.evaluate(child, locals);
        const children = node.namedChildren;
        switch (node.type) {
            case 'string':
                return children
                    .map((part) => {
                        if (part.type === 'string_content') return part.text;
                        if (part.type === 'interpolation') return String(evaluate(part.namedChildren[0]));
                        if (part.type === 'escape_sequence') return ({ "\\'": "'", '\\\\': '\\', '\\n': '\n', '\\r': '\r', '\\t': '\t' } as Record<string, string>)[part.text];
                        throw new Error(`string part ${part.type}`);
                    })
                    .join('');
            case 'number':
                return Number(node.text);
            case 'boolean':
                return node.text === 'true';
            case 'null':
                return null;
            case 'identifier':
                return this.lookup(node.text, locals);
            case 'parenthesized_expression':
                return evaluate(children[0]);
            case 'array':
                return children.map(evaluate);
            case 'object':
                return Object.fromEntries(
                    children
                        .filter((child) => child.type === 'object_property')
                        .map((child) => [child.namedChildren[0].type === 'string' ? asText(evaluate(child.namedChildren[0])) : child.namedChildren[0].text, evaluate(child.namedChildren[1])]),
                );
            case 'member_expression': {
                const target = evaluate(children[0]) as Record<string, BicepValue>;
                return target[children[1].text];
            }
            case 'unary_expression': {
                const operand = evaluate(children[0]);
                return node.child(0)!.text === '!' ? !operand : -asInt(operand);
            }
            case 'ternary_expression':
                return evaluate(children[0]) === true ? evaluate(children[1]) : evaluate(children[2]);
            case 'binary_expression': {
                const operator = node.child(1)!.text;
                if (operator === '&&') return evaluate(children[0]) === true && evaluate(children[1]) === true;
                if (operator === '||') return evaluate(children[0]) === true || evaluate(children[1]) === true;
                const [left, right] = [evaluate(children[0]), evaluate(children[1])];
                switch (operator) {
                    case '==':
                        return JSON.stringify(left) === JSON.stringify(right);
                    case '!=':
                        return JSON.stringify(left) !== JSON.stringify(right);
                    case '+':
                        return asInt(left) + asInt(right);
                    case '-':
                        return asInt(left) - asInt(right);
                    case '*':
                        return asInt(left) * asInt(right);
                    case '/':
                        return Math.trunc(asInt(left) / asInt(right));
                    case '%':
                        return asInt(left) % asInt(right);
                    case '<':
                        return asInt(left) < asInt(right);
                    case '>':
                        return asInt(left) > asInt(right);
                    default:
                        throw new Error(`operator ${operator}`);
                }
            }
            case 'call_expression': {
                const name = children[0].text;
                const args = children[1].namedChildren.map(evaluate);
                if (name === 'resourceGroup') return { id: this.resourceGroupId };
                const fn = BICEP_FUNCTIONS[name];
                if (!fn) throw new Error(`function ${name}`);
                return fn(...args);
            }
            case 'lambda_expression': {
                const [head, body] = [children[0], children[children.length - 1]];
                const names = head.type === 'parenthesized_expression' ? head.namedChildren.map((child) => child.text) : [head.text];
                return (...args: BicepValue[]) => this.evaluate(body, new Map([...locals, ...names.map((name, i) => [name, args[i]] as const)]));
            }
            case 'for_statement': {
                const [head, source, body] = children;
                const [item, index] = head.type === 'for_loop_parameters' ? head.namedChildren.map((child) => child.text) : [head.text];
                return asArray(evaluate(source)).map((element, i) => this.evaluate(body, new Map([...locals, [item, element], ...(index ? [[index, i] as const] : [])])));
            }
            default:
                throw new Error(`expression ${node.type}: ${node.text}`);
        }
    }

    private lookup(name: string, locals: ReadonlyMap<string, BicepValue>): BicepValue {
        if (locals.has(name)) return locals.get(name)!;
        if (name in this.params) return this.params[name];
        const declaration = this.declared.find((candidate) => (candidate.kind === 'variable' || candidate.kind === 'parameter') && candidate.name === name);
        if (declaration?.kind === 'variable') return this.variable(name);
        const fallback = declaration?.node.namedChildren[2];
        if (fallback) return this.evaluate(fallback);
        throw new Error(`no value for ${name}`);
    }
}

/** A naming rule of Azure's (docs: azure-resource-manager/management/resource-name-rules.md), and whether a name keeps it. */
interface NameRule {
    rule: string;
    holds: (name: string) => boolean;
}
const lengthBetween = (min: number, max: number): NameRule => ({ rule: `${min}-${max} characters`, holds: (name) => name.length >= min && name.length <= max });
const only = (rule: string, pattern: RegExp): NameRule => ({ rule, holds: (name) => pattern.test(name) });
const NAME_RULES: Record<string, NameRule[]> = {
    'Microsoft.Storage/storageAccounts': [lengthBetween(3, 24), only('lowercase letters and digits only', /^[a-z0-9]*$/)],
    'Microsoft.KeyVault/vaults': [
        lengthBetween(3, 24),
        only('letters, digits and hyphens only', /^[A-Za-z0-9-]*$/),
        only('starts with a letter', /^[A-Za-z]/),
        only('ends with a letter or digit', /[A-Za-z0-9]$/),
        { rule: 'no consecutive hyphens', holds: (name) => !name.includes('--') },
    ],
    'Microsoft.Web/sites': [lengthBetween(2, 60), only('letters, digits and hyphens only', /^[A-Za-z0-9-]*$/), only('starts and ends with a letter or digit', /^[A-Za-z0-9](.*[A-Za-z0-9])?$/)],
    'Microsoft.Web/serverfarms': [lengthBetween(1, 60), only('letters, digits and hyphens only', /^[A-Za-z0-9-]*$/)],
    'Microsoft.ManagedIdentity/userAssignedIdentities': [lengthBetween(3, 128), only('letters, digits, hyphens and underscores, starting with a letter or digit', /^[A-Za-z0-9][A-Za-z0-9_-]*$/)],
    'Microsoft.OperationalInsights/workspaces': [lengthBetween(4, 63), only('letters, digits and hyphens, starting and ending with a letter or digit', /^[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]$/)],
};
const brokenRules = (type: string, name: string) => NAME_RULES[type].filter((rule) => !rule.holds(name)).map((rule) => rule.rule);

/** An ISO 8601 duration of days, hours and minutes, in minutes; NaN for any other form. */
function durationMinutes(duration: string): number {
    const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(duration);
    if (!match || duration === 'P' || duration.endsWith('T')) return Number.NaN;
    return Number(match[1] ?? 0) * 1440 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

describe('infrastructure (Bicep)', () => {
    let parser: import('web-tree-sitter');
    beforeAll(async () => {
        await Parser.init();
        const bicep = await Parser.Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm'));
        parser = new Parser();
        parser.setLanguage(bicep);
    });
    const parse = (path: string) => parser.parse(readFileSync(path, 'utf8')).rootNode;
    const main = () => readFileSync(join(infra, 'main.bicep'), 'utf8');
    const module = (file: string) => readFileSync(join(infra, 'modules', file), 'utf8');
    const declared = (file: string) => declarations(parse(join(infra, file)));
    const param = (file: string, name: string) => {
        const found = declared(file).find((d) => d.kind === 'parameter' && d.name === name);
        if (!found) throw new Error(`${file} declares no parameter ${name}`);
        return { type: found.node.namedChildren[1].text, default: found.node.namedChildren[2], decorators: found.decorators };
    };
    /** The body (object) of each resource of a type, whatever its API version. */
    const resources = (file: string, type: string) =>
        declared(file)
            .filter((d) => d.kind === 'resource' && value(d.node.namedChildren[1])?.split('@')[0] === type)
            .map((d) => ({ symbol: d.name, apiVersion: value(d.node.namedChildren[1])!.split('@')[1], body: resourceBody(d.node) }));
    /** A resource's object, or for a `[for ...: {...}]` loop the object it repeats. */
    const resourceBody = (node: Node): Node => {
        const direct = node.namedChildren.find((child) => child.type === 'object');
        if (direct) return direct;
        const loop = node.namedChildren.find((child) => child.type === 'for_statement');
        return loop!.namedChildren.find((child) => child.type === 'object')!;
    };
    /** The params object of a module declaration of main.bicep. */
    const moduleParamsObject = (symbol: string) => {
        const found = declared('main.bicep').find((d) => d.kind === 'module' && d.name === symbol);
        if (!found) throw new Error(`main.bicep declares no module ${symbol}`);
        return property(found.node.namedChildren.find((child) => child.type === 'object'), 'params');
    };
    /** The params a module declaration of main.bicep passes, with the source text of their values. */
    const moduleParams = (symbol: string) => entries(moduleParamsObject(symbol));
    const variable = (file: string, name: string) => declared(file).find((d) => d.kind === 'variable' && d.name === name)?.node.namedChildren[1];
    const output = (file: string, name: string) => declared(file).find((d) => d.kind === 'output' && d.name === name)?.node.namedChildren[2]?.text;
    /** An evaluator of a file's expressions for these parameter values. */
    const evaluator = (file: string, params: Record<string, BicepValue>, resourceGroupId?: string) => new BicepEvaluator(parse(join(infra, file)), params, resourceGroupId);
    /** The name a module's resource of `type` gets, from the `name` main.bicep (evaluated by `main`) passes that module. */
    const resourceName = (main: BicepEvaluator, moduleSymbol: string, file: string, type: string) => {
        const [resource] = resources(file, type);
        if (!resource) throw new Error(`${file} declares no ${type}`);
        const name = main.evaluate(property(moduleParamsObject(moduleSymbol), 'name')!);
        return asText(evaluator(file, { name }).evaluate(property(resource.body, 'name')!));
    };

    it('has main.bicep and its modules', () => {
        expect(bicepFiles(infra).map((path) => relative(infra, path)).sort()).toEqual(
            ['main.bicep', 'modules/alerts.bicep', 'modules/functionApp.bicep', 'modules/identity.bicep', 'modules/keyVault.bicep', 'modules/monitoring.bicep', 'modules/storage.bicep', 'modules/workbook.bicep'].sort(),
        );
    });

    it.each(bicepFiles(join(__dirname, '..', 'infra')).map((path) => [relative(infra, path), path]))('parses %s without syntax errors', (_, path) => {
        const root = parse(path);
        const broken: string[] = [];
        const visit = (node: Node) => {
            if (node.type === 'ERROR' || node.isMissing) broken.push(`${node.type} at line ${node.startPosition.row + 1}`);
            node.children.forEach(visit);
        };
        visit(root);
        expect(broken).toEqual([]);
    });

    describe('alerts and the dashboard (issue 13)', () => {
        const ALERTS: Record<string, string> = {
            alertPollFailuresInARow: 'pollFailuresInARow',
            alertHeartbeatMinutes: 'heartbeatMinutes',
            alertOwedThreshold: 'owedThreshold',
            alertServerErrorThreshold: 'serverErrorThreshold',
            alertRefusedThreshold: 'refusedThreshold',
        };

        it('deploys one log alert per condition on Application Insights, each sent to the action group', () => {
            const [rule] = resources('modules/alerts.bicep', 'Microsoft.Insights/scheduledQueryRules');
            expect(rule.apiVersion).toBe('2023-12-01');
            expect(value(property(rule.body, 'kind'))).toBe('LogAlert');
            expect(property(rule.body, 'properties.scopes')?.text).toContain('appInsightsId');
            expect(property(rule.body, 'properties.actions.actionGroups')?.text).toContain('actionGroup.id');
            const keys = (variable('modules/alerts.bicep', 'rules')?.namedChildren ?? []).map((item) => value(property(item, 'key')));
            expect(keys).toEqual(['poll-failing', 'no-successful-poll', 'owed-growing', 'action-errors', 'table-unreachable', 'moveworks-refused']);
        });

        it('sends the alerts to an email and a webhook given as parameters, the webhook kept secret', () => {
            const [group] = resources('modules/alerts.bicep', 'Microsoft.Insights/actionGroups');
            expect(property(group.body, 'properties.emailReceivers')?.text).toContain('alertEmail');
            expect(property(group.body, 'properties.webhookReceivers')?.text).toContain('alertWebhookUrl');
            expect(param('main.bicep', 'alertWebhookUrl').decorators.has('secure')).toBe(true);
            expect(moduleParams('alerts')).toMatchObject({ alertEmail: 'alertEmail', alertWebhookUrl: 'alertWebhookUrl', appInsightsId: 'monitoring.outputs.id' });
        });

        it('takes every threshold as a parameter with a default and a lower bound, passed through to the module', () => {
            for (const [top, inner] of Object.entries(ALERTS)) {
                const declaredTop = param('main.bicep', top);
                expect([top, declaredTop.type, declaredTop.default !== undefined, declaredTop.decorators.has('minValue') || declaredTop.decorators.has('allowed')]).toEqual([top, 'int', true, true]);
                expect(param('modules/alerts.bicep', inner).default).toBeDefined();
                expect(moduleParams('alerts')[inner]).toBe(top);
            }
        });

        it('points every alert at a section of the runbook that exists and names its key', () => {
            const runbook = readFileSync(join(__dirname, '..', 'docs', 'operations.md'), 'utf8');
            const sections = [...runbook.matchAll(/^## (.+)$/gm)].map((match) => match[1]);
            for (const rule of variable('modules/alerts.bicep', 'rules')?.namedChildren ?? []) {
                const key = value(property(rule, 'key'))!;
                const title = /See docs\/operations\.md "([^"]+)"/.exec(value(property(rule, 'description')) ?? '')?.[1];
                expect([key, sections.find((section) => section === `${title} (\`${key}\`)`)]).toEqual([key, expect.any(String)]);
            }
        });

        /** The window sizes Azure Monitor lists for a log alert, each in the one form it lists it in (PT1H, never PT60M). */
        const AZURE_MONITOR_WINDOWS = ['PT1M', 'PT5M', 'PT10M', 'PT15M', 'PT30M', 'PT45M', 'PT1H', 'PT2H', 'PT3H', 'PT4H', 'PT5H', 'PT6H', 'P1D', 'P2D'];
        const heartbeatChoices = () => {
            const allowed = param('modules/alerts.bicep', 'heartbeatMinutes').decorators.get('allowed');
            const choices = (allowed?.namedChildren ?? []).map((node) => Number(node.text));
            expect(choices.length).toBeGreaterThan(0);
            return choices;
        };
        /** Each rule's window, by key, as the module evaluates it for a heartbeat of `heartbeatMinutes`. */
        const windows = (heartbeatMinutes: number) => {
            const alerts = evaluator('modules/alerts.bicep', { heartbeatMinutes });
            return Object.fromEntries((variable('modules/alerts.bicep', 'rules')?.namedChildren ?? []).map((rule) => [value(property(rule, 'key'))!, asText(alerts.evaluate(property(rule, 'window')!))]));
        };

        it('gives every rule a window size in the form Azure Monitor lists, for every allowed heartbeat', () => {
            for (const heartbeatMinutes of heartbeatChoices()) {
                const unlisted = Object.entries(windows(heartbeatMinutes)).filter(([, window]) => !AZURE_MONITOR_WINDOWS.includes(window));
                expect([heartbeatMinutes, unlisted]).toEqual([heartbeatMinutes, []]);
            }
            expect(param('main.bicep', 'alertHeartbeatMinutes').decorators.get('allowed')?.text).toBe(param('modules/alerts.bicep', 'heartbeatMinutes').decorators.get('allowed')?.text);
        });

        it('makes the heartbeat window as long as the heartbeat minutes chosen', () => {
            for (const heartbeatMinutes of heartbeatChoices()) {
                const window = windows(heartbeatMinutes)['no-successful-poll'];
                expect([heartbeatMinutes, window, durationMinutes(window)]).toEqual([heartbeatMinutes, window, heartbeatMinutes]);
            }
        });

        it('deploys the workbook on Application Insights with the charts of workbook.json', () => {
            const [workbook] = resources('modules/workbook.bicep', 'Microsoft.Insights/workbooks');
            expect(property(workbook.body, 'properties.sourceId')?.text).toBe('appInsightsId');
            expect(property(workbook.body, 'properties.serializedData')?.text).toBe("string(union(loadJsonContent('workbook.json'), { fallbackResourceIds: [appInsightsId] }))");
            const document = JSON.parse(readFileSync(join(infra, 'modules', 'workbook.json'), 'utf8')) as { items: { type: number; content: { title?: string } }[] };
            expect(document.items.filter((item) => item.type === 3).map((item) => item.content.title)).toEqual([
                'Messages sent to approvers, by source',
                'Decisions, by outcome and channel',
                'Time from notification to decision in chat (p50, p95, minutes)',
                'Refused and failed calls, by system',
                'Messages owed for the next poll, by source',
            ]);
            expect(moduleParams('workbook')).toMatchObject({ appInsightsId: 'monitoring.outputs.id' });
        });
    });

    it('catches a syntax error (the check is not vacuous)', () => {
        expect(parser.parse("resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  location:\n}\n").rootNode.hasError).toBe(true);
    });

    it('writes exactly the app settings the config schema reads, but the documented local-only ones', () => {
        const root = parse(join(infra, 'main.bicep'));
        const keys: string[] = [];
        const visit = (node: Node) => {
            const key = node.type === 'object_property' ? node.child(0) : null;
            if (key?.text === 'appSettings') {
                for (const property of node.namedChildren[1]?.namedChildren ?? []) {
                    if (property.type === 'object_property') keys.push(property.child(0)!.text.replace(/^'|'$/g, ''));
                }
            }
            node.children.forEach(visit);
        };
        visit(root);
        expect(keys.length).toBeGreaterThan(0);
        expect(keys.sort()).toEqual(SETTING_NAMES.filter((name) => !LOCAL_ONLY.includes(name) && !HOST_SETTINGS.includes(name)).sort());
    });

    it('gives the host identity-based storage as the Flex samples do: account name, managed identity and its client id', () => {
        const app = module('functionApp.bicep');
        expect(app).toMatch(/AzureWebJobsStorage__accountName: storageAccountName\n/);
        expect(app).toMatch(/AzureWebJobsStorage__credential: 'managedidentity'\n/);
        expect(app).toMatch(/AzureWebJobsStorage__clientId: identityClientId\n/);
        expect(main()).toMatch(/storageAccountName: storage\.outputs\.name\n/);
        expect(app).not.toMatch(/AzureWebJobsStorage:/);
    });

    it('writes only host settings besides the app settings', () => {
        const hostSettings = /var hostSettings = \{([\s\S]*?)\n\}/.exec(module('functionApp.bicep'))?.[1] ?? '';
        const names = [...hostSettings.matchAll(/^\s+([A-Za-z_]+):/gm)].map((match) => match[1]);
        expect(names.sort()).toEqual([...HOST_SETTINGS].sort());
    });

    it('runs on a Flex Consumption FC1 plan with Node.js 22 and the user-assigned identity', () => {
        const app = module('functionApp.bicep');
        expect(app).toMatch(/tier: 'FlexConsumption'\s+name: 'FC1'/);
        expect(app).toMatch(/runtime: \{\s+name: 'node'\s+version: '22'/);
        expect(app).toMatch(/type: 'UserAssigned'/);
        expect(app).toMatch(/keyVaultReferenceIdentity: identityId/);
        expect(app).toMatch(/type: 'UserAssignedIdentity'\s+userAssignedIdentityResourceId: identityId/);
    });

    it('disables shared keys on storage and grants the identity blob owner and table contributor', () => {
        const storage = module('storage.bicep');
        expect(storage).toContain('allowSharedKeyAccess: false');
        expect(storage).toContain("'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'");
        expect(storage).toContain("'0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'");
    });

    it('turns off local auth on Application Insights and grants Monitoring Metrics Publisher', () => {
        const monitoring = module('monitoring.bicep');
        expect(monitoring).toContain('DisableLocalAuth: true');
        expect(monitoring).toContain("'3913510d-42f4-4e42-8a64-420c390055eb'");
    });

    it('keeps every secret in an RBAC Key Vault and references it from the app settings', () => {
        expect(module('keyVault.bicep')).toContain('enableRbacAuthorization: true');
        expect(module('keyVault.bicep')).toContain("'4633458b-17de-408a-b874-0445c86b69e6'");
        for (const setting of ['IIQ_CLIENT_SECRET', 'ISC_CLIENT_SECRET', 'MOVEWORKS_API_KEY', 'AUDIT_READER_KEY']) {
            expect(main()).toMatch(new RegExp(`${setting}: secretReference\\.`));
        }
        expect(main()).toMatch(/@Microsoft\.KeyVault\(SecretUri=\$\{vault\.outputs\.uri\}secrets\//);
        for (const secret of ['iiqClientSecret', 'iscClientSecret', 'moveworksApiKey', 'auditReaderKey']) expect(main()).toMatch(new RegExp(`@secure\\(\\)\\s+param ${secret} `));
    });

    it('keeps the stored secrets on a redeploy without them: a secret is written only when given, and referenced while its source is on', () => {
        expect(module('keyVault.bicep')).toMatch(/for item in items\(secrets\): if \(!empty\(item\.value\)\)/);
        expect(main()).toMatch(/iiq: empty\(iiqBaseUrl\) \? '' : '@Microsoft\.KeyVault/);
        expect(main()).toMatch(/isc: empty\(iscBaseUrl\) \? '' : '@Microsoft\.KeyVault/);
        expect(main()).not.toMatch(/empty\((iiqClientSecret|iscClientSecret|moveworksApiKey)\) \?/);
        for (const secret of ['iiqClientSecret', 'iscClientSecret', 'moveworksApiKey', 'auditReaderKey']) expect([secret, value(param('main.bicep', secret).default)]).toEqual([secret, '']);
        expect(main()).toMatch(/auditReader: enableAuditReaderKey \? '@Microsoft\.KeyVault/);
        expect(main()).not.toMatch(/empty\(auditReaderKey\) \?/);
    });

    it('delivers through a listener when asked: its key and signing secret in Key Vault, referenced only then, and no Events API key reference that could not resolve', () => {
        expect(main()).toMatch(/param moveworksDelivery string = 'events'/);
        for (const secret of ['moveworksListenerKey', 'moveworksListenerSigningSecret']) {
            expect(main()).toMatch(new RegExp(`@secure\\(\\)\\s+param ${secret} `));
            expect([secret, value(param('main.bicep', secret).default)]).toEqual([secret, '']);
        }
        expect(main()).toMatch(/moveworks: listenerMode \? '' : '@Microsoft\.KeyVault/);
        expect(main()).toMatch(/listenerKey: listenerMode \? '@Microsoft\.KeyVault/);
        expect(main()).toMatch(/listenerSigningSecret: listenerMode && \(moveworksListenerSigned \|\| !empty\(moveworksListenerSigningSecret\)\) \? '@Microsoft\.KeyVault/);
        expect(main()).toMatch(/MOVEWORKS_LISTENER_KEY: secretReference\.listenerKey/);
        expect(main()).toMatch(/MOVEWORKS_EVENT_ID: listenerMode \? '' : moveworksEventId/);
    });

    it('declares each caller setting as an optional, described string parameter and writes it to its app setting', () => {
        const appSettings = entries(property(moduleParamsObject('functionApp'), 'appSettings'));
        for (const [name, setting] of Object.entries(CALLER_PARAMETERS)) {
            const declaration = param('main.bicep', name);
            expect(declaration.type).toBe('string');
            expect(declaration.default?.text).toBe("''");
            expect(value(declaration.decorators.get('description'))?.length).toBeGreaterThan(20);
            expect(appSettings[setting]).toBe(name);
        }
        expect(value(param('main.bicep', 'callerJwtIssuer').decorators.get('description'))).toMatch(/empty leaves caller-token verification off/);
    });

    it('turns allowedCallerIpRanges into Allow rules for the app and its scm site, denying the rest only when ranges are given', () => {
        const ranges = param('main.bicep', 'allowedCallerIpRanges');
        expect(ranges.type).toBe('string[]');
        expect(ranges.default?.text).toBe('[]');
        expect(value(ranges.decorators.get('description'))).toMatch(/CIDR/);
        expect(value(ranges.decorators.get('description'))).toMatch(/Moveworks egress IP/);
        expect(moduleParams('functionApp').allowedIpRanges).toBe('allowedCallerIpRanges');
        expect(param('modules/functionApp.bicep', 'allowedIpRanges').default?.text).toBe('[]');

        // One Allow rule per range, with distinct names and priorities.
        const ranges3 = ['203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/28'];
        const rules = evaluator('modules/functionApp.bicep', { allowedIpRanges: ranges3 }).variable('ipRules') as Record<string, BicepValue>[];
        expect(rules.map((rule) => rule.action)).toEqual(['Allow', 'Allow', 'Allow']);
        expect(new Set(rules.map((rule) => rule.name)).size).toBe(3);
        expect(new Set(rules.map((rule) => rule.priority)).size).toBe(3);

        // Deny for everything else only when there is a range; Allow (no restriction) when there is none.
        expect(evaluator('modules/functionApp.bicep', { allowedIpRanges: ranges3 }).variable('ipDefaultAction')).toBe('Deny');
        expect(evaluator('modules/functionApp.bicep', { allowedIpRanges: [] }).variable('ipDefaultAction')).toBe('Allow');
        expect(evaluator('modules/functionApp.bicep', { allowedIpRanges: [] }).variable('ipRules')).toEqual([]);

        const [site] = resources('modules/functionApp.bicep', 'Microsoft.Web/sites');
        const siteConfig = entries(property(site.body, 'properties.siteConfig'));
        expect(siteConfig).toEqual(
            expect.objectContaining({
                ipSecurityRestrictions: 'ipRules',
                ipSecurityRestrictionsDefaultAction: 'ipDefaultAction',
                scmIpSecurityRestrictions: 'ipRules',
                scmIpSecurityRestrictionsDefaultAction: 'ipDefaultAction',
                scmIpSecurityRestrictionsUseMain: 'false',
            }),
        );
    });

    it('turns a bare IPv4 address into a /32 rule and a bare IPv6 address into a /128 one, keeping CIDR ranges as given', () => {
        const given = ['203.0.113.7', '203.0.113.0/24', '2001:db8::1', '2001:db8::/48', ' 198.51.100.4 '];
        const rules = evaluator('modules/functionApp.bicep', { allowedIpRanges: given }).variable('ipRules') as Record<string, BicepValue>[];
        expect(rules.map((rule) => rule.ipAddress)).toEqual(['203.0.113.7/32', '203.0.113.0/24', '2001:db8::1/128', '2001:db8::/48', '198.51.100.4/32']);
        expect(value(param('main.bicep', 'allowedCallerIpRanges').decorators.get('description'))).toMatch(/\/32/);
    });

    it('turns off basic publishing credentials on the scm site, and writes no ftp policy, which Flex Consumption does not document', () => {
        const policies = resources('modules/functionApp.bicep', 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
        expect(policies.map((policy) => value(property(policy.body, 'name')))).toEqual(['scm']);
        for (const policy of policies) {
            expect(value(property(policy.body, 'parent'))).toBe('site');
            expect(value(property(policy.body, 'properties.allow'))).toBe('false');
        }
    });

    it('writes none of the site properties and app settings Flex Consumption deprecates', () => {
        // functions-app-settings.md, "Flex Consumption plan deprecations".
        const deprecated = [
            'ftpsState', 'use32BitWorkerProcess', 'isReserved', 'IsXenon', 'windowsFxVersion', 'alwaysOn', 'preWarmedInstanceCount', 'functionAppScaleLimit',
            'containerSize', 'javaVersion', 'powerShellVersion', 'netFrameworkVersion', 'linuxFxVersion', 'dnsConfiguration', 'vnetBackupRestoreEnabled',
            'vnetContentShareEnabled', 'vnetImagePullEnabled', 'vnetRouteAllEnabled', 'ENABLE_ORYX_BUILD', 'FUNCTIONS_EXTENSION_VERSION', 'FUNCTIONS_WORKER_RUNTIME',
            'FUNCTIONS_WORKER_RUNTIME_VERSION', 'FUNCTIONS_MAX_HTTP_CONCURRENCY', 'FUNCTIONS_WORKER_PROCESS_COUNT', 'FUNCTIONS_WORKER_DYNAMIC_CONCURRENCY_ENABLED',
            'SCM_DO_BUILD_DURING_DEPLOYMENT', 'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING', 'WEBSITE_CONTENTOVERVNET', 'WEBSITE_CONTENTSHARE', 'WEBSITE_DNS_SERVER',
            'WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT', 'WEBSITE_NODE_DEFAULT_VERSION', 'WEBSITE_RUN_FROM_PACKAGE', 'WEBSITE_SKIP_CONTENTSHARE_VALIDATION', 'WEBSITE_VNET_ROUTE_ALL',
        ].map((name) => name.toLowerCase());
        const written: string[] = [];
        const visit = (node: Node) => {
            if (node.type === 'object_property') written.push(value(node.namedChildren[0])!);
            node.namedChildren.forEach(visit);
        };
        visit(parse(join(infra, 'modules', 'functionApp.bicep')));
        visit(parse(join(infra, 'main.bicep')));
        expect(written.filter((name) => deprecated.includes(name.toLowerCase()))).toEqual([]);
    });

    it('takes a maximumInstanceCount only within 40-1000 instances, as Microsoft\'s Flex Consumption samples do', () => {
        const count = param('main.bicep', 'maximumInstanceCount');
        expect([count.decorators.get('minValue')?.text, count.decorators.get('maxValue')?.text]).toEqual(['40', '1000']);
        expect(Number(count.default?.text)).toBeGreaterThanOrEqual(40);
        expect(Number(count.default?.text)).toBeLessThanOrEqual(1000);
        expect(moduleParams('functionApp').maximumInstanceCount).toBe('maximumInstanceCount');
    });

    it.each([
        ['modules/keyVault.bicep', 'vault', 'Microsoft.KeyVault/vaults', 'vault', ['AuditEvent'], ['AllMetrics']],
        ['modules/storage.bicep', 'storage', 'Microsoft.Storage/storageAccounts/tableServices', 'tableService', ['StorageRead', 'StorageWrite', 'StorageDelete'], ['Transaction']],
        ['modules/storage.bicep', 'storage', 'Microsoft.Storage/storageAccounts/blobServices', 'blobService', ['StorageRead', 'StorageWrite', 'StorageDelete'], ['Transaction']],
        ['modules/functionApp.bicep', 'functionApp', 'Microsoft.Web/sites', 'site', ['FunctionAppLogs'], ['AllMetrics']],
    ])('sends the diagnostics of %s to the Log Analytics workspace', (file, moduleSymbol, scopeType, scopeSymbol, logs, metrics) => {
        const setting = resources(file, 'Microsoft.Insights/diagnosticSettings').find((candidate) => value(property(candidate.body, 'scope')) === scopeSymbol);
        expect(setting).toBeDefined();
        if (!setting) return;
        expect(resources(file, scopeType).map((resource) => resource.symbol)).toContain(scopeSymbol);
        expect(value(property(setting.body, 'properties.workspaceId'))).toBe('workspaceId');
        const categories = (list: string) => (property(setting.body, `properties.${list}`)?.namedChildren ?? []).map((entry) => entries(entry));
        expect(categories('logs')).toEqual(logs.map((category) => ({ category: `'${category}'`, enabled: 'true' })));
        expect(categories('metrics')).toEqual(metrics.map((category) => ({ category: `'${category}'`, enabled: 'true' })));
        expect(param(file, 'workspaceId').type).toBe('string');
        expect(moduleParams(moduleSymbol).workspaceId).toBe('monitoring.outputs.workspaceId');
    });

    it('takes the diagnostics workspace id from the monitoring module', () => {
        const [workspace] = resources('modules/monitoring.bicep', 'Microsoft.OperationalInsights/workspaces');
        expect(output('modules/monitoring.bicep', 'workspaceId')).toBe(`${workspace.symbol}.id`);
    });

    it('turns off local auth on the Log Analytics workspace, Application Insights ingesting with the identity instead', () => {
        const [workspace] = resources('modules/monitoring.bicep', 'Microsoft.OperationalInsights/workspaces');
        expect(value(property(workspace.body, 'properties.features.disableLocalAuth'))).toBe('true');

        // Application Insights takes no instrumentation-key-only telemetry: the app's user-assigned identity
        // publishes it, with the Monitoring Metrics Publisher role on the component.
        const [appInsights] = resources('modules/monitoring.bicep', 'Microsoft.Insights/components');
        expect(value(property(appInsights.body, 'properties.DisableLocalAuth'))).toBe('true');
        expect(value(property(appInsights.body, 'properties.WorkspaceResourceId'))).toBe(`${workspace.symbol}.id`);
        const [publisher] = resources('modules/monitoring.bicep', 'Microsoft.Authorization/roleAssignments');
        expect(value(property(publisher.body, 'scope'))).toBe(appInsights.symbol);
        expect(value(property(publisher.body, 'properties.roleDefinitionId'))).toContain('monitoringMetricsPublisher');
        expect(value(property(publisher.body, 'properties.principalId'))).toBe('publisherPrincipalId');
        expect(moduleParams('monitoring').publisherPrincipalId).toBe('identity.outputs.principalId');
        const hostSettings = entries(variable('modules/functionApp.bicep', 'hostSettings'));
        expect(hostSettings.APPLICATIONINSIGHTS_AUTHENTICATION_STRING).toBe("'Authorization=AAD;ClientId=${identityClientId}'");
        expect(moduleParams('functionApp').identityClientId).toBe('identity.outputs.clientId');
    });

    it("gives the worker its heap limit through languageWorkers__node__arguments, the setting the Functions Node.js guide documents", () => {
        const hostSettings = Object.keys(entries(variable('modules/functionApp.bicep', 'hostSettings')));
        expect(hostSettings).toContain('languageWorkers__node__arguments');
        expect(hostSettings).not.toContain('NODE_OPTIONS');
    });

    it('sizes the worker heap from the instance memory, with the arguments the benchmark measures under', () => {
        const memory = param('main.bicep', 'instanceMemoryMB');
        expect(memory.decorators.get('allowed')?.text).toBe('[512, 2048, 4096]');
        expect(Number(memory.default?.text)).toBe(DEFAULT_INSTANCE_MEMORY_MB);
        expect(moduleParams('functionApp').instanceMemoryMB).toBe('instanceMemoryMB');
        const workerArguments = property(variable('modules/functionApp.bicep', 'hostSettings'), 'languageWorkers__node__arguments')!;
        for (const instanceMemoryMB of [512, 2048, 4096]) {
            expect([instanceMemoryMB, evaluator('modules/functionApp.bicep', { instanceMemoryMB }).evaluate(workerArguments)]).toEqual([instanceMemoryMB, workerNodeOptions(instanceMemoryMB)]);
        }
    });

    it("gives the worker only arguments Node also takes from NODE_OPTIONS, so the benchmark can run under the same ones", () => {
        for (const instanceMemoryMB of [512, 2048, 4096]) {
            for (const argument of workerNodeOptions(instanceMemoryMB).split(' ')) expect([argument, process.allowedNodeEnvironmentFlags.has(argument.split('=')[0])]).toEqual([argument, true]);
        }
    });

    it('bounds the poll budget to what the function timeout leaves, as the app does', () => {
        const budget = param('main.bicep', 'pollBudgetSeconds');
        const hostJson = JSON.parse(readFileSync(join(infra, '..', 'host.json'), 'utf8')) as { functionTimeout: string };
        const [hours, minutes, seconds] = hostJson.functionTimeout.split(':').map(Number);
        expect(Number(budget.decorators.get('minValue')?.text)).toBe(5);
        expect(Number(budget.decorators.get('maxValue')?.text)).toBe(MAX_POLL_BUDGET_SECONDS);
        expect(MAX_POLL_BUDGET_SECONDS).toBeLessThanOrEqual(0.75 * (hours * 3600 + minutes * 60 + seconds));
    });

    it('makes Key Vault public network access a parameter, Enabled or Disabled', () => {
        for (const [file, name] of [
            ['main.bicep', 'keyVaultPublicNetworkAccess'],
            ['modules/keyVault.bicep', 'publicNetworkAccess'],
        ]) {
            const declaration = param(file, name);
            expect(declaration.type).toBe('string');
            expect(value(declaration.default)).toBe('Enabled');
            expect(declaration.decorators.get('allowed')?.namedChildren.map((node) => value(node))).toEqual(['Enabled', 'Disabled']);
            expect(value(declaration.decorators.get('description'))).toMatch(/private endpoint/);
        }
        expect(value(param('main.bicep', 'keyVaultPublicNetworkAccess').decorators.get('description'))).toMatch(/VNet integration, which this template does not create/);
        expect(moduleParams('vault').publicNetworkAccess).toBe('keyVaultPublicNetworkAccess');
        const [vault] = resources('modules/keyVault.bicep', 'Microsoft.KeyVault/vaults');
        expect(value(property(vault.body, 'properties.publicNetworkAccess'))).toBe('publicNetworkAccess');
    });

    it('gives a parameters file whose names the template declares, and no secrets', () => {
        const parameters = JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as { parameters: Record<string, unknown> };
        const declared = [...main().matchAll(/^param (\w+) /gm)].map((match) => match[1]);
        for (const name of Object.keys(parameters.parameters)) expect(declared).toContain(name);
        expect(Object.keys(parameters.parameters)).not.toEqual(expect.arrayContaining(['moveworksApiKey']));
        expect(Object.keys(parameters.parameters).filter((name) => /secret|apikey/i.test(name))).toEqual([]);
    });

    describe('resource names, whatever the base name (issue 25)', () => {
        /** Base names within the parameter's declared length that break one naming rule or another when used as they are. */
        const ODD_NAMES = ['approvals', 'Approvals2', 'my_approvals', 'sailpoint-prod', 'a--b', '-abc-', '___', 'ÄÖÜ approvals', 'app.prod', 'x y', 'abcdefghijklmnop', 'A_B-C.D/E\\F%G', '1234', '承認アプリ'];
        const main = (name: string, resourceGroupId?: string) => evaluator('main.bicep', { name }, resourceGroupId);
        const storageAccount = (name: string, resourceGroupId?: string) => resourceName(main(name, resourceGroupId), 'storage', 'modules/storage.bicep', 'Microsoft.Storage/storageAccounts');
        const keyVault = (name: string, resourceGroupId?: string) => resourceName(main(name, resourceGroupId), 'vault', 'modules/keyVault.bicep', 'Microsoft.KeyVault/vaults');

        it('feeds only base names the parameter accepts', () => {
            const declaration = param('main.bicep', 'name');
            const [min, max] = [Number(declaration.decorators.get('minLength')?.text), Number(declaration.decorators.get('maxLength')?.text)];
            expect(ODD_NAMES.filter((name) => name.length < min || name.length > max)).toEqual([]);
        });

        it.each(ODD_NAMES)('derives a storage account name Azure accepts from %j', (name) => {
            const account = storageAccount(name);
            expect([account, brokenRules('Microsoft.Storage/storageAccounts', account)]).toEqual([account, []]);
        });

        it.each(ODD_NAMES)('derives a Key Vault name Azure accepts from %j', (name) => {
            const vault = keyVault(name);
            expect([vault, brokenRules('Microsoft.KeyVault/vaults', vault)]).toEqual([vault, []]);
        });

        it.each(ODD_NAMES)('derives names Azure accepts for the function app, its plan, the identity and the workspace from %j', (name) => {
            const names: [string, string][] = [
                ['Microsoft.Web/sites', resourceName(main(name), 'functionApp', 'modules/functionApp.bicep', 'Microsoft.Web/sites')],
                ['Microsoft.Web/serverfarms', resourceName(main(name), 'functionApp', 'modules/functionApp.bicep', 'Microsoft.Web/serverfarms')],
                ['Microsoft.ManagedIdentity/userAssignedIdentities', resourceName(main(name), 'identity', 'modules/identity.bicep', 'Microsoft.ManagedIdentity/userAssignedIdentities')],
                ['Microsoft.OperationalInsights/workspaces', resourceName(main(name), 'monitoring', 'modules/monitoring.bicep', 'Microsoft.OperationalInsights/workspaces')],
            ];
            expect(names.map(([type, derived]) => [derived, brokenRules(type, derived)])).toEqual(names.map(([, derived]) => [derived, []]));
        });

        it('keeps the storage account and vault names apart for base names that differ only in what is dropped, and across resource groups', () => {
            const pairs: [string, string | undefined, string, string | undefined][] = [
                ['my_app', undefined, 'my-app', undefined],
                ['___', undefined, '---', undefined],
                ['abcdefghijklmnop', undefined, 'abcdefghijklmnoq', undefined],
                ['approvals', RESOURCE_GROUP_ID, 'approvals', `${RESOURCE_GROUP_ID}-2`],
            ];
            for (const [a, groupA, b, groupB] of pairs) {
                expect([a, b, storageAccount(a, groupA) === storageAccount(b, groupB)]).toEqual([a, b, false]);
                expect([a, b, keyVault(a, groupA) === keyVault(b, groupB)]).toEqual([a, b, false]);
            }
        });

        it('gives a base name of letters and digits the storage account and vault it had, so a redeploy keeps the state and the secrets', () => {
            for (const name of ['approvals', 'Approvals2', 'abcdefghijklmnop', 'APP1']) {
                const suffix = uniqueStringStandIn(RESOURCE_GROUP_ID, name);
                expect([storageAccount(name), keyVault(name)]).toEqual([`st${name}${suffix}`.toLowerCase().slice(0, 24), `kv-${name}-${suffix}`.toLowerCase().slice(0, 24)]);
            }
        });
    });

    describe('the deploy guide on a first deployment (issue 25)', () => {
        /** The guide's text, its line breaks and indents as single spaces. */
        const guide = () => readFileSync(join(__dirname, '..', 'docs', 'deploy.md'), 'utf8').replace(/\s+/g, ' ');

        it('names the command that lists the regions offering Flex Consumption, and the error a deployment elsewhere ends with', () => {
            expect(guide()).toContain('az functionapp list-flexconsumption-locations');
            expect(guide()).toContain('Requested features are not supported in region');
        });

        it('says role assignments take minutes to reach storage and Key Vault, and what the app answers meanwhile', () => {
            expect(guide()).toMatch(/role assignments[^.]*minutes/i);
            for (const answer of ['503 `storage_unavailable`', '500 `invalid_configuration`', '`config.invalid`', 'configreferences/appsettings/refresh']) expect(guide()).toContain(answer);
        });

        it('says how to recover the purge-protected vault when the resource group is re-created with the same name', () => {
            expect(guide()).toContain('Exist soft deleted vault with the same name');
            expect(guide()).toMatch(/az keyvault recover --name /);
        });

        it('says the worker heap is set with languageWorkers__node__arguments, and what a 512 MB instance was measured to hold', () => {
            expect(guide()).toContain('languageWorkers__node__arguments');
            expect(guide()).not.toMatch(/writes `NODE_OPTIONS/);
            expect(guide()).toMatch(/512 MB instance[^.]*10,000/);
        });
    });
});
