import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { openApiDocument } from '../shared/openapi';

export async function openapi(_request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
    return { status: 200, jsonBody: openApiDocument() };
}

app.http('openapi', {
    methods: ['GET'],
    authLevel: 'anonymous',
    route: 'openapi.json',
    handler: openapi,
});
