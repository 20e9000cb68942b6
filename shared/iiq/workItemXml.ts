import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { Approval, ApprovalComment, ApprovalLine, Reference } from '../model';

/**
 * IdentityIQ WorkItem XML -> typed approvals, through fast-xml-parser. A page must pass the validator and
 * hold exactly one root element before it is read: a truncated page is refused, never read as a shorter
 * list. No DTD is read and no entity expanded (`processEntities: false`); the five predefined entities and
 * numeric character references, which is all IdentityIQ's serializer emits, are decoded here, once, and
 * any other entity is kept as written (the parser refuses a DOCTYPE that declares an external entity).
 */

const LIST_TAGS = new Set(['WorkItem', 'ApprovalItem', 'Comment', 'EntitlementComment', 'entry', 'Reference', 'OwnerHistory']);

const CDATA = '#cdata';
const TEXT = '#text';
const ATTRIBUTES = ':@';

/**
 * fast-xml-parser refuses an element named `constructor` or `prototype` outright, though the tree below sets
 * only own keys. Renamed, as it renames `hasOwnProperty` and the like, such an element no longer costs the
 * whole page; `__proto__` is still refused.
 */
const RENAMED_TAGS: Record<string, string> = { constructor: '__constructor', prototype: '__prototype' };

const parser = new XMLParser({
    // Document order, so that text and CDATA read in the order written.
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    // Ids such as 000123 or 1e5 stay strings.
    parseTagValue: false,
    parseAttributeValue: false,
    // Whitespace next to CDATA is content: an element's text is trimmed once put together, as before.
    trimValues: false,
    cdataPropName: CDATA,
    processEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    transformTagName: (name) => (Object.hasOwn(RENAMED_TAGS, name) ? RENAMED_TAGS[name] : name),
});

/** Characters XML 1.0 does not allow, raw: C0 controls but tab, newline and return; U+FFFE, U+FFFF; lone surrogates. */
const DISALLOWED_CHARACTER = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Raw whitespace an attribute value reads as a space (XML 1.0 §3.3.3); written as a reference, it is kept. */
const ATTRIBUTE_WHITESPACE = /[\t\n\r]/g;
const REFERENCE = /&(?:(lt|gt|amp|apos|quot)|#x([0-9a-fA-F]+)|#([0-9]+));/g;
const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

const isXmlCharacter = (code: number) =>
    code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);

/**
 * Text or an attribute value as written -> as meant, in one pass so `&amp;lt;` reads `&lt;`. A reference to a
 * character XML does not allow reads U+FFFD, as a raw one does (see parseDocument).
 */
function decodeReferences(value: string): string {
    if (!value.includes('&')) return value;
    return value.replace(REFERENCE, (_reference, entity: string | undefined, hex: string | undefined, decimal: string | undefined) => {
        if (entity) return PREDEFINED_ENTITIES[entity];
        const code = hex ? parseInt(hex, 16) : parseInt(decimal ?? '', 10);
        return isXmlCharacter(code) ? String.fromCodePoint(code) : '\uFFFD';
    });
}

/** fast-xml-parser's `preserveOrder` output: `{ [name]: children, ':@'?: attributes }`, `{ '#text': text }` or `{ '#cdata': [{ '#text': text }] }`. */
type OrderedNode = Record<string, unknown>;

type XmlTree = string | { [name: string]: XmlTree | XmlTree[] };

/** The name of an ordered node: an element's, TEXT or CDATA. */
const nodeName = (node: OrderedNode) => Object.keys(node).find((key) => key !== ATTRIBUTES) ?? '';

/**
 * An element as plain data: its text (trimmed) when it has neither attributes nor child elements, else an
 * object of `@attribute` values and child elements by name, an array for a repeated name or a LIST_TAGS one.
 */
function toTree(children: OrderedNode[], attributes: unknown): XmlTree {
    const tree: Record<string, XmlTree | XmlTree[]> = {};
    let structured = false;
    for (const [name, value] of Object.entries((attributes ?? {}) as Record<string, string>)) {
        tree[name] = decodeReferences(value.replace(ATTRIBUTE_WHITESPACE, ' ')).trim();
        structured = true;
    }
    let text = '';
    for (const child of children) {
        const name = nodeName(child);
        if (name === TEXT) {
            text += decodeReferences(String(child[TEXT]));
        } else if (name === CDATA) {
            text += (child[CDATA] as OrderedNode[]).map((part) => String(part[TEXT])).join('');
        } else {
            structured = true;
            const value = toTree(child[name] as OrderedNode[], child[ATTRIBUTES]);
            const existing = Object.hasOwn(tree, name) ? tree[name] : undefined;
            if (Array.isArray(existing)) existing.push(value);
            else if (existing !== undefined) tree[name] = [existing, value];
            else tree[name] = LIST_TAGS.has(name) ? [value] : value;
        }
    }
    text = text.trim();
    if (!structured) return text;
    if (text !== '') tree[TEXT] = text;
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

/**
 * The document's root element as `{ [name]: tree }`. Each character XML does not allow is read as U+FFFD
 * first: a serializer that lets a control character of one description through would otherwise make every
 * page holding it unreadable, and no approval on it would ever be notified.
 */
function parseDocument(xml: string): Record<string, unknown> {
    const readable = xml.replace(DISALLOWED_CHARACTER, '\uFFFD');
    // The parser reads what it can of a broken document: only the validator refuses an unclosed root.
    const validation = XMLValidator.validate(readable);
    if (validation !== true) throw new WorkItemXmlError(`malformed XML: ${validation.err.msg} (line ${validation.err.line})`);
    let nodes: OrderedNode[];
    try {
        nodes = parser.parse(readable) as OrderedNode[];
    } catch (error) {
        throw new WorkItemXmlError(`malformed XML: ${error instanceof Error ? error.message : String(error)}`);
    }
    // The validator accepts a second root element after the first; a page is one element.
    const name = nodes.length === 1 ? nodeName(nodes[0]) : '';
    if (name === '' || name === TEXT || name === CDATA) throw new WorkItemXmlError('malformed XML: expected one root element');
    const [root] = nodes;
    const tree = toTree(root[name] as OrderedNode[], root[ATTRIBUTES]);
    return { [name]: LIST_TAGS.has(name) ? [tree] : tree };
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
