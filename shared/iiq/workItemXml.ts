import { parseXml, XmlElement, XmlError } from '@rgrove/parse-xml';
import { z } from 'zod';
import { Approval, ApprovalComment, ApprovalLine, Reference } from '../model';

/**
 * IdentityIQ WorkItem XML -> typed approvals. The parser checks that the document is well-formed in the
 * same pass as it reads it (a truncated page is refused, never read as a shorter list), never reads the
 * DOCTYPE's declarations, and decodes only the five predefined entities and numeric character references,
 * which is all IdentityIQ's serializer emits; any other entity is kept as written.
 * @rgrove/parse-xml rather than fast-xml-parser: measured on a page of 250 work items, it reads and checks
 * in one pass what took fast-xml-parser a validation pass and a parse at about twice the time.
 */

const LIST_TAGS = new Set(['WorkItem', 'ApprovalItem', 'Comment', 'EntitlementComment', 'entry', 'Reference', 'OwnerHistory']);

/** A name that must not become an object key: it would reach the object's prototype. */
const FORBIDDEN_NAMES = new Set(['__proto__']);

/** Characters XML 1.0 does not allow, raw: C0 controls but tab, newline and return; U+FFFE, U+FFFF; lone surrogates. */
const DISALLOWED_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const CHARACTER_REFERENCE = /&#(x[0-9a-fA-F]+|[0-9]+);/g;

const isXmlCharacter = (code: number) =>
    code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);

/**
 * The document with each character XML does not allow, raw or as a reference, replaced by U+FFFD. A
 * serializer that lets a control character of one description through would otherwise make every page
 * holding it unreadable, and no approval on it would ever be notified.
 */
function withAllowedCharacters(xml: string): string {
    return xml
        .replace(DISALLOWED_CHARACTER, '\uFFFD')
        .replace(CHARACTER_REFERENCE, (reference, digits: string) =>
            isXmlCharacter(digits[0] === 'x' ? parseInt(digits.slice(1), 16) : parseInt(digits, 10)) ? reference : '\uFFFD',
        );
}

type XmlTree = string | { [name: string]: XmlTree | XmlTree[] };

/**
 * An element as plain data: its text (trimmed) when it has neither attributes nor child elements, else an
 * object of `@attribute` values and child elements by name, an array for a repeated name or a LIST_TAGS one.
 */
function toTree(element: XmlElement): XmlTree {
    const tree: Record<string, XmlTree | XmlTree[]> = {};
    let structured = false;
    for (const [name, value] of Object.entries(element.attributes)) {
        tree[`@${name}`] = value.trim();
        structured = true;
    }
    let text = '';
    for (const child of element.children) {
        if (child instanceof XmlElement) {
            if (FORBIDDEN_NAMES.has(child.name)) throw new WorkItemXmlError(`element name not allowed: ${child.name}`);
            structured = true;
            const value = toTree(child);
            const existing = Object.hasOwn(tree, child.name) ? tree[child.name] : undefined;
            if (Array.isArray(existing)) existing.push(value);
            else if (existing !== undefined) tree[child.name] = [existing, value];
            else tree[child.name] = LIST_TAGS.has(child.name) ? [value] : value;
        } else if ('text' in child && typeof child.text === 'string') {
            text += child.text;
        }
    }
    text = text.trim();
    if (!structured) return text;
    if (text !== '') tree['#text'] = text;
    return tree;
}

export class WorkItemXmlError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'WorkItemXmlError';
    }
}

const epochMs = z.string().regex(/^\d{1,15}$/).transform(Number);
const text = z.string();
const node = z.object({}).passthrough();
const nodeList = z.array(z.union([node, z.literal('')])).transform((items) => items.filter((item) => item !== '') as Record<string, unknown>[]);

const referenceNode = z.object({ '@id': text.min(1), '@name': text.optional() }).passthrough();
const referenceHolder = z
    .object({ Reference: z.array(referenceNode).min(1) })
    .passthrough()
    .transform(({ Reference: [first] }): Reference => ({ id: first['@id'], name: first['@name'] ?? first['@id'] }));

const commentNode = z.object({ '@author': text.optional(), '@comment': text.optional(), '@date': epochMs.optional() }).passthrough();
const commentHolder = z
    .union([z.object({ Comment: z.array(commentNode).optional(), EntitlementComment: z.array(commentNode).optional() }).passthrough(), z.literal('')])
    .transform((holder): ApprovalComment[] =>
        holder === ''
            ? []
            : [...(holder.Comment ?? []), ...(holder.EntitlementComment ?? [])]
                  .filter((comment) => (comment['@comment'] ?? '') !== '')
                  .map((comment) => ({ author: comment['@author'], text: comment['@comment'] ?? '', date: comment['@date'] })),
    );

const approvalItemNode = z
    .object({
        '@operation': text.optional(),
        '@displayName': text.optional(),
        '@name': text.optional(),
        '@displayValue': text.optional(),
        '@value': text.optional(),
        '@application': text.optional(),
        '@requesterComments': text.optional(),
        '@startDate': epochMs.optional(),
        '@endDate': epochMs.optional(),
    })
    .passthrough()
    .transform(
        (item): ApprovalLine => ({
            operation: item['@operation'],
            attribute: item['@displayName'] ?? item['@name'],
            value: item['@displayValue'] ?? item['@value'],
            application: item['@application'],
            requesterComment: item['@requesterComments'],
            startDate: item['@startDate'],
            endDate: item['@endDate'],
        }),
    );

const workItemNode = z
    .object({
        '@id': text.min(1),
        '@name': text.optional(),
        '@type': text.optional(),
        '@state': text.optional(),
        '@level': text.optional(),
        '@created': epochMs,
        '@expiration': epochMs.optional(),
        '@modified': epochMs.optional(),
        '@targetId': text.optional(),
        '@targetName': text.optional(),
        Owner: referenceHolder,
        Requester: referenceHolder.optional(),
        Description: text.optional(),
        Attributes: z.unknown().optional(),
        WorkItemComments: commentHolder.optional(),
    })
    .passthrough();

type WorkItemNode = z.infer<typeof workItemNode>;

export interface WorkItem {
    type?: string;
    approval: Approval;
}

const attributesMap = z.object({ Map: z.object({ entry: z.array(node) }).passthrough() }).passthrough();
const approvalSetEntry = z.object({ value: z.object({ ApprovalSet: z.object({ ApprovalItem: nodeList }).passthrough() }).passthrough() }).passthrough();

/** The ApprovalItems under Attributes/Map/entry[@key="approvalSet"]/value/ApprovalSet. */
function approvalLines(attributes: unknown): ApprovalLine[] {
    const entries = attributesMap.safeParse(attributes);
    if (!entries.success) return [];
    const items = approvalSetEntry.safeParse(entries.data.Map.entry.find((entry) => entry['@key'] === 'approvalSet'));
    if (!items.success) return [];
    return items.data.value.ApprovalSet.ApprovalItem.flatMap((item) => {
        const line = approvalItemNode.safeParse(item);
        return line.success ? [line.data] : [];
    });
}

function toWorkItem(parsed: WorkItemNode): WorkItem {
    const created = parsed['@created'];
    return {
        type: parsed['@type'],
        approval: {
            source: 'iiq',
            id: parsed['@id'],
            number: parsed['@name'],
            description: parsed.Description,
            approvers: [parsed.Owner],
            requester: parsed.Requester,
            requestee: parsed['@targetId']
                ? { id: parsed['@targetId'], name: parsed['@targetName'] ?? parsed['@targetId'] }
                : undefined,
            createdAt: created,
            changedAt: Math.max(created, parsed['@modified'] ?? created),
            priority: parsed['@level'],
            dueAt: parsed['@expiration'],
            lines: approvalLines(parsed.Attributes),
            comments: parsed.WorkItemComments ?? [],
            completedState: parsed['@state'],
        },
    };
}

function parseDocument(xml: string): Record<string, unknown> {
    let root: XmlElement | null;
    try {
        root = parseXml(withAllowedCharacters(xml), { ignoreUndefinedEntities: true }).root;
    } catch (error) {
        // The parser's message ends with an excerpt of the document on further lines: not for the logs.
        const said = error instanceof XmlError ? error.message.split('\n')[0] : String(error);
        throw new WorkItemXmlError(`malformed XML: ${said}`);
    }
    if (!root) throw new WorkItemXmlError('not an XML document');
    if (FORBIDDEN_NAMES.has(root.name)) throw new WorkItemXmlError(`element name not allowed: ${root.name}`);
    const tree = toTree(root);
    return { [root.name]: LIST_TAGS.has(root.name) ? [tree] : tree };
}

const listNode = z.object({ WorkItem: nodeList.optional() }).passthrough();

export interface WorkItemList {
    workItems: WorkItem[];
    /** Ids (where readable) of WorkItem elements that did not have the shape of a work item. */
    unreadable: string[];
}

/** A plugin `List` response: zero, one or many WorkItem children alike; unreadable items are set aside. */
export function parseWorkItemList(xml: string): WorkItemList {
    const document = parseDocument(xml);
    if (!('List' in document)) throw new WorkItemXmlError('expected a <List> document');
    const list = document.List;
    const children = list === '' ? [] : listNode.safeParse(list);
    if (!Array.isArray(children) && !children.success) throw new WorkItemXmlError('expected <WorkItem> children in <List>');
    const nodes = Array.isArray(children) ? [] : (children.data.WorkItem ?? []);
    const result: WorkItemList = { workItems: [], unreadable: [] };
    for (const candidate of nodes) {
        const parsed = workItemNode.safeParse(candidate);
        if (parsed.success) result.workItems.push(toWorkItem(parsed.data));
        else result.unreadable.push(typeof candidate['@id'] === 'string' ? candidate['@id'] : '(no id)');
    }
    return result;
}

/** A single `<WorkItem>` document (GET object/WorkItem/{id}). */
export function parseWorkItem(xml: string): WorkItem {
    const document = parseDocument(xml);
    const candidate = Array.isArray(document.WorkItem) ? document.WorkItem[0] : undefined;
    const parsed = workItemNode.safeParse(candidate);
    if (!parsed.success) throw new WorkItemXmlError('expected one <WorkItem> document');
    return toWorkItem(parsed.data);
}
