import { checkIscExchange } from './support/iscContract';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/**
 * What the app sends Identity Security Cloud, and what the simulator answers it, checked against
 * SailPoint's published OpenAPI schemas (test/contracts): every request the app makes in polls, sweeps and
 * every action, of both kinds.
 */
describe("the app's Identity Security Cloud traffic against SailPoint's OpenAPI schemas", () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    const exchangesOf = (routePrefix: string) => h.simulator.isc.exchanges.filter((exchange) => exchange.route.startsWith(routePrefix));
    const problemsIn = (routePrefix: string) =>
        exchangesOf(routePrefix).flatMap((exchange) => checkIscExchange(exchange).map((problem) => `${exchange.method} ${exchange.path} ${exchange.status}: ${problem}`));

    /** Polls, a sweep that confirms unseen rows, and every action of both kinds, through the HTTP functions. */
    async function exercise() {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { FULL_SWEEP_MINUTES: '0' } });
        const isc = h.simulator.isc;
        const { jamie, carol, allen, amy, dana } = h.iscSample.people;
        const owned = (ownerId: string, name: string, extra = {}) =>
            isc.addAccessRequest({ ownerId, requesterId: allen.id, requestedForId: amy.id, name, requestedObject: { id: `${name}-id`, name, description: `${name} access`, type: 'ROLE' }, ...extra });
        const toApprove = owned(jamie.id, 'Ledger');
        const toReject = owned(jamie.id, 'Treasury', { commentRequiredWhenRejected: true });
        const toForward = owned(carol.id, 'Payroll', {
            sodConflicts: [{ policyName: 'Pay and approve', left: [{ name: 'Payroll', type: 'ROLE' }], right: [{ name: 'Vendor Master', type: 'ENTITLEMENT' }] }],
        });
        const mirrored = owned(jamie.id, 'Reports');
        isc.mirrorAsGeneric(mirrored.id);
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        const as = (email: string, extra = {}) => ({ approverEmail: email, ...extra });
        const post = (id: string, action: string, body: unknown) => fn.post(`/api/approvals/${id}/${action}`, body);
        const answers = [
            await post(toApprove.id, 'approve', as('jamie.rivera@example.com', { comment: 'Fine' })),
            await post(toReject.id, 'reject', as('jamie.rivera@example.com', { comment: 'No business need' })),
            await post(toForward.id, 'reassign', as('carol.jones@example.com', { reassignToEmail: 'dana.lee@example.com' })),
            await post(mirrored.id, 'reject', as('jamie.rivera@example.com')),
        ];
        const { roleRequest, groupRequest, carolsRequest } = h.iscSample.approvals;
        answers.push(
            await post(roleRequest.id, 'comment', as('jamie.rivera@example.com', { comment: 'Checking with Amy' })),
            await post(roleRequest.id, 'approve', as('jamie.rivera@example.com')),
            await post(groupRequest.id, 'reassign', as('carol.jones@example.com', { reassignToEmail: 'dana.lee@example.com' })),
            await post(carolsRequest.id, 'reject', as('carol.jones@example.com', { comment: 'Not needed' })),
        );
        // A sweep confirms rows the list no longer shows before closing them, with batched live reads.
        isc.completeAccessRequest(owned(dana.id, 'Vanishing').id);
        await fn.pollNow();
        isc.accessRequests.delete(toForward.id);
        await fn.pollNow();
        return answers;
    }

    it('performs every action it is asked to', async () => {
        const answers = await exercise();
        expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
    });

    it('sends access-request requests and gets answers that match the access-request approval schemas', async () => {
        await exercise();
        expect(exchangesOf('isc.accessRequests.').map((exchange) => exchange.route)).toEqual(
            expect.arrayContaining(['isc.accessRequests.pending', 'isc.accessRequests.approve', 'isc.accessRequests.reject', 'isc.accessRequests.forward']),
        );
        expect(problemsIn('isc.accessRequests.')).toEqual([]);
    });

    it('sends generic-approval requests and gets answers that match the generic approval schemas', async () => {
        await exercise();
        for (const route of ['isc.list', 'isc.get', 'isc.approve', 'isc.reject', 'isc.comments', 'isc.reassign']) {
            expect(exchangesOf(route).length).toBeGreaterThan(0);
            expect(problemsIn(route)).toEqual([]);
        }
    });

    it('looks identities up with requests and answers that match the identities schema', async () => {
        await exercise();
        expect(exchangesOf('isc.identities').length).toBeGreaterThan(0);
        expect(problemsIn('isc.identities')).toEqual([]);
    });
});
