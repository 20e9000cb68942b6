import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/**
 * Identity Security Cloud's two API layouts: the per-service `v1` (the default) and the year-based versions.
 * The same poll and the same actions of both kinds of approval work in each, and every call the app makes
 * uses the configured layout only (the simulated tenant answers 404 to the other, as a tenant would).
 */
describe.each([
    { layout: 'v1, the default', iscApiVersion: 'v1' as const, setting: undefined, pathOf: (service: string, rest = '') => `/${service}/v1${rest}` },
    { layout: 'v2025, when set', iscApiVersion: 'v2025' as const, setting: 'v2025', pathOf: (service: string, rest = '') => `/v2025/${service}${rest}` },
])('Identity Security Cloud API layout $layout', ({ iscApiVersion, setting, pathOf }) => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn?.stop();
        await h.stop();
    });

    async function serve() {
        h = await startHarness({ simulator: { sources: ['isc'], iscApiVersion } });
        // With no setting the app must choose v1 itself: the simulator's own ISC_API_VERSION is left out.
        const { ISC_API_VERSION: _given, ...settings } = h.settings;
        fn = await startFunctionHost(setting === undefined ? settings : { ...settings, ISC_API_VERSION: setting });
        await fn.pollNow();
    }
    const paths = () => h.simulator.isc.exchanges.map((exchange) => exchange.path);
    const post = (id: string, action: string, body: unknown) => fn.post(`/api/approvals/${id}/${action}`, body);
    const jamie = 'jamie.rivera@example.com';

    function addAccessRequest() {
        const { jamie: owner, allen, amy } = h.iscSample.people;
        return h.simulator.isc.addAccessRequest({
            ownerId: owner.id,
            requesterId: allen.id,
            requestedForId: amy.id,
            name: 'Finance Analyst',
            requestedObject: { id: 'e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6', name: 'Finance Analyst', type: 'ROLE' },
        });
    }

    it('notifies the approvers of both kinds, listing them at the layout’s paths', async () => {
        await serve();
        const request = addAccessRequest();
        await fn.pollNow();
        expect(h.simulator.messagesFor(request.id)).toHaveLength(1);
        expect(h.simulator.messagesFor(h.iscSample.approvals.roleRequest.id)).toHaveLength(1);
        expect(paths()).toEqual(expect.arrayContaining([pathOf('access-request-approvals', '/pending'), pathOf('generic-approvals'), pathOf('identities')]));
    });

    it('approves an access request and rejects a generic approval through the layout', async () => {
        await serve();
        const request = addAccessRequest();
        await fn.pollNow();
        const approved = await post(request.id, 'approve', { approverEmail: jamie, comment: 'Fine' });
        const rejected = await post(h.iscSample.approvals.roleRequest.id, 'reject', { approverEmail: jamie, comment: 'No business need' });
        expect([approved.status, rejected.status]).toEqual([200, 200]);
        expect(paths()).toContain(pathOf('access-request-approvals', `/${request.id}/approve`));
        expect(paths()).toContain(pathOf('generic-approvals', `/${h.iscSample.approvals.roleRequest.id}/reject`));
    });

    it('comments on and reassigns generic approvals, and forwards an access request, through the layout', async () => {
        await serve();
        const request = addAccessRequest();
        await fn.pollNow();
        const { roleRequest, groupRequest } = h.iscSample.approvals;
        const answers = [
            await post(roleRequest.id, 'comment', { approverEmail: jamie, comment: 'Checking with Amy' }),
            await post(groupRequest.id, 'reassign', { approverEmail: 'carol.jones@example.com', reassignToEmail: 'dana.lee@example.com' }),
            await post(request.id, 'reassign', { approverEmail: jamie, reassignToEmail: 'dana.lee@example.com' }),
        ];
        expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
        expect(paths()).toEqual(
            expect.arrayContaining([
                pathOf('generic-approvals', `/${roleRequest.id}/comments`),
                pathOf('generic-approvals', `/${groupRequest.id}/reassign`),
                pathOf('access-request-approvals', `/${request.id}/forward`),
            ]),
        );
    });

    it('calls no path of the other layout (the tenant would answer 404 and record it as unrouted), and the tenant refuses none', async () => {
        await serve();
        const request = addAccessRequest();
        await fn.pollNow();
        await post(request.id, 'approve', { approverEmail: jamie });
        const resourcePaths = paths().filter((path) => path !== '/oauth/token');
        const layout = setting === undefined ? /^\/(access-request-approvals|generic-approvals|identities|recommendations)\/v1(\/|$)/ : /^\/v2025\/(access-request-approvals|generic-approvals|identities|recommendations)(\/|$)/;
        expect(resourcePaths.length).toBeGreaterThan(0);
        expect(resourcePaths.filter((path) => !layout.test(path))).toEqual([]);
        expect(h.simulator.isc.exchanges.filter((exchange) => exchange.status === 404)).toEqual([]);
        expect(h.simulator.unrouted).toEqual([]);
    });
});
