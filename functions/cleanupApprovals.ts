import { app, InvocationContext, Timer } from '@azure/functions';
import { getApp } from '../shared/app';

export async function cleanupApprovals(_timer: Timer, _context: InvocationContext): Promise<void> {
    await getApp().cleanup();
}

app.timer('cleanupApprovals', {
    schedule: '%CLEANUP_SCHEDULE%',
    runOnStartup: false,
    useMonitor: true,
    handler: cleanupApprovals,
});
