import { app, InvocationContext, Timer } from '@azure/functions';
import { appFor } from '../shared/api/appFor';

export async function cleanupApprovals(_timer: Timer, context: InvocationContext): Promise<void> {
    await appFor(context).cleanup();
}

app.timer('cleanupApprovals', {
    schedule: '%CLEANUP_SCHEDULE%',
    runOnStartup: false,
    useMonitor: true,
    handler: cleanupApprovals,
});
