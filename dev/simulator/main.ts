import { seedIscSampleData, seedSampleData } from './sampleData';
import { iscApiVersionFrom, moveworksDeliveryFrom } from './layout';
import { Simulator } from './simulator';

/**
 * `npm run simulator`: the bundled IdentityIQ + Moveworks simulator on its own, with the sample approvals,
 * for running the app under Azure Functions Core Tools (`func start`) without a real IdentityIQ.
 */
async function main(): Promise<void> {
    // Both Moveworks paths are always served: this picks the one the printed settings point the app at.
    const delivery = moveworksDeliveryFrom(process.env.SIMULATOR_MOVEWORKS_DELIVERY);
    const simulator = new Simulator({
        sources: ['iiq', 'isc'],
        // The ISC API layout it serves: v1 (SailPoint's per-service layout, the app's default) or a year-based one.
        iscApiVersion: iscApiVersionFrom(process.env.SIMULATOR_ISC_API_VERSION),
        onMessage: (message) => console.log(`[moveworks] message to ${message.recipients.join(', ')} (approval_id ${String(message.slots.approval_id)})`),
        onListenerNotice: (notice) => console.log(`[moveworks] listener notice ${String(notice.body.type)} (approvalId ${String(notice.body.approvalId)})`),
    });
    await simulator.start(Number(process.env.SIMULATOR_PORT ?? 7072));
    seedSampleData(simulator);
    seedIscSampleData(simulator);
    console.log(`Simulator listening on ${simulator.baseUrl}. Put these in local.settings.json "Values":`);
    console.log(JSON.stringify({ ...simulator.settings(), ...(delivery === 'listener' ? simulator.listenerSettings() : {}) }, null, 2));
    const stop = () => void simulator.stop().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
});
