import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerConnection } from '../shared/api/connectionRoutes';

export async function iscConnectionStatus(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerConnection(request, context, (connections, email) => connections.status(email));
}

app.http('iscConnectionStatus', {
    methods: ['GET'],
    authLevel: 'function',
    route: 'connections/isc',
    handler: iscConnectionStatus,
});
