import { app, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { answerConnection } from '../shared/api/connectionRoutes';

export async function linkIscConnection(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
    return answerConnection(request, context, (connections, email) => connections.link(email));
}

app.http('linkIscConnection', {
    methods: ['POST'],
    authLevel: 'function',
    route: 'connections/isc/link',
    handler: linkIscConnection,
});
