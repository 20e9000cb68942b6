import { z } from 'zod';
import { Approval, Recommendation, RECOMMENDATION_VERDICTS } from '../model';
import { mapLimited } from '../platform/concurrency';
import { UpstreamError } from '../platform/errors';
import { HttpAnswer, parseJsonBody, retryAfterMs, withDeadline } from '../platform/http';
import { errorMessage, Logger } from '../platform/log';
import { batchesOf } from '../platform/paging';
import { detached, singleLine, truncate } from '../platform/text';
import { IscClient, iscFailureDetail, RecommendationRequest } from './client';

/**
 * Identity AI's recommendation for new access-request approvals (ISC_RECOMMENDATIONS), asked in batches and
 * never in the way: the answer has a deadline of its own inside the poll's, a failure costs the messages only
 * their recommendation line, and whatever keeps failing is not asked again for a while:
 * - a refusal (401, 403, 404: no Identity AI, or a credential without `iai:decisions:manage`): an hour;
 * - a 429: as its Retry-After says, without pausing the app's other ISC calls;
 * - no answer within the deadline: a few minutes, so a slow tenant delays one page of messages, not every page.
 */

/** Requests in one call: 120 new approvals cost three calls. */
const RECOMMENDATIONS_PER_CALL = 50;
/** The batches of one page asked at once. */
const CALLS_AT_ONCE = 3;
/** How long the messages of a page wait for their recommendations. */
const RECOMMENDATION_DEADLINE_MS = 3_000;
/** After a refusal, the tenant is asked again this much later. */
const REFUSED_PAUSE_MS = 3_600_000;
/** After an answer that did not come in time, the tenant is asked again this much later. */
const SLOW_PAUSE_MS = 5 * 60_000;
/** The sentences shown of each recommendation, and the length of each. */
const REASONS_SHOWN = 2;
const MAX_REASON_LENGTH = 200;
/** Past its deadline, a call that ignored it (a hung token fetch) is given up this much later. */
const BACKSTOP_GRACE_MS = 250;
/** Approvals asked about, remembered so that one ISC still lists after it was notified (a decision ISC is carrying out) is not asked again. */
const REMEMBERED_IDS = 20_000;

const REFUSAL_FIX = "the tenant needs Identity AI, and ISC_CLIENT_ID's personal access token the scope iai:decisions:manage; or set ISC_RECOMMENDATIONS=off";

const answerEntry = z
    .object({
        request: z.object({ identityId: z.string(), item: z.object({ id: z.string() }).passthrough() }).passthrough(),
        recommendation: z.string(),
        interpretations: z.array(z.unknown()).nullish(),
    })
    .passthrough();

const pairKey = (identityId: string, itemId: string) => `${identityId}\n${itemId}`;

/** One recommendation as shown: YES, NO or MAYBE with its first sentences; NOT_FOUND or anything unknown is none. */
function toRecommendation(entry: z.infer<typeof answerEntry>): Recommendation | undefined {
    const verdict = RECOMMENDATION_VERDICTS.find((known) => known === entry.recommendation);
    if (!verdict) return undefined;
    const reasons = (entry.interpretations ?? []).filter((text): text is string => typeof text === 'string' && text.trim() !== '');
    return { verdict, reasons: reasons.slice(0, REASONS_SHOWN).map((text) => truncate(singleLine(text), MAX_REASON_LENGTH)) };
}

/** Identity AI's answers by identity and access item; an entry that cannot be read, or that ISC did not tie to its request, is left out. */
export function fromIscRecommendations(json: unknown): Map<string, Recommendation> {
    const entries = typeof json === 'object' && json !== null && Array.isArray((json as { response?: unknown }).response) ? ((json as { response: unknown[] }).response) : [];
    const found = new Map<string, Recommendation>();
    for (const entry of entries) {
        const parsed = answerEntry.safeParse(entry);
        const recommendation = parsed.success ? toRecommendation(parsed.data) : undefined;
        if (parsed.success && recommendation) found.set(pairKey(parsed.data.request.identityId, parsed.data.request.item.id), recommendation);
    }
    return found;
}

type Pause = { until: number; why: 'refused' | 'rate-limited' | 'slow' };

export class IscRecommendations {
    private paused?: Pause;
    private readonly asked = new Set<string>();

    constructor(
        private readonly client: IscClient,
        private readonly log: Logger,
        private readonly now: () => number = Date.now,
    ) {}

    /** The recommendation of each new access request that has one, by approval id; what failed is left out. */
    async for(approvals: Approval[]): Promise<Map<string, Recommendation>> {
        if (this.paused && this.now() < this.paused.until) return new Map();
        const asked = approvals.filter((approval) => approval.kind === 'access-request' && approval.requestee && approval.accessItem && !this.asked.has(approval.id));
        if (asked.length === 0) return new Map();
        this.remember(asked.map((approval) => approval.id));
        const requests = [...new Map(asked.map((approval) => [pairKey(approval.requestee!.id, approval.accessItem!.id), toRequest(approval)])).values()];
        const answers = new Map<string, Recommendation>();
        let backstop: NodeJS.Timeout | undefined;
        const givenUp = new Promise<'given up'>((resolve) => (backstop = setTimeout(() => resolve('given up'), RECOMMENDATION_DEADLINE_MS + BACKSTOP_GRACE_MS)));
        const asking = withDeadline(Date.now() + RECOMMENDATION_DEADLINE_MS, () =>
            mapLimited(batchesOf(requests, RECOMMENDATIONS_PER_CALL), CALLS_AT_ONCE, async (batch) => {
                // A batch whose turn comes after a refusal or a 429 of another is not sent.
                if (this.paused && this.now() < this.paused.until) return;
                try {
                    const answer = await this.client.recommendations(batch);
                    if (answer.status >= 200 && answer.status < 300) {
                        for (const [pair, recommendation] of fromIscRecommendations(parseJsonBody(answer.body))) answers.set(pair, recommendation);
                    } else this.refused(answer, batch.length);
                } catch (error) {
                    // A 401 after the token was fetched again (the token cache retries once) is a refusal too.
                    if (error instanceof UpstreamError && error.status === 401) this.refused({ status: 401, body: '', headers: {} }, batch.length);
                    else this.pause({ until: this.now() + SLOW_PAUSE_MS, why: 'slow' }, 'isc.recommendations.failed', { requests: batch.length, error: errorMessage(error) });
                }
            }),
        );
        // The answers that arrived in time are used; a batch still out past the backstop is left to finish unread.
        if ((await Promise.race([asking, givenUp])) === 'given up') {
            this.pause({ until: this.now() + SLOW_PAUSE_MS, why: 'slow' }, 'isc.recommendations.failed', { requests: requests.length, error: 'no answer within the deadline' });
        }
        clearTimeout(backstop);
        return new Map(
            asked.flatMap((approval) => {
                const recommendation = answers.get(pairKey(approval.requestee!.id, approval.accessItem!.id));
                return recommendation ? [[approval.id, recommendation] as const] : [];
            }),
        );
    }

    /** ISC's answer other than 2xx: a refusal pauses for an hour, a 429 as long as it asks, anything else is logged. */
    private refused(answer: HttpAnswer, requests: number): void {
        const detail = iscFailureDetail(answer) || undefined;
        if ([401, 403, 404].includes(answer.status)) {
            this.pause({ until: this.now() + REFUSED_PAUSE_MS, why: 'refused' }, 'isc.recommendations.refused', { status: answer.status, detail, fix: REFUSAL_FIX, askAgainInMinutes: REFUSED_PAUSE_MS / 60_000 });
        } else if (answer.status === 429) {
            const waitMs = Math.min(REFUSED_PAUSE_MS, retryAfterMs(answer.headers['retry-after']) ?? 60_000);
            this.pause({ until: this.now() + waitMs, why: 'rate-limited' }, 'isc.recommendations.rate_limited', { status: 429, askAgainInSeconds: Math.ceil(waitMs / 1000) });
        } else {
            this.log.warn('isc.recommendations.failed', { requests, status: answer.status, detail });
        }
    }

    /** Stops asking until `pause.until`, logging it once: the batches of one page that fail alike are one event. */
    private pause(pause: Pause, event: string, properties: Record<string, string | number | undefined>): void {
        const already = this.paused && this.now() < this.paused.until && this.paused.why === pause.why;
        this.paused = pause;
        if (!already) this.log.warn(event, properties);
    }

    private remember(ids: string[]): void {
        for (const id of ids) this.asked.add(detached(id));
        // Oldest first out: a Set keeps insertion order.
        for (const id of this.asked) {
            if (this.asked.size <= REMEMBERED_IDS) break;
            this.asked.delete(id);
        }
    }
}

const toRequest = (approval: Approval): RecommendationRequest => ({ identityId: approval.requestee!.id, item: { id: approval.accessItem!.id, type: approval.accessItem!.type } });
