import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/** Changes the PendingApproval JSON the simulator answers for one approval id, as a tenant sending an unexpected shape would. */
function tamper(h: Harness, id: string, change: (json: Record<string, unknown>) => void) {
    h.simulator.isc.reshapePendingApproval = (json, approval) => {
        if (approval.id === id) change(json);
    };
}

const HOSTILE: [string, (json: Record<string, unknown>) => void][] = [
    ['(control: nothing changed)', () => undefined],
    ['privilegeLevel as a number', (j) => (j.privilegeLevel = 3)],
    ['commentRequiredWhenRejected as text', (j) => (j.commentRequiredWhenRejected = 'true')],
    ['sodViolationContext as text', (j) => (j.sodViolationContext = 'not checked')],
    ['forwardHistory with a null entry', (j) => (j.forwardHistory = [null])],
    ['previousReviewersComments as an object', (j) => (j.previousReviewersComments = { comment: 'x' })],
    ['requestedObject.type as a number', (j) => ((j.requestedObject as Record<string, unknown>).type = 7)],
    ['requesterComment as a plain string', (j) => (j.requesterComment = 'please')],
    ['removeDate as epoch milliseconds', (j) => (j.removeDate = 1_800_000_000_000)],
    ['violatedPolicies with a null entry', (j) => (j.sodViolationContext = { violationCheckResult: { violatedPolicies: [null] } })],
];

describe('an access-request approval whose JSON has an optional field of an unexpected type', () => {
    let h: Harness;
    let fn: FunctionHost | undefined;
    afterEach(async () => {
        await fn?.stop();
        fn = undefined;
        await h.stop();
    });

    it.each(HOSTILE)('is still notified: %s', async (_label, change) => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { ISC_APPROVAL_KINDS: 'access-requests' } });
        const request = h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.jamie.id, requestedObject: { id: 'o1', name: 'Ledger', type: 'ROLE' } });
        tamper(h, request.id, change);
        await h.app.poll();
        expect(h.simulator.messagesFor(request.id)).toHaveLength(1);
    });

    it('does not close an open row, still pending in ISC, when an optional field turns unexpected', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { ISC_APPROVAL_KINDS: 'access-requests' } });
        const request = h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.jamie.id, requestedObject: { id: 'o1', name: 'Ledger', type: 'ROLE' } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        expect(h.simulator.messagesFor(request.id)).toHaveLength(1);
        tamper(h, request.id, (j) => (j.privilegeLevel = 3));
        await fn.pollNow();
        const listed = (await fn.get('/api/approvals?approverEmail=jamie.rivera@example.com')).body.approvals.map((a: { approvalId: string }) => a.approvalId);
        expect(listed).toContain(request.id);
    });

    it('can still be approved once notified, when an optional field turns unexpected', async () => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { ISC_APPROVAL_KINDS: 'access-requests' } });
        const request = h.simulator.isc.addAccessRequest({ ownerId: h.iscSample.people.jamie.id, requestedObject: { id: 'o1', name: 'Ledger', type: 'ROLE' } });
        fn = await startFunctionHost(h.settings);
        await fn.pollNow();
        tamper(h, request.id, (j) => (j.sodViolationContext = 'not checked'));
        const answer = await fn.post(`/api/approvals/${request.id}/approve`, { approverEmail: 'jamie.rivera@example.com' });
        expect([answer.status, answer.body?.error?.code ?? answer.body?.status]).toEqual([200, 'approved']);
    });

    it.each([
        ['priority as a number', (j: Record<string, unknown>) => (j.priority = 5)],
        ['a null comment and a comment without text', (j: Record<string, unknown>) => (j.comments = [null, { author: { name: 'x' } }])],
        ['requestedTarget as an object', (j: Record<string, unknown>) => (j.requestedTarget = { name: 'x' })],
        ['a localized name entry that is text', (j: Record<string, unknown>) => (j.name = ['Payroll', { value: 'Payroll', locale: 'en_US' }])],
        ['dueDate as epoch milliseconds', (j: Record<string, unknown>) => (j.dueDate = 1_800_000_000_000)],
    ])('a generic approval is still notified with %s', async (_label, change) => {
        h = await startHarness({ simulator: { sources: ['isc'] }, settings: { ISC_APPROVAL_KINDS: 'generic' } });
        const { roleRequest } = h.iscSample.approvals;
        h.simulator.isc.reshapeApproval = (json, approval) => {
            if (approval.id === roleRequest.id) change(json);
        };
        await h.app.poll();
        expect(h.simulator.messagesFor(roleRequest.id)).toHaveLength(1);
    });
});
