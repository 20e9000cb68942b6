import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { getApp } from '../shared/app';
import { openApiDocument } from '../shared/api/openapi';

export async function openapi(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
    // The document describes the routes even when a setting is bad; only the bearer scheme depends on one.
    const caller = (() => {
        try {
            return getApp().config.caller;
        } catch {
            return undefined;
        }
    })();
    return { status: 200, jsonBody: openApiDocument({ callerTokens: caller !== undefined, emailFromToken: caller?.userEmailClaim !== undefined }) };
}

app.http('openapi', {
    methods: ['GET'],
    authLevel: 'anonymous',
    route: 'openapi.json',
    handler: openapi,
});
