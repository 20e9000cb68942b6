import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

describe('Identity Security Cloud as an approval source', () => {
    let h: Harness;
    let fn: FunctionHost | undefined;
    afterEach(async () => {
        await fn?.stop();
        fn = undefined;
        await h.stop();
    });
    const start = async (settings: Record<string, string> = {}, sources: ('iiq' | 'isc')[] = ['isc']) => {
        h = await startHarness({ simulator: { sources }, settings });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
    };
    const post = (id: string, action: string, body: unknown) => fn!.post(`/api/approvals/${id}/${action}`, body);
    const messagesFor = (id: string) => h.simulator.messagesFor(id);

    describe('notifications', () => {
        it('notifies each assigned identity once, with the approval id as the slot', async () => {
            await start();
            const { roleRequest, carolsRequest } = h.iscSample.approvals;
            expect(messagesFor(roleRequest.id).map((m) => m.recipients)).toEqual([['jamie.rivera@example.com']]);
            expect(messagesFor(carolsRequest.id).map((m) => m.recipients)).toEqual([['carol.jones@example.com']]);
            await fn!.pollNow();
            expect(h.simulator.messages).toHaveLength(3);
        });

        it('notifies every member of a governance group approver', async () => {
            await start();
            const [message] = messagesFor(h.iscSample.approvals.groupRequest.id);
            expect(message.recipients.sort()).toEqual(['carol.jones@example.com', 'jamie.rivera@example.com']);
        });

        it('shows name, description, type, priority, requester, requestee, targets, due date and comments, escaped', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            const { jamie, allen, amy } = h.iscSample.people;
            const hostile = h.simulator.isc.addApproval({
                name: 'Access <b>Request</b>',
                description: 'Needs "admin" & more',
                type: 'ACCESS_REQUEST_APPROVAL',
                priority: 'HIGH',
                requesterId: allen.id,
                requesteeId: amy.id,
                assignedTo: [{ kind: 'identity', id: jamie.id }],
                dueDate: Date.UTC(2026, 11, 1, 9, 30),
                requestedTarget: [{ id: 'x', name: '<script>x</script>', targetType: 'ROLE', requestType: 'GRANT_ACCESS' }],
                comments: [{ authorName: 'Allen Burton', comment: 'Please <i>hurry</i>', createdDate: Date.now() }],
            });
            await h.app.poll();
            const [{ message }] = messagesFor(hostile.id);
            for (const text of ['Access &lt;b&gt;Request&lt;/b&gt;', 'Needs &quot;admin&quot; &amp; more', 'ACCESS_REQUEST_APPROVAL', 'HIGH', 'Allen Burton', 'Amy Cox', 'GRANT_ACCESS', 'ROLE', '&lt;script&gt;x&lt;/script&gt;', '01 Dec 2026 09:30 UTC', 'Please &lt;i&gt;hurry&lt;/i&gt;']) {
                expect(message).toContain(text);
            }
            expect(message).not.toContain('<script>');
        });

        it('lists pending approvals with the documented query and pages to the end', async () => {
            h = await startHarness({ simulator: { sources: ['isc'], moveworksPerMinute: 100_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000' } });
            for (let i = 0; i < 600; i++) h.simulator.isc.addApproval({ assignedTo: [{ kind: 'identity', id: h.iscSample.people.carol.id }] });
            await h.app.poll();
            expect(new Set(h.simulator.messages.map((m) => m.slots.approval_id)).size).toBe(603);
            const lists = h.simulator.requests.filter((r) => r.route === 'isc.list').map((r) => r.url.searchParams);
            expect(lists.map((q) => q.get('offset'))).toEqual(['0', '250', '500']);
            for (const query of lists) {
                expect(query.get('filters')).toBe('status eq "PENDING"');
                expect(query.get('limit')).toBe('250');
                expect(query.get('count')).toBe('true');
            }
        });

        it('notifies the new assignee when an approval is reassigned inside ISC', async () => {
            await start();
            const { roleRequest } = h.iscSample.approvals;
            h.simulator.isc.reassignTo(roleRequest.id, [{ kind: 'identity', id: h.iscSample.people.dana.id }]);
            await fn!.pollNow();
            expect(messagesFor(roleRequest.id).map((m) => m.recipients)).toEqual([['jamie.rivera@example.com'], ['dana.lee@example.com']]);
        });

        it('closes an approval completed inside ISC at the next poll', async () => {
            await start();
            const { roleRequest } = h.iscSample.approvals;
            h.simulator.isc.complete(roleRequest.id);
            await fn!.pollNow();
            expect(await h.app.store.get('isc', roleRequest.id)).toMatchObject({ status: 'closed' });
            const answer = await post(roleRequest.id, 'approve', { approverEmail: 'jamie.rivera@example.com' });
            expect(answer.status).toBe(409);
        });

        it('waits out a 429 with Retry-After from ISC', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            h.simulator.failNext('isc.list', { status: 429, retryAfter: '1', contentType: 'application/json', body: '{"message":" Rate Limit Exceeded "}' });
            const [report] = await h.app.poll();
            expect(report.listingFailed).toBe(false);
            expect(h.simulator.messages).toHaveLength(3);
        });

        it('paces its calls to ISC_MAX_PER_10_SECONDS instead of provoking 429s', async () => {
            await start({ ISC_MAX_PER_10_SECONDS: '4' });
            h.simulator.isc.maxPer10Seconds = 4;
            const { roleRequest, carolsRequest } = h.iscSample.approvals;
            const answers = await Promise.all([
                post(roleRequest.id, 'comment', { approverEmail: 'jamie.rivera@example.com', comment: 'one' }),
                post(carolsRequest.id, 'comment', { approverEmail: 'carol.jones@example.com', comment: 'two' }),
            ]);
            expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
            expect(h.simulator.isc.rateLimited).toHaveLength(0);
        });

        it('follows ISC_API_VERSION in every path', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            h.simulator.isc.apiVersion = 'v2026';
            await h.newApp({ ISC_API_VERSION: 'v2026' }).poll();
            expect(h.simulator.messages).toHaveLength(3);
            expect(h.simulator.requests.filter((r) => r.route === 'isc.list').every((r) => r.url.pathname === '/v2026/generic-approvals')).toBe(true);
        });
    });

    describe('tokens', () => {
        it('fetches one ISC token with a form body and reuses it', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            await h.app.poll();
            await h.app.poll();
            expect(h.simulator.calls['isc.token']).toBe(1);
        });

        it('fetches a new token once when ISC answers 401, and carries on', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            await h.app.poll();
            h.simulator.isc.expireTokens();
            h.simulator.isc.addApproval({ assignedTo: [{ kind: 'identity', id: h.iscSample.people.carol.id }] });
            await h.app.poll();
            expect(h.simulator.calls['isc.token']).toBe(2);
            expect(h.simulator.messages).toHaveLength(4);
        });

        it('keeps one token per source in the one shared cache when both sources are on', async () => {
            h = await startHarness({ simulator: { sources: ['iiq', 'isc'] } });
            await h.app.poll();
            await h.app.poll();
            expect(h.simulator.calls['isc.token']).toBe(1);
            expect(h.simulator.calls['iiq.token']).toBe(1);
        });
    });

    describe('actions', () => {
        it('approves in ISC with the real approver named in the stored comment', async () => {
            await start();
            const { roleRequest } = h.iscSample.approvals;
            const answer = await post(roleRequest.id, 'approve', { approverEmail: 'jamie.rivera@example.com', comment: 'Fine by me' });
            expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'approved', approvalId: roleRequest.id }) });
            expect(h.simulator.isc.actions).toEqual([
                expect.objectContaining({ approvalId: roleRequest.id, action: 'approve', body: { comment: 'Fine by me (via Moveworks, on behalf of Jamie Rivera <jamie.rivera@example.com>)' } }),
            ]);
            const again = await post(roleRequest.id, 'reject', { approverEmail: 'jamie.rivera@example.com' });
            expect(again.body.error.code).toBe('already_decided');
        });

        it('rejects in ISC (204) as a governance group member', async () => {
            await start();
            const { groupRequest } = h.iscSample.approvals;
            const answer = await post(groupRequest.id, 'reject', { approverEmail: 'carol.jones@example.com', comment: 'Still needed' });
            expect(answer.body).toMatchObject({ status: 'rejected' });
            expect(h.simulator.isc.actions[0]).toMatchObject({ action: 'reject', body: { comment: expect.stringContaining('Carol Jones <carol.jones@example.com>') } });
        });

        it('adds a comment without deciding', async () => {
            await start();
            const { roleRequest } = h.iscSample.approvals;
            const answer = await post(roleRequest.id, 'comment', { approverEmail: 'jamie.rivera@example.com', comment: 'Asking Amy first' });
            expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'commented', approvalId: roleRequest.id }) });
            expect(h.simulator.isc.actions[0]).toMatchObject({ action: 'comments', body: { comment: expect.stringMatching(/^Asking Amy first \(via Moveworks/) } });
            expect((await post(roleRequest.id, 'approve', { approverEmail: 'jamie.rivera@example.com' })).status).toBe(200);
        });

        it('reassigns to the person with the given email, and the next poll notifies them', async () => {
            await start();
            const { roleRequest } = h.iscSample.approvals;
            const { jamie, dana } = h.iscSample.people;
            const answer = await post(roleRequest.id, 'reassign', { approverEmail: 'jamie.rivera@example.com', reassignToEmail: 'Dana.Lee@example.com', comment: 'Dana owns this now' });
            expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'reassigned' }) });
            expect(h.simulator.isc.actions[0]).toMatchObject({ action: 'reassign', body: { reassignTo: dana.id, reassignFrom: jamie.id, comment: expect.stringContaining('Dana owns this now') } });
            await fn!.pollNow();
            expect(messagesFor(roleRequest.id).map((m) => m.recipients)).toEqual([['jamie.rivera@example.com'], ['dana.lee@example.com']]);
            expect((await post(roleRequest.id, 'approve', { approverEmail: 'jamie.rivera@example.com' })).body.error.code).toBe('reassigned');
            expect((await post(roleRequest.id, 'approve', { approverEmail: 'dana.lee@example.com' })).status).toBe(200);
        });

        it.each([
            ['nobody has', 'ghost@example.com'],
            ['two identities share', 'shared@example.com'],
        ])('answers 400 to a reassignment to an email %s', async (_, email) => {
            await start();
            h.simulator.isc.addIdentity({ name: 'Shared One', email: 'shared@example.com' });
            h.simulator.isc.addIdentity({ name: 'Shared Two', email: 'shared@example.com' });
            const answer = await post(h.iscSample.approvals.roleRequest.id, 'reassign', { approverEmail: 'jamie.rivera@example.com', reassignToEmail: email });
            expect(answer.status).toBe(400);
            expect(answer.body.error.code).toBe('invalid_reassign_target');
            expect(h.simulator.calls['isc.reassign']).toBe(0);
        });

        it('answers 403 to someone who is not a current approver, for every action', async () => {
            await start();
            const id = h.iscSample.approvals.roleRequest.id;
            for (const [action, body] of [
                ['approve', {}],
                ['comment', { comment: 'hi' }],
                ['reassign', { reassignToEmail: 'dana.lee@example.com' }],
            ] as const) {
                const answer = await post(id, action, { approverEmail: 'carol.jones@example.com', ...body });
                expect([action, answer.status, answer.body.error.code]).toEqual([action, 403, 'not_approver']);
            }
            expect(h.simulator.isc.actions).toEqual([]);
        });

        it('surfaces the ISC error with its tracking id, and keeps the approval open', async () => {
            await start();
            const { roleRequest } = h.iscSample.approvals;
            h.simulator.failNext('isc.approve', {
                status: 500,
                contentType: 'application/json',
                body: JSON.stringify({ detailCode: '500.0 Internal Fault', trackingId: 'b4c7d1e0f9a84b2c', messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text: 'An internal fault occurred.' }] }),
            });
            const failed = await post(roleRequest.id, 'approve', { approverEmail: 'jamie.rivera@example.com' });
            expect(failed.status).toBe(502);
            expect(failed.body.error.message).toContain('tracking id b4c7d1e0f9a84b2c');
            expect(failed.body.error.message).toContain('500.0 Internal Fault');
            expect((await post(roleRequest.id, 'approve', { approverEmail: 'jamie.rivera@example.com' })).status).toBe(200);
        });
    });

    describe('both sources at once', () => {
        it('notifies approvals of both sources and routes each action to its source', async () => {
            await start({}, ['iiq', 'isc']);
            expect(h.simulator.messages).toHaveLength(6);
            const iiqAnswer = await post(h.sample.workItems.roleRequest.id, 'approve', { approverEmail: 'jamie.rivera@example.com' });
            const iscAnswer = await post(h.iscSample.approvals.roleRequest.id, 'approve', { approverEmail: 'jamie.rivera@example.com' });
            expect([iiqAnswer.status, iscAnswer.status]).toEqual([200, 200]);
            expect(h.simulator.decisions).toHaveLength(1);
            expect(h.simulator.isc.actions).toHaveLength(1);
        });

        it('says in health which sources are on', async () => {
            await start({}, ['iiq', 'isc']);
            const health = (await (await fetch(`${fn!.url}/api/health`)).json()) as { sources: unknown };
            expect(health.sources).toEqual({ iiq: { configured: true }, isc: { configured: true, apiVersion: 'v1', kinds: ['access-requests', 'generic'] } });
        });

        it.each(['comment', 'reassign'])('answers 501 not_supported_by_source to %s on an IdentityIQ approval', async (action) => {
            await start({}, ['iiq', 'isc']);
            const answer = await post(h.sample.workItems.roleRequest.id, action, { approverEmail: 'jamie.rivera@example.com', comment: 'x', reassignToEmail: 'carol.jones@example.com' });
            expect(answer).toEqual({ status: 501, body: { error: { code: 'not_supported_by_source', message: expect.stringContaining('IdentityIQ') } } });
        });

        it('keeps polling one source while the other is down', async () => {
            h = await startHarness({ simulator: { sources: ['iiq', 'isc'] } });
            h.simulator.failNext('iiq.list', ...Array.from({ length: 5 }, () => ({ status: 500 })));
            await h.app.poll();
            expect(h.simulator.messages.map((m) => m.slots.approval_id).sort()).toEqual(Object.values(h.iscSample.approvals).map((a) => a.id).sort());
        });
    });
});
