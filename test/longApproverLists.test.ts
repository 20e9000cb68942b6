import { Approval, approverKey } from '../shared/model';
import { FunctionHost, startFunctionHost } from './support/functionHost';
import { Harness, startHarness } from './support/harness';

/**
 * An ISC approval may be assigned to a thousand identities one by one. Their ids joined are longer than a
 * table string property holds (32 K UTF-16 characters), yet the approval is recorded and sent like any other.
 */

const APPROVERS = 1_000;

describe('an ISC approval assigned to 1,000 individual identities', () => {
    let h: Harness;
    let fn: FunctionHost;
    afterEach(async () => {
        await fn.stop();
        await h.stop();
    });

    const start = async () => {
        h = await startHarness({ simulator: { sources: ['isc'], moveworksPerMinute: 100_000 }, settings: { MOVEWORKS_MAX_PER_MINUTE: '100000' } });
        fn = await startFunctionHost(h.settings);
        const approvers = Array.from({ length: APPROVERS }, (_, i) => h.simulator.isc.addIdentity({ name: `Approver ${i}`, email: `approver.${i}@example.com` }));
        return h.simulator.isc.addApproval({ assignedTo: approvers.map((approver) => ({ kind: 'identity', id: approver.id })) });
    };

    const recipientsOf = (approvalId: string) => h.simulator.messagesFor(approvalId).flatMap((message) => message.recipients);

    it('is recorded, and every approver gets its message once', async () => {
        const big = await start();

        await fn.pollNow();

        expect(await h.app.store.get('isc', big.id)).toMatchObject({ status: 'open' });
        const recipients = recipientsOf(big.id);
        expect(recipients).toHaveLength(APPROVERS);
        expect(new Set(recipients).size).toBe(APPROVERS);
    });

    it('is neither refused nor sent again by the next poll', async () => {
        const big = await start();
        await fn.pollNow();
        const recorded = await h.app.store.get('isc', big.id);

        await fn.pollNow();

        expect(recipientsOf(big.id)).toHaveLength(APPROVERS);
        expect(await h.app.store.get('isc', big.id)).toMatchObject({ status: 'open', approverKey: recorded?.approverKey, recipients: recorded?.recipients });
    });
});

describe('the approver key', () => {
    const approval = (ids: string[]) => ({ approvers: ids.map((id) => ({ id, name: id })) }) as unknown as Approval;
    const longIds = Array.from({ length: APPROVERS }, (_, i) => i.toString(16).padStart(32, '0'));

    it('is the same for the same 1,000 approvers in any order, and fits a table property', () => {
        const key = approverKey(approval(longIds));
        expect(approverKey(approval([...longIds].reverse()))).toBe(key);
        expect(key.length).toBeLessThanOrEqual(32 * 1024);
    });

    it('differs when one of 1,000 approvers changes', () => {
        expect(approverKey(approval([...longIds.slice(1), 'f'.repeat(32)]))).not.toBe(approverKey(approval(longIds)));
    });

    it('stays the ids joined for a list that fits, as rows already stored hold it', () => {
        expect(approverKey(approval(['b2', 'a1']))).toBe('a1,b2');
    });
});
