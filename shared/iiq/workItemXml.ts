import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { Approval, ApprovalComment, ApprovalLine, Reference } from '../model';

/**
 * IdentityIQ WorkItem XML -> typed approvals. Entity processing is off (the DOCTYPE is never read and no
 * declared entity is expanded); only the five predefined entities and numeric character references are
 * decoded, which is all IdentityIQ's serializer emits.
 */

const LIST_TAGS = new Set(['WorkItem', 'ApprovalItem', 'Comment', 'EntitlementComment', 'entry', 'Reference', 'OwnerHistory']);

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function decodeCharacterReferences(text: string): string {
    return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (whole, name: string) => {
        if (name[0] !== '#') return PREDEFINED[name];
        const code = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    });
}

const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (name) => LIST_TAGS.has(name),
    attributeValueProcessor: (_name, value) => decodeCharacterReferences(value),
    tagValueProcessor: (_name, value) => decodeCharacterReferences(value),
});

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
    let document: unknown;
    try {
        document = parser.parse(xml, true);
    } catch (error) {
        throw new WorkItemXmlError(`malformed XML: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (typeof document !== 'object' || document === null) throw new WorkItemXmlError('not an XML document');
    return document as Record<string, unknown>;
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
