import { z } from 'zod';
import { Approval, Recommendation } from '../model';
import { mapLimited } from '../platform/concurrency';
import { UpstreamError } from '../platform/errors';
import { withDeadline } from '../platform/http';
import { errorMessage, Logger } from '../platform/log';
import { batchesOf } from '../platform/paging';
import { truncate } from '../platform/text';
import { IscClient, RecommendationRequest } from './client';

/**
 * Identity AI's recommendation for new access-request approvals (ISC_RECOMMENDATIONS), asked in batches and
 * never in the way: the answer has a deadline of its own inside the poll's, a failure costs the messages only
 * their recommendation line, and a tenant that refuses the call (no Identity AI, or a credential without
 * `iai:decisions:manage`) is asked again only after an hour.
 */

/** Requests in one call: 120 new approvals cost three calls. */
export const RECOMMENDATIONS_PER_CALL = 50;
/** The batches of one poll's page asked at once. */
const CALLS_AT_ONCE = 3;
/** How long the messages of a page wait for their recommendations. */
export const RECOMMENDATION_DEADLINE_MS = 3_000;
/** After a refusal (403, 404) the tenant is asked again this much later. */
export const REFUSED_PAUSE_MS = 3_600_000;
/** The sentences shown of each recommendation, and the length of each. */
const REASONS_SHOWN = 2;
const MAX_REASON_LENGTH = 200;
/** Past its deadline, a call that ignored it (a hung token fetch) is given up this much later. */
const BACKSTOP_GRACE_MS = 250;

const VERDICTS = ['YES', 'NO', 'MAYBE'] as const;

const answerJson = z.object({
    response: z.array(
        z
            .object({
                request: z.object({ identityId: z.string().nullish(), item: z.object({ id: z.string().nullish() }).passthrough().nullish() }).passthrough().nullish(),
                recommendation: z.string().nullish(),
                interpretations: z.array(z.unknown()).nullish(),
            })
            .passthrough(),
    ),
});

const pairKey = (identityId: string, itemId: string) => `${identityId}\n${itemId}`;

/** One recommendation as shown: YES, NO or MAYBE with its first sentences; NOT_FOUND or anything unknown is none. */
function toRecommendation(entry: z.infer<typeof answerJson>['response'][number]): Recommendation | undefined {
    const verdict = VERDICTS.find((known) => known === entry.recommendation);
    if (!verdict) return undefined;
    const reasons = (entry.interpretations ?? []).filter((text): text is string => typeof text === 'string' && text.trim() !== '');
    return { verdict, reasons: reasons.slice(0, REASONS_SHOWN).map((text) => truncate(text.replace(/\s+/g, ' ').trim(), MAX_REASON_LENGTH)) };
}

/** Identity AI's answers by identity and access item; an answer ISC did not tie to its request is left out. */
export function fromIscRecommendations(json: unknown): Map<string, Recommendation> {
    const parsed = answerJson.safeParse(json);
    if (!parsed.success) throw new UpstreamError('Identity Security Cloud', 'Identity Security Cloud answered a recommendation request with an unexpected shape');
    const found = new Map<string, Recommendation>();
    for (const entry of parsed.data.response) {
        const identityId = entry.request?.identityId;
        const itemId = entry.request?.item?.id;
        const recommendation = toRecommendation(entry);
        if (identityId && itemId && recommendation) found.set(pairKey(identityId, itemId), recommendation);
    }
    return found;
}

export class IscRecommendations {
    private refusedUntil = 0;

    constructor(
        private readonly client: IscClient,
        private readonly log: Logger,
        private readonly now: () => number = Date.now,
    ) {}

    /** The recommendation of each access-request approval that has one, by approval id; what failed is left out. */
    async for(approvals: Approval[]): Promise<Map<string, Recommendation>> {
        const asked = approvals.filter((approval) => approval.kind === 'access-request' && approval.requestee && approval.accessItem);
        if (asked.length === 0 || this.now() < this.refusedUntil) return new Map();
        const requests = [...new Map(asked.map((approval) => [pairKey(approval.requestee!.id, approval.accessItem!.id), toRequest(approval)])).values()];
        const answers = new Map<string, Recommendation>();
        let backstop: NodeJS.Timeout | undefined;
        const givenUp = new Promise<'given up'>((resolve) => (backstop = setTimeout(() => resolve('given up'), RECOMMENDATION_DEADLINE_MS + BACKSTOP_GRACE_MS)));
        const asking = withDeadline(Date.now() + RECOMMENDATION_DEADLINE_MS, () =>
            mapLimited(batchesOf(requests, RECOMMENDATIONS_PER_CALL), CALLS_AT_ONCE, async (batch) => {
                try {
                    for (const [pair, recommendation] of fromIscRecommendations(await this.client.recommendations(batch))) answers.set(pair, recommendation);
                } catch (error) {
                    this.failed(error, batch.length);
                }
            }),
        );
        // The answers that arrived in time are used; a batch still out past the backstop is left to finish unread.
        if ((await Promise.race([asking, givenUp])) === 'given up') this.log.warn('isc.recommendations.failed', { requests: requests.length, error: 'no answer within the deadline' });
        clearTimeout(backstop);
        return new Map(
            asked.flatMap((approval) => {
                const recommendation = answers.get(pairKey(approval.requestee!.id, approval.accessItem!.id));
                return recommendation ? [[approval.id, recommendation] as const] : [];
            }),
        );
    }

    /** A refusal (no Identity AI, or a credential without its scope) is logged once and pauses the asking; anything else is logged. */
    private failed(error: unknown, requests: number): void {
        const status = error instanceof UpstreamError ? error.status : undefined;
        if (status !== 403 && status !== 404) {
            this.log.warn('isc.recommendations.failed', { requests, status, error: errorMessage(error) });
            return;
        }
        if (this.now() < this.refusedUntil) return;
        this.refusedUntil = this.now() + REFUSED_PAUSE_MS;
        this.log.warn('isc.recommendations.refused', { status, askAgainInMinutes: REFUSED_PAUSE_MS / 60_000, error: errorMessage(error) });
    }
}

const toRequest = (approval: Approval): RecommendationRequest => ({ identityId: approval.requestee!.id, item: { id: approval.accessItem!.id, type: approval.accessItem!.type } });
