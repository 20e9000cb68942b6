import { randomBytes } from 'node:crypto';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/**
 * ISC_DECIDE_AS=user with two instances on one table: refreshes that race (ISC rotates the refresh token and
 * refuses the used one), and a revocation in the middle of a burst of clicks.
 */

const jamie = 'jamie.rivera@example.com';

describe('approvers’ connections under two instances', () => {
    let h: Harness;
    let hosts: FunctionHost[] = [];
    afterEach(async () => {
        for (const host of hosts) await host.stop();
        hosts = [];
        await h.stop();
    });

    async function serveTwo() {
        h = await startHarness({ simulator: { sources: ['isc'], iscServiceReadOnly: true } });
        const settings = { ...h.settings, ...h.simulator.userOAuthSettings(), ISC_DECIDE_AS: 'user', PUBLIC_BASE_URL: 'https://approvals.example.com', USER_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}` };
        hosts = [await startFunctionHost(settings), await startFunctionHost(settings)];
        await hosts[0].pollNow();
        const { body } = await hosts[0].post('/api/connections/isc/link', { approverEmail: jamie });
        const link = new URL(body.connectUrl);
        const opened = await fetch(`${hosts[0].url}${link.pathname}${link.search}`, { redirect: 'manual' });
        const callback = new URL(h.simulator.isc.signIn(opened.headers.get('location')!, h.iscSample.people.jamie.id));
        const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0];
        expect((await fetch(`${hosts[0].url}${callback.pathname}${callback.search}`, { headers: { cookie } })).status).toBe(200);
    }

    it('keeps the connection when both instances refresh the same rotated token at once', async () => {
        await serveTwo();
        const { roleRequest } = h.iscSample.approvals;
        for (let round = 0; round < 5; round++) {
            h.simulator.isc.expireUserTokens(h.iscSample.people.jamie.id);
            const answers = await Promise.all(hosts.map((host, index) => host.post(`/api/approvals/${roleRequest.id}/comment`, { approverEmail: jamie, comment: `round ${round} from ${index}` })));
            expect(answers.map((answer) => answer.body.error?.code ?? answer.status)).toEqual([200, 200]);
        }
        expect((await hosts[1].get(`/api/connections/isc?approverEmail=${jamie}`)).body.connected).toBe(true);
        expect(h.simulator.isc.writes.filter((write) => write.status < 300 && write.kind !== 'user')).toEqual([]);
    });

    it('refuses every click after ISC revokes the approver, in both instances, and writes nothing more', async () => {
        await serveTwo();
        const { roleRequest } = h.iscSample.approvals;
        expect((await hosts[0].post(`/api/approvals/${roleRequest.id}/comment`, { approverEmail: jamie, comment: 'before' })).status).toBe(200);
        h.simulator.isc.revokeUser(h.iscSample.people.jamie.id);
        h.simulator.isc.expireUserTokens(h.iscSample.people.jamie.id);
        const writesBefore = h.simulator.isc.writes.filter((write) => write.status < 300).length;
        const answers = await Promise.all(hosts.flatMap((host) => [1, 2].map((n) => host.post(`/api/approvals/${roleRequest.id}/comment`, { approverEmail: jamie, comment: `after ${n}` }))));
        expect(answers.map((answer) => answer.body.error?.code)).toEqual(['connect_required', 'connect_required', 'connect_required', 'connect_required']);
        expect(h.simulator.isc.writes.filter((write) => write.status < 300)).toHaveLength(writesBefore);
        expect((await hosts[1].get(`/api/connections/isc?approverEmail=${jamie}`)).body).toEqual({ connected: false });
    });
});
