import { app } from '@azure/functions';
import { answerConnectCallback } from '../shared/api/connectionRoutes';

export const iscConnectCallback = answerConnectCallback;

app.http('iscConnectCallback', {
    methods: ['GET'],
    // SailPoint redirects the browser here: the single-use state and the browser's cookie are the credential.
    authLevel: 'anonymous',
    route: 'connections/isc/callback',
    handler: iscConnectCallback,
});
