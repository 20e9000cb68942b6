import { randomBytes } from 'node:crypto';
import { IscAccessRequestApproval } from '../dev/simulator/isc';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { fromIscRecommendations } from '../shared/isc/recommendations';
import { Harness, manualClock, startHarness } from './support/harness';

const HOUR = 3_600_000;
const jamie = 'jamie.rivera@example.com';

/**
 * SailPoint Identity AI's recommendation on access-request messages (ISC_RECOMMENDATIONS): asked in batches
 * for new approvals only, shown where the approver decides, and never holding a message back.
 */
describe('Identity AI recommendations on access-request messages', () => {
    let h: Harness;
    let fn: FunctionHost | undefined;
    afterEach(async () => {
        await fn?.stop();
        fn = undefined;
        await h.stop();
    });

    /** ISC access requests only, so every message and call below is about them. */
    const begin = async (settings: Record<string, string> = {}, simulator = {}) => {
        h = await startHarness({ simulator: { sources: ['isc'], ...simulator }, settings: { ISC_APPROVAL_KINDS: 'access-requests', ...settings } });
    };
    const request = (name: string, extra: Partial<IscAccessRequestApproval> = {}) =>
        h.simulator.isc.addAccessRequest({
            ownerId: h.iscSample.people.jamie.id,
            requesterId: h.iscSample.people.allen.id,
            requestedForId: h.iscSample.people.amy.id,
            requestedObject: { id: `${name.toLowerCase().replace(/\W/g, '')}-item`, name, type: 'ENTITLEMENT' },
            ...extra,
        });
    const recommend = (approval: IscAccessRequestApproval, verdict: 'YES' | 'NO' | 'MAYBE' | 'NOT_FOUND', reasons: string[] = []) =>
        h.simulator.isc.recommend(approval.requestedForId!, approval.requestedObject.id, verdict, reasons);
    const messageOf = (approval: IscAccessRequestApproval) => h.simulator.messagesFor(approval.id)[0]?.message ?? '';
    const calls = () => h.simulator.isc.recommendationRequests;

    describe('the line on the message', () => {
        it('shows that SailPoint recommends the access, with its first two reasons, above the buttons', async () => {
            await begin();
            const ledger = request('Ledger Reader');
            recommend(ledger, 'YES', ['82% of identities with the same manager have this access.', '75% of identities with the same department have this access.', 'A third reason.']);
            await h.app.poll();
            const message = messageOf(ledger);
            const line = message.split('<br>').find((part) => part.includes('Identity AI'))!;
            expect(line).toBe('💡 <b>SailPoint Identity AI recommends this access</b>: 82% of identities with the same manager have this access. 75% of identities with the same department have this access.');
            expect(message.indexOf(line)).toBeLessThan(message.indexOf('Choose <b>Approve</b>'));
        });

        it('warns at the top, before any detail, that SailPoint does not recommend the access, and why', async () => {
            await begin();
            const payments = request('Payments Admin');
            recommend(payments, 'NO', ['Not approved in the last 6 months.']);
            await h.app.poll();
            const [heading, warning] = messageOf(payments).split('<br>');
            expect(heading).toBe('<b>📋 New SailPoint approval request</b>');
            expect(warning).toBe('⚠️ <b>SailPoint Identity AI does not recommend this access</b>: Not approved in the last 6 months.');
        });

        it('says there is no clear recommendation for a MAYBE', async () => {
            await begin();
            const reports = request('Reports Viewer');
            recommend(reports, 'MAYBE', ['Not enough peers.']);
            await h.app.poll();
            expect(messageOf(reports)).toContain('💡 <i>SailPoint Identity AI has no clear recommendation for this access.</i>');
        });

        it('shows nothing for NOT_FOUND', async () => {
            await begin();
            const unknown = request('Unknown Access', { requestedForId: h.iscSample.people.dana.id });
            recommend(unknown, 'NOT_FOUND');
            await h.app.poll();
            expect(messageOf(unknown)).toContain('Unknown Access');
            expect(messageOf(unknown)).not.toContain('Identity AI');
        });

        it('asks nothing about a request to revoke access, whose recommendation would read the other way round', async () => {
            await begin();
            const revoke = request('Old Access', { requestType: 'REVOKE_ACCESS' });
            recommend(revoke, 'NO', ['Not approved in the last 6 months.']);
            await h.app.poll();
            expect(messageOf(revoke)).toContain('Old Access');
            expect(messageOf(revoke)).not.toContain('Identity AI');
            expect(calls().flat()).toEqual([]);
        });

        it('does not ask again about an approval already notified that ISC lists again', async () => {
            await begin();
            const payments = request('Payments Admin');
            recommend(payments, 'NO', ['Not approved in the last 6 months.']);
            await h.app.poll();
            const row = (await h.app.store.get('isc', payments.id))!;
            await h.app.store.update({ ...row, status: 'closed', closedReason: 'no longer pending in the source' });
            await h.app.poll();
            expect(calls()).toHaveLength(1);
            expect((await h.app.store.get('isc', payments.id))!.recommendation).toEqual({ verdict: 'NO', reasons: ['Not approved in the last 6 months.'] });
        });

        it('escapes the reasons like every other value', async () => {
            await begin();
            const hostile = request('Hostile');
            recommend(hostile, 'NO', ['<img src=x onerror=alert(1)> & "quotes"']);
            await h.app.poll();
            expect(messageOf(hostile)).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;');
            expect(messageOf(hostile)).not.toContain('<img');
        });

        it("asks about the request's requestedFor identity and requested object, with their type", async () => {
            await begin();
            const role = request('Billing Role', { requestedObject: { id: 'billing-role', name: 'Billing Role', type: 'ROLE' } });
            await h.app.poll();
            expect(calls().flat()).toContainEqual({ identityId: h.iscSample.people.amy.id, item: { id: 'billing-role', type: 'ROLE' } });
            expect(messageOf(role)).toContain('Billing Role');
        });

        it('keeps the line in a reminder, and in the message to a new approver after a reassignment, without asking again', async () => {
            await begin({ REMIND_AFTER_HOURS: '1' });
            const clock = manualClock();
            const app = h.newApp({}, clock.now);
            const payments = request('Payments Admin');
            recommend(payments, 'NO', ['Not approved in the last 6 months.']);
            await app.poll();
            clock.advance(2 * HOUR);
            await app.poll();
            const [first, reminder] = h.simulator.messagesFor(payments.id);
            expect(reminder.message).toContain('Reminder');
            expect(reminder.message).toContain(first.message);
            payments.ownerId = h.iscSample.people.carol.id;
            payments.modified = Date.now();
            await app.poll();
            const handedOn = h.simulator.messagesFor(payments.id).find((sent) => sent.recipients.includes('carol.jones@example.com'))!;
            expect(handedOn.message).toContain('reassigned to you');
            expect(handedOn.message).toContain('does not recommend this access</b>: Not approved in the last 6 months.');
            expect(calls()).toHaveLength(1);
        });
    });

    describe('batching', () => {
        it('asks about 120 new approvals in at most 3 calls of at most 50, and about none of them again', async () => {
            await begin({ MOVEWORKS_MAX_PER_MINUTE: '100000' }, { moveworksPerMinute: 100_000 });
            for (let i = 0; i < 120; i++) request(`Access ${i}`);
            await h.app.poll();
            expect(calls().length).toBeLessThanOrEqual(3);
            expect(calls().every((batch) => batch.length <= 50)).toBe(true);
            expect(calls().flat()).toHaveLength(120);
            await h.app.poll();
            expect(calls().length).toBeLessThanOrEqual(3);
        });

        it('never asks when ISC_RECOMMENDATIONS=off', async () => {
            await begin({ ISC_RECOMMENDATIONS: 'off' });
            const payments = request('Payments Admin');
            recommend(payments, 'NO', ['Not approved in the last 6 months.']);
            await h.app.poll();
            expect(h.simulator.calls['isc.recommendations'] ?? 0).toBe(0);
            expect(messageOf(payments)).not.toContain('Identity AI');
        });
    });

    describe('never in the way', () => {
        it('sends the messages without the line when Identity AI is slow, within the poll', async () => {
            await begin();
            const payments = request('Payments Admin');
            recommend(payments, 'NO', ['Not approved in the last 6 months.']);
            h.simulator.failNext('isc.recommendations', { delayMs: 4_000 });
            const started = Date.now();
            await h.app.poll();
            expect(Date.now() - started).toBeLessThan(3_900);
            expect(messageOf(payments)).toContain('Payments Admin');
            expect(messageOf(payments)).not.toContain('Identity AI');
        });

        it('sends the messages without the line when Identity AI fails', async () => {
            await begin();
            const payments = request('Payments Admin');
            recommend(payments, 'NO');
            h.simulator.failNext('isc.recommendations', { status: 500 }, { status: 500 }, { status: 500 });
            await h.app.poll();
            expect(messageOf(payments)).toContain('Payments Admin');
            expect(messageOf(payments)).not.toContain('Identity AI');
            expect(h.log.entries.filter((entry) => entry.event === 'isc.recommendations.failed')).toHaveLength(1);
        });

        it('logs once and stops asking for an hour when the tenant has no Identity AI, sending every message', async () => {
            await begin();
            h.simulator.isc.identityAi = false;
            const first = request('First');
            await h.app.poll();
            const second = request('Second');
            await h.app.poll();
            expect(messageOf(first)).toContain('First');
            expect(messageOf(second)).toContain('Second');
            expect(h.simulator.calls['isc.recommendations']).toBe(1);
            expect(h.log.entries.filter((entry) => entry.event === 'isc.recommendations.refused')).toEqual([expect.objectContaining({ status: 403 })]);
        });

        it('stops asking for an hour after a 404 too', async () => {
            await begin();
            h.simulator.failNext('isc.recommendations', { status: 404 });
            request('First');
            await h.app.poll();
            const second = request('Second');
            recommend(second, 'YES');
            await h.app.poll();
            expect(messageOf(second)).not.toContain('Identity AI');
            expect(h.simulator.calls['isc.recommendations']).toBe(1);
        });

        it('does not make every page or poll wait on a slow Identity AI: after one missed deadline it is not asked for a while', async () => {
            await begin();
            h.simulator.failNext('isc.recommendations', { delayMs: 4_000 });
            request('First');
            await h.app.poll();
            const second = request('Second');
            const started = Date.now();
            await h.app.poll();
            expect(Date.now() - started).toBeLessThan(2_000);
            expect(messageOf(second)).toContain('Second');
            expect(h.simulator.calls['isc.recommendations']).toBe(1);
            expect(h.log.entries.filter((entry) => entry.event === 'isc.recommendations.failed')).toHaveLength(1);
        });

        it("waits out Identity AI's 429 on its own, without holding up the listing, the messages or a decision", async () => {
            await begin();
            h.simulator.failNext('isc.recommendations', { status: 429, retryAfter: '120' });
            request('First');
            await h.app.poll();
            const second = request('Second');
            await h.app.poll();
            expect(messageOf(second)).toContain('Second');
            expect(h.log.entries.filter((entry) => entry.event === 'sync.listing_failed')).toEqual([]);
            expect(await h.app.decide({ approvalId: second.id, decision: 'approve', approverEmail: jamie })).toMatchObject({ status: 'approved' });
            expect(h.simulator.calls['isc.recommendations']).toBe(1);
        });

        it('takes a 401 that a fresh token does not cure for a refusal too, naming the licence and the scope in the log once', async () => {
            await begin();
            h.simulator.failNext('isc.recommendations', { status: 401 }, { status: 401 });
            request('First');
            await h.app.poll();
            request('Second');
            await h.app.poll();
            expect(h.simulator.calls['isc.recommendations']).toBe(2);
            expect(h.log.entries.filter((entry) => entry.event === 'isc.recommendations.refused')).toEqual([expect.objectContaining({ status: 401, fix: expect.stringContaining('iai:decisions:manage') })]);
        });

        it('asks again an hour after a refusal', async () => {
            await begin();
            const clock = manualClock();
            const app = h.newApp({}, clock.now);
            h.simulator.isc.identityAi = false;
            request('First');
            await app.poll();
            h.simulator.isc.identityAi = true;
            clock.advance(HOUR + 60_000);
            const later = request('Later');
            recommend(later, 'YES', ['82% of identities with the same manager have this access.']);
            await app.poll();
            expect(messageOf(later)).toContain('recommends this access');
        });

        it('still asks, with the read-only service credential, when approvers decide as themselves', async () => {
            await begin({}, { iscServiceReadOnly: true });
            fn = await startFunctionHost({
                ...h.settings,
                ...h.simulator.userOAuthSettings(),
                ISC_DECIDE_AS: 'user',
                PUBLIC_BASE_URL: 'http://127.0.0.1:7071',
                USER_TOKEN_KEYS: `k1:${randomBytes(32).toString('base64')}`,
            });
            const payments = request('Payments Admin');
            recommend(payments, 'NO', ['Not approved in the last 6 months.']);
            await fn.pollNow();
            expect(messageOf(payments)).toContain('does not recommend this access');
        });
    });

    describe('the pending list and the audit trail', () => {
        it('names the recommendation in the approver’s pending list, and nothing where there was none', async () => {
            await begin();
            const payments = request('Payments Admin');
            recommend(payments, 'NO', ['Not approved in the last 6 months.']);
            const plain = request('Plain Access');
            recommend(plain, 'NOT_FOUND');
            fn = await startFunctionHost(h.settings);
            await fn.pollNow();
            const { approvals } = (await fn.get(`/api/approvals?approverEmail=${jamie}`)).body;
            expect(approvals.find((entry: { approvalId: string }) => entry.approvalId === payments.id)).toMatchObject({ recommendation: 'NO' });
            expect(approvals.find((entry: { approvalId: string }) => entry.approvalId === plain.id)).not.toHaveProperty('recommendation');
        });

        it('records in the audit trail, and answers, that an approval went against SailPoint’s recommendation', async () => {
            await begin({ FUNCTION_KEY: 'function-key-0123456789', MASTER_KEY: 'master-key-for-audit-0123456789' });
            const payments = request('Payments Admin');
            recommend(payments, 'NO', ['Not approved in the last 6 months.']);
            fn = await startFunctionHost(h.settings);
            await fn.pollNow();
            const answer = await fn.post(`/api/approvals/${payments.id}/approve`, { approverEmail: jamie });
            expect(answer.body).toMatchObject({ status: 'approved', recommendation: 'NO' });
            const audit = await fn.get(`/api/audit?approvalId=${payments.id}`, { 'x-functions-key': 'master-key-for-audit-0123456789' });
            expect(audit.body.entries[0]).toMatchObject({ action: 'approve', result: 'approved', recommendation: 'NO' });
        });
    });
});

describe("reading Identity AI's answer", () => {
    it('keeps the readable entries of an answer when one entry is malformed', () => {
        const good = { request: { identityId: 'amy', item: { id: 'ledger', type: 'ROLE' } }, recommendation: 'YES', interpretations: ['Peers have it.'] };
        const read = fromIscRecommendations({ response: [{ request: 'garbage', recommendation: 'NO' }, { request: { identityId: 7, item: { id: 'x' } }, recommendation: 'NO' }, good] });
        expect([...read.values()]).toEqual([{ verdict: 'YES', reasons: ['Peers have it.'] }]);
    });
});
