import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';

/**
 * Checks one Identity Security Cloud exchange (a request and its answer, as sent over the wire) against
 * SailPoint's published OpenAPI document for the exchange's API layout, in `test/contracts/`. Rules from the
 * shared reference's README: a null property counts as an absent optional one; a wrong type, an unknown
 * enum value or a missing required field is a problem.
 */

interface MediaTypes {
    [contentType: string]: { schema?: unknown } | undefined;
}

interface ResponseObject {
    $ref?: string;
    content?: MediaTypes;
}

interface Parameter {
    $ref?: string;
    in?: string;
    name?: string;
    schema?: { type?: string };
}

interface Operation {
    parameters?: Parameter[];
    requestBody?: { required?: boolean; content?: MediaTypes };
    responses: Record<string, ResponseObject>;
}

interface OpenApiDocument {
    info: { version: string };
    paths: Record<string, Record<string, Operation>>;
}

const JSON_CONTENT = 'application/json';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/**
 * OpenAPI 3.0.3 gives `nullable` no effect unless a `type` sits beside it, but ajv refuses to compile such
 * a schema (Identity's `lifecycleState` has one), so those are dropped from ajv's copy, not from the file.
 */
function withoutTypelessNullable(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(withoutTypelessNullable);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
        Object.entries(value)
            .filter(([key, item]) => !(key === 'nullable' && typeof item === 'boolean' && !('type' in value)))
            .map(([key, item]) => [key, withoutTypelessNullable(item)]),
    );
}

/** Null-valued properties removed at every depth, so null stands for an absent optional field and nothing else. */
function withoutNullProperties(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(withoutNullProperties);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
        Object.entries(value)
            .filter(([, item]) => item !== null)
            .map(([key, item]) => [key, withoutNullProperties(item)]),
    );
}

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true, verbose: true });

const pointerSegment = (segment: string) => encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));
const pointerTo = (...segments: string[]) => segments.map((segment) => `/${pointerSegment(segment)}`).join('');
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** One document, added to ajv under its file name, with its operations ready to match paths against. */
function loadContract(fileName: string) {
    const document = JSON.parse(readFileSync(join(__dirname, '..', 'contracts', fileName), 'utf8')) as OpenApiDocument;
    ajv.addSchema(withoutTypelessNullable(document) as object, fileName);
    // Literal templates first, so `/pending` is not taken for `/{id}`.
    const operations = Object.entries(document.paths)
        .flatMap(([template, item]) =>
            Object.keys(item)
                .filter((method) => HTTP_METHODS.includes(method))
                .map((method) => ({
                    method,
                    template,
                    operation: item[method],
                    parameters: (template.match(/\{[^/}]+\}/g) ?? []).length,
                    pattern: new RegExp(`^${template.split(/\{[^/}]+\}/).map(escapeRegExp).join('[^/]+')}$`),
                })),
        )
        .sort((a, b) => a.parameters - b.parameters);
    return { fileName, version: document.info.version, document, operations };
}

type Contract = ReturnType<typeof loadContract>;
type Located = Contract['operations'][number] & { contract: Contract };

const V1 = loadContract('isc-v1-approvals.json');
const V2025 = loadContract('isc-v2025-approvals.json');

/**
 * The document that describes a path, and the path as that document names it. Per-service v1
 * (`/{service}/v1/...`) is named whole in its document; `/v2025/{service}/...` after the version. v3 and
 * v2024 access-request approvals are checked against v2025, since the shared reference (identity-security-
 * cloud.md §9) says they have the same shapes; no other version has a document here, so it has none.
 */
function documentFor(path: string): { contract: Contract; documentPath: string } | undefined {
    if (/^\/[^/]+\/v1(\/|$)/.test(path)) return { contract: V1, documentPath: path };
    const yearBased = /^\/(v2025|v2024|v3)(\/.*)$/.exec(path);
    if (!yearBased) return undefined;
    const [, version, documentPath] = yearBased;
    return version === 'v2025' || documentPath.startsWith('/access-request-approvals/') ? { contract: V2025, documentPath } : undefined;
}

/** Validators compiled once per schema location, since specs check thousands of exchanges. */
const validators = new Map<string, ValidateFunction>();
function validatorAt(contract: Contract, pointer: string): ValidateFunction {
    const ref = `${contract.fileName}#${pointer}`;
    let validate = validators.get(ref);
    if (!validate) {
        validate = ajv.compile({ $ref: ref });
        validators.set(ref, validate);
    }
    return validate;
}

function shown(value: unknown): string {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function describeErrors(where: string, errors: ErrorObject[] | null | undefined): string[] {
    return (errors ?? []).map((error) => {
        const got = error.keyword === 'enum' || error.keyword === 'type' ? ` (got ${shown(error.data)})` : '';
        return `${where}: ${error.instancePath || '(root)'} ${error.message ?? error.keyword}${got}`;
    });
}

function validateJson(where: string, contract: Contract, pointer: string, body: string): string[] {
    let parsed: unknown;
    try {
        parsed = JSON.parse(body);
    } catch {
        return [`${where}: not JSON: ${shown(body)}`];
    }
    const validate = validatorAt(contract, pointer);
    return validate(withoutNullProperties(parsed)) ? [] : describeErrors(where, validate.errors);
}

/** `undefined` leaves the request unchecked; an empty body is one that was sent empty. */
function requestProblems(located: Located, body: string | undefined): string[] {
    if (body === undefined) return [];
    const declared = located.operation.requestBody;
    if (body.trim() === '') return declared?.required ? ['request: empty, where the spec requires a body'] : [];
    if (!declared?.content?.[JSON_CONTENT]?.schema) return ['request: has a body, where the spec declares no JSON body'];
    return validateJson('request body', located.contract, pointerTo('paths', located.template, located.method, 'requestBody', 'content', JSON_CONTENT, 'schema'), body);
}

function responseProblems(located: Located, status: number, body: string): string[] {
    const declared = located.operation.responses[String(status)];
    if (!declared) return [`response: status ${status} is not declared (the spec declares ${Object.keys(located.operation.responses).join(', ')})`];
    // A response is inline or a `$ref` such as `#/components/responses/400`, which is already a JSON pointer.
    const [response, pointer] = declared.$ref
        ? [resolve<ResponseObject>(located.contract, declared.$ref), declared.$ref.slice(1)]
        : [declared, pointerTo('paths', located.template, located.method, 'responses', String(status))];
    const where = `response ${status}`;
    if (!response.content?.[JSON_CONTENT]?.schema) return body.trim() === '' ? [] : [`${where}: has a body, where the spec declares none`];
    if (body.trim() === '') return [`${where}: empty, where the spec declares a JSON body`];
    return validateJson(where, located.contract, `${pointer}${pointerTo('content', JSON_CONTENT, 'schema')}`, body);
}

function resolve<T>(contract: Contract, ref: string): T {
    const segments = ref.replace(/^#\//, '').split('/').map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
    return segments.reduce<unknown>((node, segment) => (node as Record<string, unknown>)[segment], contract.document) as T;
}

/** A query string's values are text: the declared type says how to read one before its schema is checked. */
function fromQueryText(text: string, type: string | undefined): unknown {
    if (type === 'integer' || type === 'number') return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
    if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
    return text;
}

/** Every query parameter sent must be one the operation declares, with a value its schema accepts. */
function queryProblems(located: Located, query: Record<string, string> | undefined): string[] {
    if (query === undefined) return [];
    const declared = (located.operation.parameters ?? []).map((parameter, index) =>
        parameter.$ref
            ? { parameter: resolve<Parameter>(located.contract, parameter.$ref), pointer: `${parameter.$ref.slice(1)}/schema` }
            : { parameter, pointer: pointerTo('paths', located.template, located.method, 'parameters', String(index), 'schema') },
    );
    return Object.entries(query).flatMap(([name, text]) => {
        const found = declared.find(({ parameter }) => parameter.in === 'query' && parameter.name === name);
        if (!found) return [`query: ${name} is not a parameter of this operation`];
        const validate = validatorAt(located.contract, found.pointer);
        return validate(fromQueryText(text, found.parameter.schema?.type)) ? [] : describeErrors(`query ${name}`, validate.errors);
    });
}

/**
 * The ways one exchange departs from SailPoint's spec for its layout; empty when it conforms. `path` is
 * without the query; its layout picks the document (see documentFor), and a path no document covers is a
 * problem. The token route (`/oauth/token`) is in neither document and is not checked. `query` and
 * `requestBody` undefined leave them unchecked (as for a request built wrong on purpose). A path or method
 * the document does not have, or a status it does not declare, is a problem.
 */
export function checkIscExchange(exchange: { method: string; path: string; status: number; query?: Record<string, string>; requestBody?: string; responseBody: string }): string[] {
    if (exchange.path === '/oauth/token') return [];
    const label = `${exchange.method.toUpperCase()} ${exchange.path}`;
    const found = documentFor(exchange.path);
    if (!found) return [`${label}: no document in test/contracts covers this path (per-service v1: /{service}/v1/..., year-based: /v2025/...)`];
    const { contract, documentPath } = found;
    const candidate = contract.operations.find((operation) => operation.method === exchange.method.toLowerCase() && operation.pattern.test(documentPath));
    if (!candidate) return [`${label}: no such operation in the ${contract.version} document (SailPoint's spec, the subset the app uses)`];
    const located = { ...candidate, contract };
    return [...queryProblems(located, exchange.query), ...requestProblems(located, exchange.requestBody), ...responseProblems(located, exchange.status, exchange.responseBody)].map(
        (problem) => `${label} (${contract.version} ${located.method.toUpperCase()} ${located.template}) ${problem}`,
    );
}
