import Ajv2020 from 'ajv/dist/2020';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, manualClock, startHarness } from './support/harness';

describe('my pending approvals, audit and housekeeping', () => {
    let h: Harness;
    let fn: FunctionHost;
    const start = async (settings: Record<string, string> = {}) => {
        h = await startHarness({ settings: { FUNCTION_KEY: 'fn-key', MASTER_KEY: 'master-key', ...settings }, simulator: { sources: ['iiq', 'isc'] } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
    };
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    it("lists a person's pending approvals from both sources, newest first, with the ids the action routes take", async () => {
        await start();
        const { roleRequest, entitlementRequest } = h.sample.workItems;
        const answer = await fn.get('/api/approvals?approverEmail=Jamie.Rivera@example.com');
        expect(answer.status).toBe(200);
        const ids = answer.body.approvals.map((entry: { approvalId: string }) => entry.approvalId);
        expect(ids.sort()).toEqual(
            [roleRequest.id, entitlementRequest.id, h.iscSample.approvals.roleRequest.id, h.iscSample.approvals.groupRequest.id].sort(),
        );
        expect(answer.body.total).toBe(4);
        expect(answer.body.approvals.find((entry: { approvalId: string }) => entry.approvalId === roleRequest.id)).toMatchObject({
            source: 'iiq',
            summary: "Amy.Cox's request for IT Database Manager",
            approvers: 'Jamie.Rivera',
            notifiedAt: expect.any(Number),
        });
        await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
        expect((await fn.get('/api/approvals?approverEmail=jamie.rivera@example.com')).body.total).toBe(3);
    });

    it('pages the list', async () => {
        await start();
        const first = await fn.get('/api/approvals?approverEmail=jamie.rivera@example.com&limit=3');
        expect(first.body.approvals).toHaveLength(3);
        expect(first.body.nextOffset).toBe(3);
        const second = await fn.get('/api/approvals?approverEmail=jamie.rivera@example.com&limit=3&offset=3');
        expect(second.body.approvals).toHaveLength(1);
        expect(second.body.nextOffset).toBeUndefined();
        expect((await fn.get('/api/approvals?approverEmail=not-an-email')).status).toBe(400);
    });

    it('records every action attempt, allowed or refused, and shows it only with the admin key', async () => {
        await start();
        const { roleRequest } = h.sample.workItems;
        await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'bob.smith@example.com' });
        await fn.post(`/api/approvals/${roleRequest.id}/reject`, { approverEmail: 'jamie.rivera@example.com', comment: 'Not this quarter' });
        expect((await fn.get(`/api/audit?approvalId=${roleRequest.id}`)).status).toBe(401);
        const audit = await fn.get(`/api/audit?approvalId=${roleRequest.id}`, { 'x-functions-key': 'master-key' });
        expect(audit.status).toBe(200);
        expect(audit.body.entries).toEqual([
            expect.objectContaining({ action: 'reject', source: 'iiq', approverEmail: 'jamie.rivera@example.com', status: 200, result: 'rejected', comment: 'Not this quarter', requestId: expect.any(String) }),
            expect.objectContaining({ action: 'approve', approverEmail: 'bob.smith@example.com', status: 403, result: 'not_approver' }),
        ]);
        const byPerson = await fn.get('/api/audit?approverEmail=bob.smith@example.com', { 'x-functions-key': 'master-key' });
        expect(byPerson.body.entries).toHaveLength(1);
        const text = JSON.stringify(audit.body);
        for (const secret of [h.settings.IIQ_CLIENT_SECRET, h.settings.MOVEWORKS_API_KEY, 'fn-key', 'master-key']) expect(text).not.toContain(secret);
    });

    it('removes decided and closed approvals and audit entries older than RETENTION_DAYS', async () => {
        await start({ RETENTION_DAYS: '30' });
        const { roleRequest, removal } = h.sample.workItems;
        await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
        const clock = manualClock();
        const later = h.newApp({ RETENTION_DAYS: '30' }, clock.now);
        clock.advance(29 * 86_400_000);
        expect(await later.cleanup()).toEqual({ approvals: 0, auditEntries: 0 });
        clock.advance(2 * 86_400_000);
        expect(await later.cleanup()).toEqual({ approvals: 1, auditEntries: 1 });
        expect(await later.store.get('iiq', roleRequest.id)).toBeUndefined();
        expect(await later.store.get('iiq', removal.id)).toMatchObject({ status: 'open' });
    });

    it('answers every route as its OpenAPI document says', async () => {
        await start();
        const document = (await fn.get('/api/openapi.json')).body;
        const ajv = new Ajv2020({ strict: false });
        for (const [name, schema] of Object.entries(document.components.schemas)) ajv.addSchema(schema as object, `#/components/schemas/${name}`);
        const check = (name: string, body: unknown) => {
            const valid = ajv.validate(`#/components/schemas/${name}`, body);
            expect([name, valid, ajv.errorsText()]).toEqual([name, true, 'No errors']);
        };
        const { roleRequest, removal } = h.sample.workItems;
        const isc = h.iscSample.approvals;
        check('ActionResult', (await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' })).body);
        check('ActionResult', (await fn.post(`/api/approvals/${removal.id}/reject`, { approverEmail: 'carol.jones@example.com' })).body);
        check('ActionResult', (await fn.post(`/api/approvals/${isc.roleRequest.id}/comment`, { approverEmail: 'jamie.rivera@example.com', comment: 'x' })).body);
        check('ActionResult', (await fn.post(`/api/approvals/${isc.roleRequest.id}/reassign`, { approverEmail: 'jamie.rivera@example.com', reassignToEmail: 'dana.lee@example.com' })).body);
        for (const refused of [
            await fn.post(`/api/approvals/${roleRequest.id}/approve`, { approverEmail: 'jamie.rivera@example.com' }),
            await fn.post('/api/approvals/nope/approve', { approverEmail: 'jamie.rivera@example.com' }),
            await fn.post(`/api/approvals/${isc.carolsRequest.id}/approve`, '{bad'),
            await fn.post(`/api/approvals/${h.sample.workItems.entitlementRequest.id}/comment`, { approverEmail: 'jamie.rivera@example.com', comment: 'x' }),
        ]) {
            expect(refused.status).toBeGreaterThanOrEqual(400);
            check('Error', refused.body);
        }
        check('PendingList', (await fn.get('/api/approvals?approverEmail=carol.jones@example.com')).body);
        check('AuditPage', (await fn.get('/api/audit', { 'x-functions-key': 'master-key' })).body);
        check('Health', (await fn.get('/api/health')).body);
        check('RetryRefusedResult', (await fn.post('/api/refused/retry', {}, { 'x-functions-key': 'master-key' })).body);
        expect(Object.keys(document.paths).sort()).toEqual(
            [
                '/approvals',
                '/approvals/{approvalId}/approve',
                '/approvals/{approvalId}/comment',
                '/approvals/{approvalId}/reassign',
                '/approvals/{approvalId}/reject',
                '/audit',
                '/audit/delegated',
                '/connections/isc',
                '/connections/isc/disconnect',
                '/connections/isc/link',
                '/health',
                '/openapi.json',
                '/refused/retry',
            ].sort(),
        );
    });
});
