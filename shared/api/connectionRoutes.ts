import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getApp } from '../app';
import { clearedFlowCookie, ConnectRefused, FLOW_COOKIE } from '../connections/connect';
import { Connections } from '../connections/connections';
import { escapeHtml } from '../moveworks/escape';
import { actingEmail } from '../platform/email';
import { notFound, UpstreamError } from '../platform/errors';
import { errorMessage, jsonLogger } from '../platform/log';
import { parseConnectionInput } from './actionInput';
import { toErrorAnswer } from './httpAnswers';
import { idempotencyKeyOf, idempotently } from './idempotency';

/**
 * The routes of the approvers' ISC connections (ISC_DECIDE_AS=user). The three JSON routes are guarded like
 * the actions (function key; a caller token and approver_mismatch when caller tokens are on). The two browser
 * routes are anonymous to Azure: the link's signed ticket, the single-use state and the cookie are the credential.
 */

const connectionsOff = () => notFound('connections_off', 'Approvers connect their own SailPoint account only when ISC_DECIDE_AS=user.');

function connectionsOf(connections: Connections | undefined): Connections {
    if (!connections) throw connectionsOff();
    return connections;
}

/**
 * A JSON connection route: who is asking (body or query), then `run`. A POST (link, disconnect) runs once
 * per Idempotency-Key, as the actions do (see idempotency.ts); the key binds the route and the approver.
 */
export async function answerConnection(
    request: HttpRequest,
    context: InvocationContext,
    run: (connections: Connections, email: string) => Promise<object>,
): Promise<HttpResponseInit> {
    const log = jsonLogger(context);
    try {
        const app = getApp();
        const caller = await app.authenticate(request.headers.get('authorization'));
        if (request.method === 'GET') {
            const email = actingEmail(request.query.get('approverEmail') ?? undefined, caller?.email, 'approverEmail');
            return { status: 200, jsonBody: await run(connectionsOf(app.connections), email) };
        }
        const key = idempotencyKeyOf(request);
        const email = await parseConnectionInput(request, caller?.email);
        // Checked before a key is claimed: a setting, not the request's business, so never kept as its answer.
        const connections = connectionsOf(app.connections);
        const keyed = { route: context.functionName, approverEmail: email };
        const { answer } = await idempotently(app, key, keyed, log, async () => {
            try {
                return { status: 200, jsonBody: await run(connections, email) };
            } catch (error) {
                return toErrorAnswer(error, log);
            }
        });
        return answer;
    } catch (error) {
        return toErrorAnswer(error, log);
    }
}

/** Opening the connect link: 302 to SailPoint's sign-in, with the cookie that binds the sign-in to this browser. */
export async function answerConnectStart(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    try {
        const { location, cookie } = await connectionsOf(getApp().connections).start(request.query.get('ticket') ?? '');
        return { status: 302, headers: { Location: location, 'Set-Cookie': cookie, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' } };
    } catch (error) {
        return browserRefusal(error, context);
    }
}

/** SailPoint's redirect back: the connection is made, or a page says why not. */
export async function answerConnectCallback(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    try {
        const connections = connectionsOf(getApp().connections);
        const query = { code: request.query.get('code') ?? undefined, state: request.query.get('state') ?? undefined, error: request.query.get('error') ?? undefined };
        const { name } = await connections.finish(query, flowCookieOf(request.headers.get('cookie')));
        return page(200, `Connected as ${name}. You can close this tab and approve in chat.`, { 'Set-Cookie': clearedFlowCookie(connections.settings) });
    } catch (error) {
        return browserRefusal(error, context);
    }
}

function browserRefusal(error: unknown, context: InvocationContext): HttpResponseInit {
    if (error instanceof ConnectRefused) return page(error.status, error.reason);
    if (error instanceof UpstreamError) {
        jsonLogger(context).warn('connection.upstream_failed', { status: error.status, error: errorMessage(error) });
        return page(502, 'SailPoint could not be reached to finish connecting your account. Open the connect link from chat again in a minute.');
    }
    const answer = toErrorAnswer(error, jsonLogger(context));
    const body = answer.jsonBody as { error: { message: string } };
    return page(answer.status ?? 500, body.error.message);
}

/** A small page: the sentence, escaped, and nothing that could run. */
function page(status: number, sentence: string, headers: Record<string, string> = {}): HttpResponseInit {
    return {
        status,
        headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'none'", 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', ...headers },
        body: `<!doctype html><html><head><meta charset="utf-8"><title>SailPoint connection</title></head><body><p>${escapeHtml(sentence)}</p></body></html>`,
    };
}

function flowCookieOf(header: string | null): string | undefined {
    for (const part of (header ?? '').split(';')) {
        const [name, ...value] = part.trim().split('=');
        if (name === FLOW_COOKIE) return value.join('=') || undefined;
    }
    return undefined;
}

