import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerConnection } from '../shared/api/connectionRoutes';

export async function disconnectIscConnection(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerConnection(request, context, async (connections, email) => ({ disconnected: await connections.disconnect(email) }));
}

app.http('disconnectIscConnection', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'connections/isc/disconnect',
    handler: disconnectIscConnection,
});
