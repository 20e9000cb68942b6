import { Approval, ApprovalCard, SOURCE_TITLES } from '../model';
import { singleLine, truncate } from '../platform/text';
import { describeRequest } from './message';

const MAX_TEXT = 300;
const MAX_NAME = 100;
const MAX_ITEMS = 50;
const MAX_CONFLICTS = 10;
const MAX_SIDE = 5;
/** Well under a table string property's 32 K characters. */
const MAX_CARD_CHARS = 24_000;

/** The approval as an ApprovalCard, bounded so it fits a table column and a listener payload however large the approval. */
export function toApprovalCard(approval: Approval): ApprovalCard {
    const text = (value: string, max = MAX_TEXT) => truncate(singleLine(value), max);
    const name = (value: string) => text(value, MAX_NAME);
    const items = approval.lines.map((line) => ({
        ...(line.operation ? { operation: text(line.operation) } : {}),
        name: text(line.value ?? line.attribute ?? approval.name ?? ''),
        ...(line.application ? { application: text(line.application) } : {}),
    }));
    const card: ApprovalCard = {
        title: text(describeRequest(approval)),
        sourceTitle: SOURCE_TITLES[approval.source],
        ...(approval.requestee ? { requestedFor: text(approval.requestee.name) } : {}),
        ...(approval.requester ? { requestedBy: text(approval.requester.name) } : {}),
        items: items.slice(0, MAX_ITEMS),
        conflicts: (approval.conflicts ?? []).slice(0, MAX_CONFLICTS).map((conflict) => ({
            policy: text(conflict.policy),
            left: conflict.left.slice(0, MAX_SIDE).map(name),
            right: conflict.right.slice(0, MAX_SIDE).map(name),
        })),
        ...(approval.dueAt !== undefined ? { dueAt: approval.dueAt } : {}),
        ...(approval.recommendation ? { recommendation: approval.recommendation } : {}),
    };
    while (JSON.stringify(card).length > MAX_CARD_CHARS && card.items.length > 0) card.items.length = Math.floor(card.items.length / 2);
    const left = items.length - card.items.length;
    return left > 0 ? { ...card, moreItems: left } : card;
}
