import { z } from 'zod';
import { IiqConfig } from '../config';
import { UpstreamError } from '../platform/errors';
import { HttpAnswer, HttpClient, parseJsonBody, RetryPolicy, withQuery } from '../platform/http';
import { requestToken, TokenCache, TokenGrant } from '../platform/tokens';

/**
 * HTTP access to IdentityIQ and its "Moveworks for SailPoint" plugin: client-credentials token from the
 * shared cache, one retry with a fresh token on 401, and failures turned into messages an admin can act on.
 */

const SYSTEM = 'IdentityIQ';
const PLUGIN_PATH = '/identityiq/plugin/rest/moveworks-plugin';


const identityRow = z.object({ id: z.string(), name: z.string().nullish(), email: z.string().nullish() });
const identityTable = z.object({ objects: z.array(identityRow).nullish() });
const memberTable = z.object({ objects: z.array(z.object({ id: z.string() })).nullish() });

export type IdentityRow = z.infer<typeof identityRow>;

type Query = Record<string, string | number | undefined | (string | number)[]>;

export class PluginClient {
    private readonly tokenKey: string;

    constructor(
        private readonly config: IiqConfig,
        private readonly http: HttpClient,
        private readonly tokens: TokenCache,
    ) {
        this.tokenKey = `iiq:${config.baseUrl}:${config.clientId}`;
    }

    /** Raw XML of a page of objects of one class. */
    async listObjects(className: string, query: Query): Promise<string> {
        const answer = await this.call('GET', `/object/${className}`, query, undefined, 'idempotent');
        return this.expectOk(answer, `list ${className}`).body;
    }

    /** Raw XML of one work item, or undefined when IdentityIQ no longer has it. */
    async getWorkItem(id: string): Promise<string | undefined> {
        const answer = await this.call('GET', `/object/WorkItem/${encodeURIComponent(id)}`, {}, undefined, 'idempotent');
        if (answer.status === 404) return undefined;
        return this.expectOk(answer, 'read the work item').body;
    }

    /** Sets a work item's state as the given approver. Answers the status for the caller to interpret. */
    async putWorkItem(id: string, body: { approver: string; state: 'Finished' | 'Rejected'; comment?: string }): Promise<HttpAnswer> {
        return this.call('PUT', `/object/WorkItem/${encodeURIComponent(id)}`, {}, JSON.stringify(body), 'not-idempotent');
    }

    /** Identities matching `filter` (any, without one), at most `limit` when given. */
    async queryIdentities(filter: string | undefined, limit?: number): Promise<IdentityRow[]> {
        const answer = await this.call('GET', '/table/Identity', { attributes: 'id,name,email', filter, limit }, undefined, 'idempotent');
        const parsed = identityTable.safeParse(parseJsonBody(this.expectOk(answer, 'look up identities').body));
        if (!parsed.success) throw new UpstreamError(SYSTEM, 'IdentityIQ answered an identity lookup with an unexpected shape');
        return parsed.data.objects ?? [];
    }

    /** Ids of a workgroup's members: empty for an identity that is not a workgroup, undefined when unknown. */
    async workgroupMemberIds(identityId: string): Promise<string[] | undefined> {
        const answer = await this.call('GET', `/object/workgroup/${encodeURIComponent(identityId)}/members`, {}, undefined, 'idempotent');
        if (answer.status === 404) return undefined;
        const parsed = memberTable.safeParse(parseJsonBody(this.expectOk(answer, 'list workgroup members').body));
        if (!parsed.success) throw new UpstreamError(SYSTEM, 'IdentityIQ answered a workgroup lookup with an unexpected shape');
        return (parsed.data.objects ?? []).map((member) => member.id);
    }

    /** A token for the plugin, through the cache: with a cache of its own, the caller learns whether IdentityIQ issues one now. */
    token(): Promise<string> {
        return this.tokens.get(this.tokenKey, () => this.fetchToken());
    }

    private async call(method: 'GET' | 'PUT', path: string, query: Query, body: string | undefined, retry: RetryPolicy): Promise<HttpAnswer> {
        const url = withQuery(`${this.config.baseUrl}${PLUGIN_PATH}${path}`, query);
        const send = (token: string) =>
            this.http.send({
                system: SYSTEM,
                method,
                url,
                retry,
                body,
                headers: {
                    Authorization: `Bearer ${token}`,
                    Accept: path.startsWith('/table') || path.endsWith('/members') ? 'application/json' : 'application/xml',
                    ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
                },
            });
        const answer = await this.tokens.withToken(this.tokenKey, () => this.fetchToken(), send);
        if (answer.status === 401) {
            throw new UpstreamError(SYSTEM, 'IdentityIQ refused the app\'s token twice: check IIQ_CLIENT_ID and IIQ_CLIENT_SECRET and the API client in IdentityIQ', 401);
        }
        return answer;
    }

    private fetchToken(): Promise<TokenGrant> {
        const basic = Buffer.from(`${this.config.clientId}:${this.config.clientSecret}`).toString('base64');
        return requestToken(
            this.http,
            {
                system: SYSTEM,
                method: 'POST',
                url: `${this.config.baseUrl}/identityiq/oauth2/token?grant_type=client_credentials`,
                retry: 'idempotent',
                body: 'grant_type=client_credentials',
                headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
            },
            'IIQ_CLIENT_ID and IIQ_CLIENT_SECRET',
        );
    }

    private expectOk(answer: HttpAnswer, action: string): HttpAnswer {
        if (answer.status >= 200 && answer.status < 300) return answer;
        throw new UpstreamError(SYSTEM, describeFailure(answer.status, action), answer.status);
    }
}

export function describeFailure(status: number, action: string): string {
    if (status === 403) {
        return `IdentityIQ refused to ${action} (403): the plugin's "allowWrites" setting may be off, or the service account lacks the "Moveworks Plugin Service Account" capability`;
    }
    if (status === 404) return `IdentityIQ could not ${action} (404): check IIQ_BASE_URL and that the Moveworks plugin is installed`;
    if (status === 429) return `IdentityIQ is rate limiting the app; it will try again`;
    if (status >= 500) return `IdentityIQ failed to ${action} (${status}); try again in a minute`;
    return `IdentityIQ could not ${action} (${status})`;
}
