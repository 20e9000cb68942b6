import { JWTPayload } from 'jose';
import { MintOptions } from '../../dev/simulator/callerIssuer';
import { FunctionHost, startFunctionHost } from './functionHost';
import { Harness, startHarness } from './harness';

export const AUDIENCE = 'api://sailpoint-approvals';
export const FUNCTION_KEY = 'k3y';
export const JAMIE = 'jamie.rivera@example.com';

export interface Answer {
    status: number;
    code?: string;
    body: any;
    /** The WWW-Authenticate header. */
    challenge: string | null;
}

/**
 * The app behind the local host with a function key and caller tokens from the simulator's issuer, one per
 * spec (stopped after each). `begin` answers the id of an IdentityIQ work item Jamie owns.
 */
export function callerApp() {
    let harness: Harness | undefined;
    let host: FunctionHost | undefined;
    afterEach(async () => {
        await host?.stop();
        await harness?.stop();
        host = harness = undefined;
    });
    const fixture = {
        get h(): Harness {
            return harness!;
        },
        get fn(): FunctionHost {
            return host!;
        },
        /** The settings that turn caller tokens on, with `extra` on top. */
        settings(extra: Record<string, string> = {}): Record<string, string> {
            return { ...harness!.settings, FUNCTION_KEY, CALLER_JWT_ISSUER: harness!.simulator.callers.issuer, CALLER_JWT_AUDIENCE: AUDIENCE, ...extra };
        },
        async begin(extra: Record<string, string> = {}): Promise<string> {
            harness = await startHarness();
            host = await startFunctionHost(fixture.settings(extra));
            await host.pollNow();
            return harness.sample.workItems.roleRequest.id;
        },
        /** Serves the app again with other settings, on the same table and simulator. */
        async restart(extra: Record<string, string> = {}): Promise<void> {
            await host?.stop();
            host = await startFunctionHost(fixture.settings(extra));
        },
        token(claims: JWTPayload = {}, options: MintOptions = {}): Promise<string> {
            return harness!.simulator.callers.mint({ sub: 'moveworks-connector', aud: AUDIENCE, azp: 'moveworks-client', ...claims }, options);
        },
        async bearer(claims?: JWTPayload, options?: MintOptions): Promise<string> {
            return `Bearer ${await fixture.token(claims, options)}`;
        },
        /** A POST with the function key and these headers. */
        async post(path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
            const response = await fetch(`${host!.url}${path}`, { method: 'POST', headers: { 'x-functions-key': FUNCTION_KEY, ...headers }, body });
            const text = await response.text();
            const parsed = text ? JSON.parse(text) : undefined;
            return { status: response.status, code: parsed?.error?.code, body: parsed, challenge: response.headers.get('www-authenticate') };
        },
        /** An approve as JSON with this Authorization header (or none). */
        approve(id: string, authorization: string | undefined, body: unknown = { approverEmail: JAMIE }, headers: Record<string, string> = {}, query = ''): Promise<Answer> {
            return fixture.post(`/api/approvals/${id}/approve${query}`, { 'content-type': 'application/json', ...(authorization ? { authorization } : {}), ...headers }, JSON.stringify(body));
        },
        /** The newest audit entry of an approval. */
        async lastAuditOf(approvalId: string) {
            const { entries } = await harness!.newApp(fixture.settings()).audit.page({ approvalId, limit: 1 });
            return entries[0];
        },
    };
    return fixture;
}
