import { seedSampleData } from './sampleData';
import { Simulator, SimulatorOptions } from './simulator';

/**
 * The simulator in its own process, driven over IPC by RemoteSimulator, so a benchmark measures the app
 * without the simulator's work on the same event loop (IdentityIQ and Moveworks are remote in real life).
 */

let simulator: Simulator;
let sample: ReturnType<typeof seedSampleData>;

const methods: Record<string, (...args: never[]) => unknown> = {
    async start(options: SimulatorOptions) {
        simulator = new Simulator(options);
        await simulator.start();
        sample = seedSampleData(simulator);
        return { settings: simulator.settings(), sample: { jamieId: sample.people.jamie.id, amyId: sample.people.amy.id } };
    },
    /** Approvals spread over the sample owners, six more managers and the sample workgroup. */
    addApprovals(count: number, createdAgoMs?: number) {
        const owners = [sample.people.jamie, sample.people.carol, sample.people.bob, sample.people.amy, sample.finance];
        for (let i = 0; i < 6; i++) owners.push(simulator.addIdentity({ name: `Manager.${i}`, email: `manager${i}@example.com` }));
        const created = createdAgoMs === undefined ? {} : { created: simulator.iiqNow() - createdAgoMs };
        for (let i = 0; i < count; i++) {
            simulator.addWorkItem({
                ownerId: owners[i % owners.length].id,
                requesterId: sample.people.allen.id,
                targetId: sample.people.amy.id,
                ...created,
                items: [{ application: 'Active Directory', name: 'memberOf', value: `CN=Group-${i}`, displayValue: `Group-${i}`, operation: 'Add' }],
            });
        }
    },
    /**
     * ISC access-request approvals, each with an owner of its own (the worst case for looking owners up), for
     * someone Identity AI knows, a third of them with a verdict, so the poll asks for recommendations as in a tenant with it.
     */
    addAccessRequests(count: number) {
        const requestedFor = simulator.isc.addIdentity({ name: 'Requested For', email: 'requested.for@example.com' });
        const verdicts = ['YES', 'NO', 'MAYBE'] as const;
        for (let i = 0; i < count; i++) {
            const owner = simulator.isc.addIdentity({ name: `Owner ${i}`, email: `owner${i}@example.com` });
            simulator.isc.addAccessRequest({ ownerId: owner.id, requestedForId: requestedFor.id, name: `Role ${i}`, requestedObject: { id: `role-${i}`, name: `Role ${i}`, type: 'ROLE' } });
            if (i % 3 === 0) simulator.isc.recommend(requestedFor.id, `role-${i}`, verdicts[(i / 3) % 3], ['75% of identities with the same department have this access.']);
        }
    },
    addWorkItems(count: number, ownerId: string, targetId: string) {
        return Array.from({ length: count }, () => simulator.addWorkItem({ ownerId, targetId }).id);
    },
    stats() {
        return {
            calls: simulator.calls,
            messages: simulator.messages.map((message) => ({ at: message.at, approvalId: String(message.slots.approval_id) })),
            rateLimited: simulator.rateLimited.length,
            decisions: simulator.decisions.length,
        };
    },
    async stop() {
        await simulator.stop();
        setImmediate(() => process.exit(0));
    },
};

process.on('message', (request: { id: number; method: string; args: unknown[] }) => {
    Promise.resolve()
        .then(() => (methods[request.method] as (...args: unknown[]) => unknown)(...request.args))
        .then(
            (result) => process.send!({ id: request.id, result }),
            (error: unknown) => process.send!({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
        );
});
