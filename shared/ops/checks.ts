import { RestError } from '@azure/data-tables';
import { CheckResult } from '../contract';
import { UpstreamError, WaitingOutRateLimit } from '../platform/errors';
import { withDeadline } from '../platform/http';

/** One preflight check: run within its budget, and a failure explained as its cause and the fix. */

/** What went wrong, and what to change: a setting, a role, a scope or a plugin. */
type Explanation = { cause: string; fix: string };
/** Explains a failed check; `timedOut`: nothing answered within the check's budget. */
export type Explain = (error: unknown, timedOut: boolean) => Explanation;

/** A check's own finding, already explained. */
export class CheckFailure extends Error {
    constructor(readonly explanation: Explanation) {
        super(explanation.cause);
    }
}

class CheckTimeout extends Error {}

/** After its deadline, a check's calls abort on their own; this much later, whatever ignored the deadline is given up. */
const BACKSTOP_GRACE_MS = 250;

export async function attempt(name: string, budgetMs: number, explain: Explain, run: (signal: AbortSignal) => Promise<void>): Promise<CheckResult> {
    const deadline = Date.now() + budgetMs;
    const abort = new AbortController();
    let backstop: NodeJS.Timeout | undefined;
    // For what honours no deadline of ours, such as a credential probing for a managed identity.
    const overrun = new Promise<never>((_, reject) => {
        backstop = setTimeout(() => {
            abort.abort();
            reject(new CheckTimeout());
        }, budgetMs + BACKSTOP_GRACE_MS);
    });
    try {
        await Promise.race([withDeadline(deadline, () => run(abort.signal)), overrun]);
        return { name, ok: true };
    } catch (error) {
        if (error instanceof CheckFailure) return { name, ok: false, ...error.explanation };
        const timedOut = error instanceof CheckTimeout || (statusOf(error) === undefined && Date.now() >= deadline);
        return { name, ok: false, ...explain(error, timedOut) };
    } finally {
        clearTimeout(backstop);
    }
}

export function statusOf(error: unknown): number | undefined {
    if (error instanceof UpstreamError) return error.status;
    if (error instanceof RestError) return error.statusCode;
    return undefined;
}

/** Timeouts, unreachable hosts, 429 and 5xx mean the same for every system; the rest is the system's own. */
export function explainCommon(system: string, urlSetting: string, budgetMs: number, error: unknown, timedOut: boolean): Explanation | undefined {
    if (timedOut) {
        return {
            cause: `no answer from ${system} within HTTP_TIMEOUT_MS (${budgetMs} ms)`,
            fix: `check ${urlSetting} and that this machine can reach it (firewall, proxy, VPN); if ${system} is only slow, raise HTTP_TIMEOUT_MS`,
        };
    }
    const status = statusOf(error);
    if (error instanceof UpstreamError && error.tooLarge) {
        return { cause: `${system} answered more than MAX_RESPONSE_BYTES`, fix: `check that ${urlSetting} points at ${system} itself, not a page in front of it; raise MAX_RESPONSE_BYTES if its answers are really that large` };
    }
    if (error instanceof UpstreamError && status === undefined) return { cause: error.message, fix: `check ${urlSetting} (scheme, host and port) and that this machine can reach it` };
    if (status !== undefined && status >= 300 && status < 400) {
        return { cause: `${system} answered with a redirect (${status}), which the app does not follow`, fix: `set ${urlSetting} to the address it redirects to (often https:// instead of http://, or without a trailing path)` };
    }
    if (error instanceof WaitingOutRateLimit) return { cause: `not tried: ${system} asked the app to wait (429 with Retry-After)`, fix: 'rate limited, try again in a minute' };
    if (status === 429) return { cause: `${system} answered 429`, fix: 'rate limited, try again in a minute' };
    if (status !== undefined && status >= 500) return { cause: `${system} failed (${status})`, fix: `try again in a minute; if it persists, ${system}'s own logs say why` };
    return undefined;
}

/** What the system said, when it said anything an operator can quote. */
export const said = (error: unknown) => (error instanceof UpstreamError && error.detail ? `: ${error.detail}` : '');
