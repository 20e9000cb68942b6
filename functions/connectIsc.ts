import { app } from '@azure/functions';
import { answerConnectStart } from '../shared/api/connectionRoutes';

export const connectIsc = answerConnectStart;

app.http('connectIsc', {
    methods: ['GET'],
    // Opened in the approver's browser: the link's signed ticket is the credential, not a function key.
    authLevel: 'anonymous',
    route: 'connections/isc/connect',
    handler: connectIsc,
});
