import { Simulator } from './simulator';

/** A few approvals like the guide's: a role request, a workgroup-owned entitlement request, a forwarded removal. */
export function seedSampleData(simulator: Simulator) {
    const person = (name: string, displayName: string, email: string) => simulator.addIdentity({ name, displayName, email });
    const jamie = person('Jamie.Rivera', 'Jamie Rivera', 'jamie.rivera@example.com');
    const carol = person('Carol.Jones', 'Carol Jones', 'carol.jones@example.com');
    const allen = person('Allen.Burton', 'Allen Burton', 'allen.burton@example.com');
    const amy = person('Amy.Cox', 'Amy Cox', 'amy.cox@example.com');
    const bob = person('Bob.Smith', 'Bob Smith', 'bob.smith@example.com');
    const finance = simulator.addIdentity({ name: 'Finance Approvers', workgroup: true });
    jamie.memberOf = [finance.id];
    carol.memberOf = [finance.id];
    const now = simulator.iiqNow();

    const roleRequest = simulator.addWorkItem({
        ownerId: jamie.id,
        requesterId: allen.id,
        targetId: amy.id,
        description: 'Approval - Account Changes for User: Amy Cox',
        items: [{ application: 'IIQ', name: 'assignedRoles', displayName: 'Role', value: 'IT Database Manager', operation: 'Add' }],
    });
    const entitlementRequest = simulator.addWorkItem({
        ownerId: finance.id,
        requesterId: allen.id,
        targetId: amy.id,
        level: 'High',
        description: 'Approval - Account Changes for User: Amy Cox',
        items: [
            {
                application: 'Active Directory',
                name: 'memberOf',
                displayName: 'memberOf',
                value: 'CN=Finance-Readers,OU=Groups,DC=example,DC=com',
                displayValue: 'Finance-Readers',
                operation: 'Add',
                requesterComments: 'Needed for Q3 close',
            },
            {
                application: 'Active Directory',
                name: 'memberOf',
                displayName: 'memberOf',
                value: 'CN=Finance-Writers,OU=Groups,DC=example,DC=com',
                displayValue: 'Finance-Writers',
                operation: 'Add',
                startDate: now + 86_400_000,
                endDate: now + 90 * 86_400_000,
            },
        ],
        comments: [{ author: 'Allen Burton', comment: 'Amy is covering for Bob next month.', date: now }],
    });
    const removal = simulator.addWorkItem({
        ownerId: carol.id,
        requesterId: allen.id,
        targetId: bob.id,
        description: 'Approval - Account Changes for User: Bob Smith',
        items: [{ application: 'Salesforce', name: 'ProfileId', displayName: 'Profile', value: '00e000000000001AAA', displayValue: 'System Administrator', operation: 'Remove' }],
    });
    simulator.addWorkItem({ ownerId: allen.id, type: 'Form', description: 'Please provide additional information' });
    return { people: { jamie, carol, allen, amy, bob }, finance, workItems: { roleRequest, entitlementRequest, removal } };
}
