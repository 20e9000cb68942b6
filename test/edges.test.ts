import { freePort } from '../dev/azurite';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

describe('edges of the input and output', () => {
    let h: Harness;
    let fn: FunctionHost | undefined;
    afterEach(async () => {
        await fn?.stop();
        fn = undefined;
        await h.stop();
    });

    describe('reassigning around the self-approval rule', () => {
        const startIsc = async (settings: Record<string, string> = {}) => {
            h = await startHarness({ simulator: { sources: ['isc'] }, settings });
            fn = await startFunctionHost(h.settings);
            await fn.pollNow();
        };
        const reassign = (to: string) =>
            fn!.post(`/api/approvals/${h.iscSample.approvals.roleRequest.id}/reassign`, { approverEmail: 'jamie.rivera@example.com', reassignToEmail: to });

        it('refuses to reassign to the person the access is for, and nothing reaches ISC', async () => {
            await startIsc();
            const answer = await reassign('amy.cox@example.com');
            expect(answer).toEqual({ status: 400, body: { error: { code: 'invalid_reassign_target', message: expect.stringContaining('Amy Cox') } } });
            expect(h.simulator.isc.actions).toEqual([]);
        });

        it('refuses to reassign to the person who asked for the access', async () => {
            await startIsc();
            const answer = await reassign('allen.burton@example.com');
            expect(answer.status).toBe(400);
            expect(answer.body.error.code).toBe('invalid_reassign_target');
            expect(h.simulator.isc.actions).toEqual([]);
        });

        it('refuses a reassign by the person the access is for, even when they are in an approver group', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            fn = await startFunctionHost(h.settings);
            const { amy, allen, dana } = h.iscSample.people;
            const group = h.simulator.isc.addGroup('Reviewers with Amy', [amy.id, dana.id]);
            const own = h.simulator.isc.addApproval({ requesterId: allen.id, requesteeId: amy.id, assignedTo: [{ kind: 'group', id: group.id }] });
            await fn.pollNow();
            const answer = await fn.post(`/api/approvals/${own.id}/reassign`, { approverEmail: 'amy.cox@example.com', reassignToEmail: 'carol.jones@example.com' });
            expect(answer.status).toBe(403);
            expect(answer.body.error.code).toBe('self_approval');
            expect(h.simulator.isc.actions).toEqual([]);
        });

        it('allows both when ALLOW_SELF_APPROVAL=true', async () => {
            await startIsc({ ALLOW_SELF_APPROVAL: 'true' });
            expect((await reassign('amy.cox@example.com')).status).toBe(200);
        });
    });

    it('never notifies an address made by lower-casing a source email that is not plain ASCII', async () => {
        h = await startHarness();
        h.simulator.addIdentity({ name: 'Kate.Bell', email: 'kate.bell@example.com' });
        const lookalike = h.simulator.addIdentity({ name: 'Not.Kate', email: '\u212Aate.bell@example.com' });
        const item = h.simulator.addWorkItem({ ownerId: lookalike.id });
        await h.app.poll();
        expect(h.simulator.messagesFor(item.id).flatMap((m) => m.recipients)).not.toContain('kate.bell@example.com');
    });

    it('does not take the look-alike identity for the person with the plain address', async () => {
        h = await startHarness();
        fn = await startFunctionHost(h.settings);
        const kate = h.simulator.addIdentity({ name: 'Kate.Bell', email: 'kate.bell@example.com' });
        h.simulator.addIdentity({ name: 'Not.Kate', email: '\u212Aate.bell@example.com' });
        const item = h.simulator.addWorkItem({ ownerId: kate.id });
        await fn.pollNow();
        const answer = await fn.post(`/api/approvals/${item.id}/approve`, { approverEmail: 'kate.bell@example.com' });
        expect(answer.status).toBe(200);
        expect(h.simulator.decisions[0].approverId).toBe(kate.id);
    });

    it('tells a caller IdentityIQ could not be reached without naming its host, address or port', async () => {
        h = await startHarness();
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        const { port } = new URL(h.simulator.baseUrl);
        await fn.stop();
        const closedPort = String((await freePort()));
        fn = await startFunctionHost({ ...h.settings, IIQ_BASE_URL: `http://127.0.0.1:${closedPort}`, HTTP_MAX_RETRIES: '0' });
        const answer = await fn.post(`/api/approvals/${h.sample.workItems.roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
        expect(answer.status).toBe(502);
        expect(answer.body.error.message).toContain('IdentityIQ could not be reached');
        for (const leak of ['127.0.0.1', closedPort, port, 'localhost']) expect(answer.body.error.message).not.toContain(leak);
    });

    it('answers 400 to an audit pageToken this app never gave out', async () => {
        h = await startHarness({ settings: { MASTER_KEY: 'master-key' } });
        fn = await startFunctionHost(h.settings);
        for (const token of ['not-a-token', 'eyJub3QiOiJqc29uIn0', '%%%']) {
            const answer = await fn.get(`/api/audit?pageToken=${encodeURIComponent(token)}`, { 'x-functions-key': 'master-key' });
            expect(answer).toEqual({ status: 400, body: { error: { code: 'invalid_query', message: expect.any(String) } } });
        }
    });

    it('lists with smaller pages when a page is larger than MAX_RESPONSE_BYTES', async () => {
        h = await startHarness({ settings: { IIQ_PAGE_SIZE: '40', MAX_RESPONSE_BYTES: '16384' } });
        for (let i = 0; i < 40; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id, description: `Approval ${i} `.padEnd(400, '.') });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(false);
        expect(new Set(h.simulator.messages.map((m) => m.slots.approval_id)).size).toBe(43);
    });

    it('goes back to full pages after the large items, instead of paging small to the end', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { MAX_RESPONSE_BYTES: '100000' } });
        const carol = h.iscSample.people.carol;
        for (let i = 0; i < 2; i++) h.simulator.isc.addApproval({ description: 'x'.repeat(60_000), assignedTo: [{ kind: 'identity', id: carol.id }] });
        for (let i = 0; i < 600; i++) h.simulator.isc.addApproval({ assignedTo: [{ kind: 'identity', id: carol.id }] });
        const [report] = await h.newApp({ MOVEWORKS_MAX_PER_MINUTE: '100000' }).poll();
        expect(report.listed).toBe(605);
        expect(h.simulator.calls['isc.list']).toBeLessThan(25);
    });

    it('sets aside one approval too large to read even alone, and lists the rest', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { MAX_RESPONSE_BYTES: '20000' } });
        const huge = h.simulator.isc.addApproval({ description: 'x'.repeat(30_000), assignedTo: [{ kind: 'identity', id: h.iscSample.people.carol.id }] });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(false);
        expect(new Set(h.simulator.messages.map((m) => m.slots.approval_id))).toEqual(new Set(Object.values(h.iscSample.approvals).map((a) => a.id)));
        expect(h.log.entries.some((entry) => entry.event === 'isc.list.item_too_large')).toBe(true);
        expect(h.simulator.messagesFor(huge.id)).toEqual([]);
    });

    it('still closes completed approvals when one pending approval is too large to read', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { MAX_RESPONSE_BYTES: '20000' } });
        await h.app.poll();
        const { roleRequest, carolsRequest } = h.iscSample.approvals;
        h.simulator.isc.approvals.get(carolsRequest.id)!.description = 'x'.repeat(30_000);
        h.simulator.isc.complete(roleRequest.id);
        await h.app.poll();
        expect(await h.app.store.get('isc', roleRequest.id)).toMatchObject({ status: 'closed' });
        expect(await h.app.store.get('isc', carolsRequest.id)).toMatchObject({ status: 'open' });
    });

    it('lists ISC with smaller pages when a page is larger than MAX_RESPONSE_BYTES', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { MAX_RESPONSE_BYTES: '65536' } });
        for (let i = 0; i < 100; i++) h.simulator.isc.addApproval({ description: `Approval ${i} `.padEnd(600, '.'), assignedTo: [{ kind: 'identity', id: h.iscSample.people.carol.id }] });
        const [report] = await h.app.poll();
        expect(report.listingFailed).toBe(false);
        expect(new Set(h.simulator.messages.map((m) => m.slots.approval_id)).size).toBe(103);
    });
});
