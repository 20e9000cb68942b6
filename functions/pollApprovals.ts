import { app, InvocationContext, Timer } from '@azure/functions';
import { appFor } from '../shared/api/appFor';

export async function pollApprovals(timer: Timer, context: InvocationContext): Promise<void> {
    if (timer.isPastDue) context.warn('pollApprovals is running late');
    await appFor(context).poll();
}

app.timer('pollApprovals', {
    schedule: '%POLL_SCHEDULE%',
    runOnStartup: false,
    useMonitor: false,
    handler: pollApprovals,
});
