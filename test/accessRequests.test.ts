import { IscAccessRequestApproval } from '../dev/simulator/isc';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

describe('Identity Security Cloud access-request approvals', () => {
    let h: Harness;
    let fn: FunctionHost | undefined;
    afterEach(async () => {
        await fn?.stop();
        fn = undefined;
        await h.stop();
    });
    /** A harness on ISC only, with one pending access request for Jamie (the sample's generic approvals stay, as a tenant's would). */
    const begin = async (settings: Record<string, string> = {}, simulator = {}) => {
        h = await startHarness({ simulator: { sources: ['isc'], ...simulator }, settings });
        const { jamie, allen, amy } = h.iscSample.people;
        const request = h.simulator.isc.addAccessRequest({
            ownerId: jamie.id,
            requesterId: allen.id,
            requestedForId: amy.id,
            name: 'Finance Analyst',
            requestedObject: { id: 'e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6', name: 'Finance Analyst', description: 'Read access to the ledger', type: 'ROLE' },
        });
        return request;
    };
    const serve = async () => {
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
    };
    const post = (id: string, action: string, body: unknown) => fn!.post(`/api/approvals/${id}/${action}`, body);
    const messagesFor = (id: string) => h.simulator.messagesFor(id);
    const pendingQueries = () => h.simulator.requests.filter((r) => r.route === 'isc.accessRequests.pending').map((r) => r.url.searchParams);
    const jamie = 'jamie.rivera@example.com';

    describe('settings', () => {
        it('says in health which kinds are on: both by default', async () => {
            await begin();
            await serve();
            expect((await fn!.get('/api/health')).body.sources.isc).toMatchObject({ configured: true, kinds: ['access-requests', 'generic'] });
        });

        it('lists and notifies only the kinds ISC_APPROVAL_KINDS names', async () => {
            const request = await begin({ ISC_APPROVAL_KINDS: 'generic' });
            await serve();
            expect((await fn!.get('/api/health')).body.sources.isc.kinds).toEqual(['generic']);
            expect(h.simulator.calls['isc.accessRequests.pending']).toBe(0);
            expect(messagesFor(request.id)).toEqual([]);
            expect(messagesFor(h.iscSample.approvals.roleRequest.id)).toHaveLength(1);
        });
    });

    describe('listing', () => {
        it("lists the whole organisation's pending access requests, oldest first, 250 at a time, to the end", async () => {
            await begin({ MOVEWORKS_MAX_PER_MINUTE: '100000' }, { moveworksPerMinute: 100_000 });
            for (let i = 0; i < 600; i++) h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.carol.id, requestedObject: { id: `o${i}`, name: `Role ${i}`, type: 'ROLE' } });
            await h.app.poll();
            const queries = pendingQueries();
            expect(queries.map((q) => q.get('offset'))).toEqual(['0', '250', '500']);
            for (const query of queries) {
                expect(Object.fromEntries(query)).toEqual({ limit: '250', offset: query.get('offset'), count: 'true', sorters: 'created' });
                expect(query.has('owner-id')).toBe(false);
            }
            const notified = new Set(h.simulator.messages.map((m) => m.slots.approval_id));
            expect([...h.simulator.isc.accessRequests.keys()].every((id) => notified.has(id))).toBe(true);
        });

        it.each([
            ['smaller than the list', (total: number) => total - 50],
            ['larger than the list', (total: number) => total + 500],
        ])('pages until a short page, whatever X-Total-Count says: a count %s', async (_label, reported) => {
            await begin({ MOVEWORKS_MAX_PER_MINUTE: '100000', ISC_APPROVAL_KINDS: 'access-requests' }, { moveworksPerMinute: 100_000 });
            for (let i = 0; i < 299; i++) h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.carol.id, requestedObject: { id: `o${i}`, name: `Role ${i}`, type: 'ROLE' } });
            h.simulator.isc.reportedTotal = reported;
            await h.app.poll();
            expect(new Set(h.simulator.messages.map((m) => m.slots.approval_id)).size).toBe(300);
            expect(pendingQueries().map((q) => q.get('offset'))).toEqual(['0', '250']);
        });

        it('notifies the owner once, at their email looked up from their identity', async () => {
            const request = await begin();
            await serve();
            await fn!.pollNow();
            expect(messagesFor(request.id).map((m) => m.recipients)).toEqual([[jamie]]);
        });

        it('looks owners up in batches: 250 new approvals with 250 owners cost at most 1.1 calls each, the messages included', async () => {
            await begin({ MOVEWORKS_MAX_PER_MINUTE: '100000', ISC_APPROVAL_KINDS: 'access-requests' }, { moveworksPerMinute: 100_000 });
            for (let i = 0; i < 250; i++) {
                const owner = h.simulator.isc.addIdentity({ name: `Owner ${i}`, email: `owner${i}@example.com` });
                h.simulator.isc.addAccessRequest({ ownerId: owner.id, requestedObject: { id: `o${i}`, name: `Role ${i}`, type: 'ROLE' } });
            }
            const before = { ...h.simulator.calls };
            await h.app.poll();
            const made = (route: keyof typeof before) => h.simulator.calls[route] - before[route];
            const calls = made('isc.token') + made('isc.accessRequests.pending') + made('isc.identities') + made('moveworks.send');
            expect(made('isc.identities')).toBeLessThanOrEqual(6);
            expect(h.simulator.messages).toHaveLength(251);
            expect(calls / 251).toBeLessThanOrEqual(1.1);
        });

        it('notifies an owner ISC has not correlated to an account', async () => {
            await begin();
            const owner = h.simulator.isc.addIdentity({ name: 'Contractor Owner', email: 'contractor@example.com', correlated: false });
            const request = h.simulator.isc.addAccessRequest({ ownerId: owner.id, requestedObject: { id: 'c1', name: 'Lab access', type: 'ROLE' } });
            await h.app.poll();
            expect(messagesFor(request.id).map((m) => m.recipients)).toEqual([['contractor@example.com']]);
        });

        it('lets an owner ISC has not correlated to an account act, and be forwarded to', async () => {
            const request = await begin();
            const contractor = h.simulator.isc.addIdentity({ name: 'Contractor Owner', email: 'contractor@example.com', correlated: false });
            h.simulator.isc.addIdentity({ name: 'Temp Approver', email: 'temp@example.com', correlated: false });
            h.simulator.isc.forwardAccessRequestTo(request.id, contractor.id);
            await serve();
            expect((await post(request.id, 'reassign', { approverEmail: 'contractor@example.com', reassignToEmail: 'temp@example.com' })).status).toBe(200);
            await fn!.pollNow();
            expect((await post(request.id, 'approve', { approverEmail: 'temp@example.com' })).status).toBe(200);
        });

        it('notifies the new owner when the approval is forwarded inside ISC', async () => {
            const request = await begin();
            await serve();
            h.simulator.isc.forwardAccessRequestTo(request.id, h.iscSample.people.dana.id);
            await fn!.pollNow();
            const messages = messagesFor(request.id);
            expect(messages.map((m) => m.recipients)).toEqual([[jamie], ['dana.lee@example.com']]);
            expect(messages[1].message).toContain('reassigned to you');
        });

        it('does not notify an approval ISC is already carrying out a decision on, and keeps its row open', async () => {
            const held = await begin();
            h.simulator.isc.setActionInProcess(held.id, 'APPROVED');
            await serve();
            expect(messagesFor(held.id)).toEqual([]);
            h.simulator.isc.setActionInProcess(held.id, undefined);
            await fn!.pollNow();
            expect(messagesFor(held.id)).toHaveLength(1);
            h.simulator.isc.setActionInProcess(held.id, 'FORWARDED');
            await fn!.pollNow();
            expect((await fn!.get(`/api/approvals?approverEmail=${jamie}`)).body.approvals.map((a: { approvalId: string }) => a.approvalId)).toContain(held.id);
        });

        it('closes the row once the approval leaves the pending list, and an action then answers 409', async () => {
            const request = await begin();
            await serve();
            h.simulator.isc.completeAccessRequest(request.id, 'REJECTED');
            await fn!.pollNow();
            expect((await fn!.get(`/api/approvals?approverEmail=${jamie}`)).body.approvals.map((a: { approvalId: string }) => a.approvalId)).not.toContain(request.id);
            const answer = await post(request.id, 'approve', { approverEmail: jamie });
            expect([answer.status, answer.body.error.code]).toEqual([409, 'no_longer_pending']);
        });

        it('keeps notifying generic approvals while the access-request list is refused, and closes nothing', async () => {
            const request = await begin({ FULL_SWEEP_MINUTES: '0' });
            await serve();
            h.simulator.isc.orgAdmin = false;
            const later = h.simulator.isc.addApproval({ name: 'Generic after the outage', assignedTo: [{ kind: 'identity', id: h.iscSample.people.carol.id }] });
            await fn!.pollNow();
            expect(messagesFor(later.id)).toHaveLength(1);
            expect((await fn!.get(`/api/approvals?approverEmail=${jamie}`)).body.approvals.map((a: { approvalId: string }) => a.approvalId)).toContain(request.id);
        });

        it('keeps notifying approvals whose emails ISC gives inline while the owner look-ups are refused, and notifies the rest once they work', async () => {
            const request = await begin();
            const refused = { status: 403, contentType: 'application/json', body: JSON.stringify({ detailCode: '403 Forbidden', messages: [{ text: 'insufficient scope' }] }) };
            h.simulator.failNext('isc.identities', refused);
            await h.app.poll();
            expect(messagesFor(h.iscSample.approvals.roleRequest.id)).toHaveLength(1);
            expect(messagesFor(request.id)).toEqual([]);
            expect(h.log.entries.some((entry) => entry.event === 'sync.recipients_failed')).toBe(true);
            await h.app.poll();
            expect(messagesFor(request.id)).toHaveLength(1);
        });

        it('names the missing ORG_ADMIN level and personal access token when ISC refuses the list with 403', async () => {
            await begin();
            h.simulator.isc.orgAdmin = false;
            await h.app.poll();
            const failure = h.log.entries.find((entry) => entry.event === 'sync.listing_failed' && entry.source === 'isc');
            expect(String(failure?.error)).toMatch(/403/);
            expect(String(failure?.error)).toMatch(/personal access token/);
            expect(String(failure?.error)).toMatch(/ORG_ADMIN/);
        });
    });

    it('answers an action with a message naming the missing ORG_ADMIN level when ISC refuses the live read with 403', async () => {
        const request = await begin();
        await serve();
        h.simulator.isc.orgAdmin = false;
        const answer = await post(request.id, 'approve', { approverEmail: jamie });
        expect(answer.status).toBe(502);
        expect(answer.body.error.message).toMatch(/ORG_ADMIN/);
        expect(h.simulator.isc.accessRequestActions).toEqual([]);
    });

    it('keeps approvals already notified open and actionable when their kind is turned off', async () => {
        const request = await begin({ FULL_SWEEP_MINUTES: '0' });
        await serve();
        await fn!.stop();
        fn = await startFunctionHost({ ...h.settings, ISC_APPROVAL_KINDS: 'generic' });
        await fn.pollNow();
        expect((await fn.get(`/api/approvals?approverEmail=${jamie}`)).body.approvals.map((a: { approvalId: string }) => a.approvalId)).toContain(request.id);
        expect((await post(request.id, 'approve', { approverEmail: jamie })).status).toBe(200);
    });

    describe('the message', () => {
        it('shows what is asked, for whom, by whom, the history, the dates, the level and every conflict, escaped', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            const { jamie: owner, allen, amy } = h.iscSample.people;
            const start = Date.UTC(2026, 11, 7, 8, 0);
            const sunset = Date.UTC(2027, 2, 31, 17, 0);
            const request = h.simulator.isc.addAccessRequest({
                ownerId: owner.id,
                requesterId: allen.id,
                requestedForId: amy.id,
                name: 'Payments <Admin>',
                requestType: 'REVOKE_ACCESS',
                requestedObject: { id: 'p1', name: 'Payments <Admin>', description: 'Approve "wire" transfers & refunds', type: 'ENTITLEMENT' },
                requesterComment: 'Moving to <b>audit</b>',
                previousReviewersComments: [{ authorId: allen.id, comment: 'Manager OK & signed', created: start }],
                forwardHistory: [
                    { oldApproverName: 'Bob Smith', newApproverName: 'Carol Jones', forwarderName: 'Bob Smith', comment: 'older', modified: start - 2 * 86_400_000, reassignmentType: 'MANUAL_REASSIGNMENT' },
                    { oldApproverName: 'Carol Jones', newApproverName: 'Jamie Rivera', forwarderName: 'Carol Jones', comment: 'Jamie owns <payments>', modified: start - 86_400_000, reassignmentType: 'MANUAL_REASSIGNMENT' },
                ],
                startDate: start,
                removeDate: sunset,
                privilegeLevel: 'HIGH',
                sodConflicts: [
                    { policyName: 'Pay & Approve', left: [{ name: 'Payments <Admin>', type: 'ENTITLEMENT' }], right: [{ name: 'Vendor Master', type: 'ROLE' }] },
                    { policyName: 'Refund separation', left: [{ name: 'Refunds', type: 'ENTITLEMENT' }], right: [{ name: 'Ledger Write', type: 'ENTITLEMENT' }, { name: 'Cash', type: 'ROLE' }] },
                ],
            });
            await h.app.poll();
            const [{ message }] = messagesFor(request.id);
            for (const text of [
                'Payments &lt;Admin&gt;',
                'Revoke',
                'Entitlement',
                'Approve &quot;wire&quot; transfers &amp; refunds',
                'Amy Cox',
                'Allen Burton',
                'Moving to &lt;b&gt;audit&lt;/b&gt;',
                'Manager OK &amp; signed',
                'Jamie owns &lt;payments&gt;',
                '07 Dec 2026 08:00 UTC',
                '31 Mar 2027 17:00 UTC',
                'HIGH',
                'Separation-of-duties conflict</b> (Pay &amp; Approve): Payments &lt;Admin&gt; conflicts with Vendor Master',
                'Separation-of-duties conflict</b> (Refund separation): Refunds conflicts with Ledger Write, Cash',
            ]) {
                expect(message).toContain(text);
            }
            expect(message).not.toContain('older');
            expect(message).not.toMatch(/<(?!\/?(b|i|br)>)/);
        });

        it('stays within 20,000 characters with dozens of conflicts and every field long and full of characters to escape', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] }, settings: { ISC_APPROVAL_KINDS: 'access-requests' } });
            const hostile = (i: number) => `${i} ${'&"<>'.repeat(400)}`;
            const conflicts = Array.from({ length: 60 }, (_, i) => ({
                policyName: hostile(i),
                left: [{ name: hostile(i), type: 'ROLE' as const }],
                right: [{ name: hostile(i + 1), type: 'ENTITLEMENT' as const }, { name: hostile(i + 2), type: 'ROLE' as const }],
            }));
            const request = h.simulator.isc.addAccessRequest({
                ownerId: h.iscSample.people.jamie.id,
                name: hostile(1),
                requestedObject: { id: 'p', name: hostile(2), description: hostile(3), type: 'ROLE' },
                requesterComment: hostile(4),
                previousReviewersComments: Array.from({ length: 5 }, (_, i) => ({ comment: hostile(i), created: Date.now() })),
                forwardHistory: [{ oldApproverName: hostile(5), newApproverName: hostile(6), forwarderName: hostile(7), comment: hostile(8), modified: Date.now(), reassignmentType: 'MANUAL_REASSIGNMENT' }],
                privilegeLevel: hostile(9),
                sodConflicts: conflicts,
            });
            await h.app.poll();
            const [{ message }] = messagesFor(request.id);
            expect(message.length).toBeLessThanOrEqual(20_000);
            expect(message).toMatch(/more separation-of-duties conflict/);
            expect(message).not.toMatch(/&(?!(amp|lt|gt|quot|#39);)/);
        });

        it.each([
            ['a requested object', (h: Harness) => h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.jamie.id, requestedObject: { id: 'o', name: 'N'.repeat(40_000), type: 'ROLE' } })],
            [
                'an owner',
                (h: Harness) =>
                    h.simulator.isc.addAccessRequest({ ownerId: h.simulator.isc.addIdentity({ name: 'O'.repeat(40_000), email: 'long.owner@example.com' }).id, requestedObject: { id: 'o', name: 'Ledger', type: 'ROLE' } }),
            ],
        ])('notifies and lists an approval with a 40,000-character name of %s', async (_label, add) => {
            h = await startHarness({ simulator: { sources: ['isc'] }, settings: { ISC_APPROVAL_KINDS: 'access-requests' } });
            const request = add(h);
            await h.app.poll();
            expect(messagesFor(request.id)).toHaveLength(1);
            const [recipient] = messagesFor(request.id)[0].recipients;
            const listed = await h.app.pendingFor(recipient, 10, 0);
            expect(listed.approvals.map((entry) => entry.approvalId)).toContain(request.id);
            expect(JSON.stringify(listed).length).toBeLessThan(5_000);
        });

        it('shows every conflict when they fit', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] }, settings: { ISC_APPROVAL_KINDS: 'access-requests' } });
            const conflicts = Array.from({ length: 25 }, (_, i) => ({ policyName: `Policy ${i}`, left: [{ name: `Left ${i}`, type: 'ROLE' as const }], right: [{ name: `Right ${i}`, type: 'ROLE' as const }] }));
            const request = h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.jamie.id, requestedObject: { id: 'p', name: 'Payments', type: 'ROLE' }, sodConflicts: conflicts });
            await h.app.poll();
            const [{ message }] = messagesFor(request.id);
            expect(message.match(/Separation-of-duties conflict<\/b>/g)).toHaveLength(25);
            expect(message).not.toMatch(/more separation-of-duties/);
        });
    });

    describe('actions', () => {
        it('approves through the access-request API after reading it live, with the approver named in the comment', async () => {
            const request = await begin();
            await serve();
            const answer = await post(request.id, 'approve', { approverEmail: jamie, comment: 'Fine by me' });
            expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'approved', approvalId: request.id, source: 'isc' }) });
            expect(answer.body.message).toBe(`Approved Amy Cox's request for Finance Analyst; Identity Security Cloud is carrying out the decision on access-request approval ${request.id}.`);
            expect(h.simulator.isc.accessRequestActions).toEqual([
                expect.objectContaining({ approvalId: request.id, action: 'approve', body: { comment: 'Fine by me (via Moveworks, on behalf of Jamie Rivera <jamie.rivera@example.com>)' } }),
            ]);
            expect(pendingQueries().some((q) => q.get('filters') === `id eq "${request.id}"`)).toBe(true);
            expect(h.simulator.calls['isc.approve']).toBe(0);
        });

        it('rejects with the reason given, or with a sentence naming who rejected in chat', async () => {
            const request = await begin();
            const second = h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.jamie.id, requestedObject: { id: 'x2', name: 'Other', type: 'ROLE' } });
            await serve();
            expect((await post(request.id, 'reject', { approverEmail: jamie, comment: 'Not for this role' })).body.status).toBe('rejected');
            expect((await post(second.id, 'reject', { approverEmail: jamie })).body.status).toBe('rejected');
            expect(h.simulator.isc.accessRequestActions.map((a) => [a.action, a.body.comment])).toEqual([
                ['reject', 'Not for this role (via Moveworks, on behalf of Jamie Rivera <jamie.rivera@example.com>)'],
                ['reject', 'Rejected in chat (via Moveworks, on behalf of Jamie Rivera <jamie.rivera@example.com>)'],
            ]);
        });

        it('answers 400 comment_required to a rejection without a reason when ISC requires one, and writes nothing', async () => {
            h = await startHarness({ simulator: { sources: ['isc'] } });
            const request = h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.jamie.id, commentRequiredWhenRejected: true, requestedObject: { id: 'r', name: 'Treasury', type: 'ROLE' } });
            await serve();
            expect(messagesFor(request.id)[0].message).toContain('A reason is required to reject this request.');
            const answer = await post(request.id, 'reject', { approverEmail: jamie });
            expect([answer.status, answer.body.error.code]).toEqual([400, 'comment_required']);
            expect(answer.body.error.message).toMatch(/reason/);
            expect(h.simulator.isc.accessRequestActions).toEqual([]);
            expect((await post(request.id, 'reject', { approverEmail: jamie, comment: 'No business need' })).status).toBe(200);
        });

        it('forwards to the one identity with the given email, and the next poll notifies them', async () => {
            const request = await begin();
            await serve();
            const answer = await post(request.id, 'reassign', { approverEmail: jamie, reassignToEmail: 'Dana.Lee@example.com' });
            expect(answer).toEqual({ status: 200, body: expect.objectContaining({ status: 'reassigned' }) });
            const [forward] = h.simulator.isc.accessRequestActions;
            expect(forward).toMatchObject({ action: 'forward', body: { newOwnerId: h.iscSample.people.dana.id, comment: expect.stringMatching(/^Forwarded in chat to Dana Lee \(via Moveworks/) } });
            await fn!.pollNow();
            expect(messagesFor(request.id).map((m) => m.recipients)).toEqual([[jamie], ['dana.lee@example.com']]);
            expect((await post(request.id, 'approve', { approverEmail: 'dana.lee@example.com' })).status).toBe(200);
        });

        it('cuts a long forwarding comment to 255 characters, keeping who forwarded it, whatever MAX_COMMENT_LENGTH says', async () => {
            const request = await begin();
            await serve();
            const answer = await post(request.id, 'reassign', { approverEmail: jamie, reassignToEmail: 'dana.lee@example.com', comment: 'x'.repeat(1500) });
            expect(answer.status).toBe(200);
            const comment = String(h.simulator.isc.accessRequestActions[0].body.comment);
            expect(comment.length).toBeLessThanOrEqual(255);
            expect(comment).toMatch(/^x+… \(via Moveworks, on behalf of Jamie Rivera <jamie\.rivera@example\.com>\)$/);
        });

        it('cuts a forwarding comment between characters, never inside one', async () => {
            const request = await begin();
            await serve();
            expect((await post(request.id, 'reassign', { approverEmail: jamie, reassignToEmail: 'dana.lee@example.com', comment: 'x' + '😀'.repeat(200) })).status).toBe(200);
            const comment = String(h.simulator.isc.accessRequestActions[0].body.comment);
            expect(comment).toMatch(/^x(😀)+… \(via Moveworks/);
        });

        it('answers 409 when ISC starts carrying out another decision between the live read and the write', async () => {
            const request = await begin();
            await serve();
            h.simulator.failNext('isc.accessRequests.approve', { delayMs: 300 });
            const pending = post(request.id, 'approve', { approverEmail: jamie });
            await new Promise((resolve) => setTimeout(resolve, 150));
            h.simulator.isc.setActionInProcess(request.id, 'APPROVED');
            const answer = await pending;
            expect([answer.status, answer.body.error.code]).toEqual([409, 'decision_in_progress']);
        });

        it('answers 501 not_supported_by_source to a comment, without calling ISC', async () => {
            const request = await begin();
            await serve();
            const before = h.simulator.calls['isc.accessRequests.pending'];
            const answer = await post(request.id, 'comment', { approverEmail: jamie, comment: 'Checking' });
            expect([answer.status, answer.body.error.code]).toEqual([501, 'not_supported_by_source']);
            expect(h.simulator.calls['isc.accessRequests.pending']).toBe(before);
        });

        it('answers 403 not_approver to someone who is not the owner, for every action', async () => {
            const request = await begin();
            await serve();
            for (const [action, body] of [
                ['approve', {}],
                ['reject', { comment: 'no' }],
                ['reassign', { reassignToEmail: 'dana.lee@example.com' }],
            ] as const) {
                const answer = await post(request.id, action, { approverEmail: 'carol.jones@example.com', ...body });
                expect([action, answer.status, answer.body.error.code]).toEqual([action, 403, 'not_approver']);
            }
            expect(h.simulator.isc.accessRequestActions).toEqual([]);
        });

        it('answers 409 to an action while ISC carries out a decision already, and writes nothing', async () => {
            const request = await begin();
            await serve();
            h.simulator.isc.setActionInProcess(request.id, 'REJECTED');
            const answer = await post(request.id, 'approve', { approverEmail: jamie });
            expect([answer.status, answer.body.error.code]).toEqual([409, 'decision_in_progress']);
            expect(answer.body.error.message).toContain('rejected');
            expect(h.simulator.isc.accessRequestActions).toEqual([]);
        });

        it('answers 409 when the approval was decided in ISC since it was notified', async () => {
            const request = await begin();
            await serve();
            h.simulator.isc.completeAccessRequest(request.id, 'APPROVED');
            const answer = await post(request.id, 'reject', { approverEmail: jamie, comment: 'no' });
            expect([answer.status, answer.body.error.code]).toEqual([409, 'no_longer_pending']);
            expect(h.simulator.isc.accessRequestActions).toEqual([]);
        });

        it('makes one forward of twenty simultaneous reassign clicks', async () => {
            const request = await begin();
            await serve();
            const answers = await Promise.all(Array.from({ length: 20 }, () => post(request.id, 'reassign', { approverEmail: jamie, reassignToEmail: 'dana.lee@example.com' })));
            expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
            expect(answers.filter((a) => a.status === 409)).toHaveLength(19);
            expect(h.simulator.isc.accessRequestActions.map((a) => a.action)).toEqual(['forward']);
        });

        it('never both forwards and approves when approve and reassign clicks race', async () => {
            const request = await begin();
            await serve();
            await Promise.all(
                Array.from({ length: 20 }, (_, i) => (i % 2 ? post(request.id, 'approve', { approverEmail: jamie }) : post(request.id, 'reassign', { approverEmail: jamie, reassignToEmail: 'dana.lee@example.com' }))),
            );
            expect(h.simulator.isc.accessRequestActions).toHaveLength(1);
        });

        it('makes one write of twenty simultaneous clicks', async () => {
            const request = await begin();
            await serve();
            const answers = await Promise.all(Array.from({ length: 20 }, () => post(request.id, 'approve', { approverEmail: jamie })));
            expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
            expect(answers.filter((a) => a.status === 409)).toHaveLength(19);
            expect(h.simulator.isc.accessRequestActions).toHaveLength(1);
        });
    });

    describe('one message per access request with both kinds on', () => {
        const mirrored = async () => {
            const request = await begin();
            const mirror = h.simulator.isc.mirrorAsGeneric(request.id);
            return { request, mirror };
        };

        it('notifies the access-request approval, not its generic mirror, when both arrive in the same poll', async () => {
            const { request, mirror } = await mirrored();
            await serve();
            await fn!.pollNow();
            expect(messagesFor(request.id)).toHaveLength(1);
            expect(messagesFor(mirror.id)).toEqual([]);
            const answer = await post(mirror.id, 'approve', { approverEmail: jamie });
            expect(answer.status).toBe(404);
        });

        it('sends nothing for a mirror listed before its access request, then one message when the access request appears', async () => {
            const { request, mirror } = await mirrored();
            const hidden: IscAccessRequestApproval = h.simulator.isc.accessRequests.get(request.id)!;
            h.simulator.isc.accessRequests.delete(request.id);
            await serve();
            expect(messagesFor(mirror.id)).toEqual([]);
            h.simulator.isc.accessRequests.set(request.id, hidden);
            await fn!.pollNow();
            await fn!.pollNow();
            expect(messagesFor(request.id)).toHaveLength(1);
            expect(messagesFor(mirror.id)).toEqual([]);
        });

        it('sends nothing more when the mirror appears after its access request was notified or decided', async () => {
            const request = await begin();
            await serve();
            const mirror = h.simulator.isc.mirrorAsGeneric(request.id);
            await fn!.pollNow();
            expect((await post(request.id, 'approve', { approverEmail: jamie })).status).toBe(200);
            await fn!.pollNow();
            expect(messagesFor(request.id)).toHaveLength(1);
            expect(messagesFor(mirror.id)).toEqual([]);
        });

        it('after an upgrade to both kinds, answers 409 to the old generic message and acts only on the access-request approval', async () => {
            const request = await begin({ ISC_APPROVAL_KINDS: 'generic', FULL_SWEEP_MINUTES: '0' });
            const mirror = h.simulator.isc.mirrorAsGeneric(request.id);
            await serve();
            expect(messagesFor(mirror.id)).toHaveLength(1);
            await fn!.stop();
            fn = await startFunctionHost({ ...h.settings, ISC_APPROVAL_KINDS: 'access-requests,generic' });
            await fn.pollNow();
            expect(messagesFor(request.id)).toHaveLength(1);
            const old = await post(mirror.id, 'approve', { approverEmail: jamie });
            expect([old.status, old.body.error.code]).toEqual([409, 'no_longer_pending']);
            expect(old.body.error.message).toMatch(/access-request approval/);
            expect(h.simulator.calls['isc.approve']).toBe(0);
            expect((await post(request.id, 'approve', { approverEmail: jamie })).status).toBe(200);
        });

        it('logs how many mirrors have no pending access request, so a tenant that lists access requests only as generic approvals shows', async () => {
            await begin();
            h.simulator.isc.addApproval({ name: 'Only generic', assignedTo: [{ kind: 'identity', id: h.iscSample.people.jamie.id }], referenceData: [{ id: 'f'.repeat(32), type: 'AccessRequestId' }] });
            await h.app.poll();
            expect(h.log.entries.find((entry) => entry.event === 'isc.list.mirrors_left_out')).toMatchObject({ count: 1, withoutPendingAccessRequest: 1 });
        });

        it('notifies the mirror as a generic approval when only the generic kind is on', async () => {
            const request = await begin({ ISC_APPROVAL_KINDS: 'generic' });
            const mirror = h.simulator.isc.mirrorAsGeneric(request.id);
            await serve();
            expect(messagesFor(mirror.id)).toHaveLength(1);
            expect(messagesFor(request.id)).toEqual([]);
        });
    });
});
