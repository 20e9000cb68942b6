import { createHmac } from 'node:crypto';
import { loadConfig } from '../shared/config';
import { notifierFor } from '../shared/moveworks/delivery';
import { HttpClient } from '../shared/platform/http';
import { Harness, manualClock, startHarness } from './support/harness';

const HOUR = 3_600_000;
const memberEmail = (i: number) => `firstname.lastname-${String(i).padStart(4, '0')}@corporate-division.example.com`;

/**
 * MOVEWORKS_DELIVERY=listener: one JSON POST per approval (and per reminder) to an Agent Studio webhook
 * listener, with the guarantees of the Events path (recorded before it can be lost or doubled, paced).
 */
describe('delivery to an Agent Studio webhook listener', () => {
    let h: Harness;
    afterEach(async () => {
        await h.stop();
    });

    let listening: Record<string, string>;
    const begin = async (settings: Record<string, string> = {}, simulator: Record<string, unknown> = {}) => {
        h = await startHarness({ simulator: { sources: ['iiq', 'isc'], ...simulator } });
        // A listener tenant has no event id or Events API key: they are blanked, as unset.
        listening = { MOVEWORKS_EVENT_ID: '', MOVEWORKS_API_KEY: '', ...h.simulator.listenerSettings(), ...settings };
        h.app = createListenerApp();
    };
    const createListenerApp = (clock?: () => number, overrides: Record<string, string> = {}) => h.newApp({ ...listening, ...overrides }, clock);
    const noticesOf = (approvalId: string) => h.simulator.noticesFor(approvalId).map((notice) => notice.body);

    it('posts one notice per approval with the rendered message, the approval in fields, and nothing to the Events API', async () => {
        await begin();
        const { roleRequest } = h.sample.workItems;
        await h.app.poll();
        const [notice] = noticesOf(roleRequest.id);
        expect(notice).toEqual({
            type: 'approval.pending',
            approvalId: roleRequest.id,
            source: 'iiq',
            recipients: ['jamie.rivera@example.com'],
            message: expect.stringContaining('New SailPoint approval request'),
            summary: expect.objectContaining({ title: expect.any(String), sourceTitle: 'IdentityIQ', items: expect.any(Array), conflicts: [] }),
            sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        });
        expect(noticesOf(roleRequest.id)).toHaveLength(1);
        expect(h.simulator.messages).toEqual([]);
    });

    it('keeps the approval in fields on its rows only for the listener, which sends them', async () => {
        await begin();
        const { roleRequest } = h.sample.workItems;
        await h.app.poll();
        expect((await h.app.store.get('iiq', roleRequest.id))!.card).toMatchObject({ sourceTitle: 'IdentityIQ' });
        const throughEvent = h.newApp({ STATE_TABLE_NAME: `${h.settings.STATE_TABLE_NAME}events` });
        await throughEvent.poll();
        expect((await throughEvent.store.get('iiq', roleRequest.id))!.card).toBeUndefined();
    });

    it("sends the next step's approvers the approval in fields too, after the first step approved through the app", async () => {
        await begin({}, { sources: ['isc'] });
        const { jamie, dana, allen, amy } = h.iscSample.people;
        const serial = h.simulator.isc.addApproval({
            name: 'Access Request: Payroll Admin',
            requesterId: allen.id,
            requesteeId: amy.id,
            assignedTo: [{ kind: 'identity', id: jamie.id }],
            laterSteps: [[{ kind: 'identity', id: dana.id }]],
        });
        await h.app.poll();
        await h.app.decide({ approvalId: serial.id, decision: 'approve', approverEmail: 'jamie.rivera@example.com' });
        await h.app.poll();
        const nextStep = noticesOf(serial.id).find((notice) => notice.recipients.includes('dana.lee@example.com'));
        expect(nextStep).toMatchObject({ type: 'approval.pending', summary: expect.objectContaining({ requestedFor: amy.name }) });
    });

    it('says in its health answer that it delivers to a listener', async () => {
        await begin();
        expect(h.app.health().moveworks).toMatchObject({ delivery: 'listener' });
        expect(h.newApp().health().moveworks).toMatchObject({ delivery: 'events' });
    });

    it("carries the ISC approval's kind, requested for and by, and separation-of-duties conflicts in its summary", async () => {
        await begin({}, { sources: ['isc'] });
        const request = h.simulator.isc.addAccessRequest({
            ownerId: h.iscSample.people.jamie.id,
            requesterId: h.iscSample.people.allen.id,
            requestedForId: h.iscSample.people.amy.id,
            requestedObject: { id: 'payments', name: 'Payments Admin', type: 'ROLE' },
            sodConflicts: [{ policyName: 'Pay and approve', left: [{ name: 'Payments Admin', type: 'ROLE' }], right: [{ name: 'Vendor Master', type: 'ENTITLEMENT' }] }],
        });
        await h.app.poll();
        const [notice] = noticesOf(request.id);
        expect(notice).toMatchObject({ kind: 'access-request', source: 'isc' });
        expect(notice.summary).toMatchObject({
            requestedFor: h.iscSample.people.amy.name,
            requestedBy: h.iscSample.people.allen.name,
            items: [expect.objectContaining({ name: 'Payments Admin' })],
            conflicts: [{ policy: 'Pay and approve', left: ['Payments Admin'], right: ['Vendor Master'] }],
        });
    });

    it('sends the listener key as Bearer and signs the raw body with the signing secret in the configured header', async () => {
        await begin({}, { listenerSigningSecret: 'signing-secret-0123456789', listenerSignatureHeader: 'X-Moveworks-Signature' });
        await h.app.poll();
        const [notice] = h.simulator.listenerNotices;
        expect(notice.headers.authorization).toBe(`Bearer ${h.simulator.listenerKey}`);
        expect(notice.headers['x-moveworks-signature']).toBe(createHmac('sha256', 'signing-secret-0123456789').update(notice.raw).digest('hex'));
    });

    it('posts a due reminder as approval.reminder', async () => {
        await begin({ REMIND_AFTER_HOURS: '1' });
        const clock = manualClock();
        const app = createListenerApp(clock.now);
        const { roleRequest } = h.sample.workItems;
        await app.poll();
        clock.advance(2 * HOUR);
        await app.poll();
        expect(noticesOf(roleRequest.id).map((notice) => notice.type)).toEqual(['approval.pending', 'approval.reminder']);
        expect(noticesOf(roleRequest.id)[1].message).toContain('Reminder');
    });

    it('waits out a 429 as its Retry-After says, and sends each notice once', async () => {
        await begin();
        h.simulator.failNext('moveworks.listener', { status: 429, retryAfter: '1', body: '{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Rate limit exceeded"}}' });
        await h.app.poll();
        const approvalIds = h.simulator.listenerNotices.map((notice) => notice.body.approvalId);
        expect(approvalIds.length).toBeGreaterThan(0);
        expect(new Set(approvalIds).size).toBe(approvalIds.length);
        expect(approvalIds).toContain(h.sample.workItems.roleRequest.id);
    });

    it('keeps a notice the listener failed (5xx) owed for the next poll, which sends it once', async () => {
        // IdentityIQ alone, so no other source's notice takes the 503s.
        await begin({ MOVEWORKS_CONCURRENCY: '1' }, { sources: ['iiq'] });
        const { roleRequest } = h.sample.workItems;
        h.simulator.failNext('moveworks.listener', { status: 503 }, { status: 503 }, { status: 503 });
        const first = await h.app.poll();
        expect(first.find((report) => report.source === 'iiq')!.owedForNextPoll).toBeGreaterThan(0);
        await h.app.poll();
        expect(noticesOf(roleRequest.id)).toHaveLength(1);
        expect(await h.app.store.get('iiq', roleRequest.id)).toMatchObject({ refused: [], notified: [expect.objectContaining({ email: 'jamie.rivera@example.com' })] });
    });

    it('takes a 400 from the listener for a configuration error too: the other notices wait for the fix instead of being refused one by one, poll after poll', async () => {
        await begin({ MOVEWORKS_CONCURRENCY: '1' }, { sources: ['iiq'] });
        const badRequest = { status: 400, contentType: 'application/json', body: '{"error":{"code":"BAD_REQUEST","message":"Parsing of json payload failed"}}' };
        h.simulator.failNext('moveworks.listener', badRequest, badRequest, badRequest, badRequest, badRequest, badRequest);
        const [report] = await h.app.poll();
        expect(h.simulator.calls['moveworks.listener']).toBe(1);
        expect(report.owedForNextPoll).toBeGreaterThan(1);
        const sampleIds = Object.values(h.sample.workItems).map((item) => item.id);
        for (const id of sampleIds) expect(await h.app.store.get('iiq', id)).toMatchObject({ refused: [] });
    });

    it('waits a 429 without Retry-After out at its own pace: three POSTs for the notice, none retried behind the pacer, the rest owed', async () => {
        await begin({ MOVEWORKS_CONCURRENCY: '1' }, { sources: ['iiq'] });
        const limited = { status: 429, contentType: 'application/json', body: '{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Rate limit exceeded"}}' };
        h.simulator.failNext('moveworks.listener', ...Array.from({ length: 12 }, () => limited));
        const [report] = await h.app.poll();
        expect(h.simulator.calls['moveworks.listener']).toBe(3);
        expect(h.simulator.listenerNotices).toEqual([]);
        expect(report.owedForNextPoll).toBeGreaterThan(1);
    });

    it('takes a refused key (401) for a configuration error: logged, nobody marked refused, everything sent once the key is right', async () => {
        await begin({ MOVEWORKS_LISTENER_KEY: 'a-wrong-key' });
        const { roleRequest } = h.sample.workItems;
        await h.app.poll();
        expect(h.simulator.listenerNotices).toEqual([]);
        expect(h.log.entries.filter((entry) => entry.event === 'sync.message_failed')).not.toEqual([]);
        expect(await h.app.store.get('iiq', roleRequest.id)).toMatchObject({ refused: [], notified: [] });
        const fixed = createListenerApp(undefined, { MOVEWORKS_LISTENER_KEY: h.simulator.listenerKey });
        await fixed.poll();
        expect(noticesOf(roleRequest.id)).toHaveLength(1);
    });

    it('splits a group across POSTs when the listener answers 413, each member notified once', async () => {
        await begin({ MOVEWORKS_LISTENER_MAX_PER_SECOND: '1000' }, { sources: ['isc'], listenerPerSecond: 1000 });
        const members = Array.from({ length: 400 }, (_, i) => h.simulator.isc.addIdentity({ name: `Member ${i}`, email: memberEmail(i) }));
        const group = h.simulator.isc.addGroup('Everyone in Finance', members.map((member) => member.id));
        const big = h.simulator.isc.addApproval({ assignedTo: [{ kind: 'group', id: group.id }] });
        // Room for the message and about half the group, so one POST of all of them is refused.
        h.simulator.listenerMaxBytes = 16_000;
        await h.app.poll();
        const notices = noticesOf(big.id);
        const recipients = notices.flatMap((notice) => notice.recipients);
        expect(notices.length).toBeGreaterThan(1);
        expect(notices.every((notice) => notice.recipients.length < 400)).toBe(true);
        expect(recipients).toHaveLength(400);
        expect(new Set(recipients).size).toBe(400);
    });

    it('never POSTs more than 1 MB: a notice larger than that is answered too large before it is sent', async () => {
        await begin();
        const { moveworks } = loadConfig({ ...h.settings, ...listening });
        const notifier = notifierFor(moveworks, new HttpClient(loadConfig({ ...h.settings, ...listening }).http, h.log), h.log);
        const recipients = Array.from({ length: 20_000 }, (_, i) => memberEmail(i));
        const outcome = await notifier.send({ type: 'approval.pending', approvalId: 'x', source: 'isc', message: 'm', recipients }, Date.now() + 5_000);
        expect(outcome.kind).toBe('too-large');
        expect(h.simulator.calls['moveworks.listener']).toBe(0);
    });

    it('paces its POSTs to MOVEWORKS_LISTENER_MAX_PER_SECOND, so the listener never has to refuse one', async () => {
        await begin({ MOVEWORKS_LISTENER_MAX_PER_SECOND: '5' }, { sources: ['iiq'], listenerPerSecond: 5 });
        for (let i = 0; i < 12; i++) h.simulator.addWorkItem({ ownerId: h.sample.people.carol.id });
        await h.app.poll();
        expect(h.simulator.listenerRateLimited).toEqual([]);
        expect(h.simulator.listenerNotices.length).toBeGreaterThanOrEqual(12);
    });

    it("tells the requester the outcome with an approval.outcome notice when NOTIFY_REQUESTER is on", async () => {
        await begin({ NOTIFY_REQUESTER: 'true' });
        const { roleRequest } = h.sample.workItems;
        await h.app.poll();
        await h.app.decide({ approvalId: roleRequest.id, decision: 'approve', approverEmail: 'jamie.rivera@example.com' });
        const outcome = noticesOf(roleRequest.id).find((notice) => notice.type === 'approval.outcome');
        expect(outcome).toMatchObject({ type: 'approval.outcome', recipients: [expect.any(String)], message: expect.stringContaining('approved') });
    });
});
