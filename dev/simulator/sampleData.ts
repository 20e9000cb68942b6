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

/** ISC's side: the same people, a governance group, and three pending generic approvals. */
export function seedIscSampleData(simulator: Simulator) {
    const isc = simulator.isc;
    const person = (name: string, email: string) => isc.addIdentity({ name, email });
    const jamie = person('Jamie Rivera', 'jamie.rivera@example.com');
    const carol = person('Carol Jones', 'carol.jones@example.com');
    const allen = person('Allen Burton', 'allen.burton@example.com');
    const amy = person('Amy Cox', 'amy.cox@example.com');
    const dana = person('Dana Lee', 'dana.lee@example.com');
    const reviewers = isc.addGroup('Security Reviewers', [jamie.id, carol.id]);
    const day = 86_400_000;

    const roleRequest = isc.addApproval({
        name: 'Access Request: Finance Analyst',
        description: 'Amy Cox requests the Finance Analyst role',
        priority: 'HIGH',
        requesterId: allen.id,
        requesteeId: amy.id,
        assignedTo: [{ kind: 'identity', id: jamie.id }],
        dueDate: Date.now() + 3 * day,
        requestedTarget: [{ id: 'f3a1c2d4e5b60718293a4b5c6d7e8f90', name: 'Finance Analyst', targetType: 'ROLE', requestType: 'GRANT_ACCESS' }],
        comments: [{ authorName: 'Allen Burton', comment: 'Amy starts on the close team on Monday.', createdDate: Date.now() }],
    });
    const groupRequest = isc.addApproval({
        name: 'Access Request: AWS Production Admin',
        description: 'Remove AWS Production Admin from Amy Cox',
        requesterId: allen.id,
        requesteeId: amy.id,
        assignedTo: [{ kind: 'group', id: reviewers.id }],
        requestedTarget: [{ id: '0b1c2d3e4f5061728394a5b6c7d8e9f0', name: 'AWS Production Admin', targetType: 'ENTITLEMENT', requestType: 'REVOKE_ACCESS' }],
    });
    const carolsRequest = isc.addApproval({
        name: 'Access Request: Salesforce Reports',
        requesterId: allen.id,
        requesteeId: dana.id,
        priority: 'LOW',
        assignedTo: [{ kind: 'identity', id: carol.id }],
        requestedTarget: [{ id: '1c2d3e4f5061728394a5b6c7d8e9f0a1', name: 'Salesforce Reports', targetType: 'ACCESS_PROFILE', requestType: 'GRANT_ACCESS' }],
    });
    return { people: { jamie, carol, allen, amy, dana }, reviewers, approvals: { roleRequest, groupRequest, carolsRequest } };
}

/**
 * ISC access-request approvals for the demo, on the people of `seedIscSampleData`: one with a
 * separation-of-duties conflict, one that needs a reason to reject (forwarded once, with a sunset and a
 * privilege level), and one that is also mirrored as a generic approval. Identity AI advises against the
 * first and for the last, and has no verdict (MAYBE) on the second, so the demo shows each.
 */
export function seedAccessRequestSampleData(simulator: Simulator, people: ReturnType<typeof seedIscSampleData>['people']) {
    const isc = simulator.isc;
    const { jamie, carol, allen, amy, dana } = people;
    const hour = 3_600_000;
    const now = Date.now();

    const sodConflict = isc.addAccessRequest({
        ownerId: jamie.id,
        requesterId: amy.id,
        requestedForId: amy.id,
        requestedObject: {
            id: '2c9180867d5a1c3e017d5b8f4a2e0c11',
            name: 'SAP AP Invoice Approver',
            description: 'Approve vendor invoices for payment in SAP S/4HANA',
            type: 'ENTITLEMENT',
        },
        requesterComment: 'Covering invoice approvals while Dana is on leave in May.',
        sodConflicts: [
            {
                policyName: 'Procure to Pay: maintain vendors vs. approve invoices',
                left: [{ name: 'SAP Vendor Master Maintenance', type: 'ENTITLEMENT' }],
                right: [{ name: 'SAP AP Invoice Approver', type: 'ENTITLEMENT' }],
            },
        ],
        requestCreated: now - 3 * hour,
        created: now - 3 * hour,
        modified: now - 3 * hour,
    });
    const reasonRequired = isc.addAccessRequest({
        ownerId: carol.id,
        requesterId: dana.id,
        requestedForId: dana.id,
        requestedObject: {
            id: '2c91808a7e1f2b3c017e20d4c5b60a77',
            name: 'Billing DB Administrator',
            description: 'Full administrative rights on the production billing database',
            type: 'ROLE',
        },
        requesterComment: 'Joining the billing database on-call rota for the March release.',
        previousReviewersComments: [{ authorId: allen.id, comment: 'Approved as her manager: on call for March only.', created: now - 2 * hour }],
        forwardHistory: [
            {
                oldApproverName: jamie.name,
                newApproverName: carol.name,
                forwarderName: jamie.name,
                comment: 'Carol owns the billing database platform.',
                modified: now - hour,
                reassignmentType: 'MANUAL_REASSIGNMENT',
            },
        ],
        commentRequiredWhenRejected: true,
        privilegeLevel: 'High',
        removeDate: now + 30 * 24 * hour,
        requestCreated: now - 5 * hour,
        created: now - 2 * hour,
        modified: now - hour,
    });
    const mirrored = isc.addAccessRequest({
        ownerId: jamie.id,
        requesterId: allen.id,
        requestedForId: amy.id,
        requestedObject: {
            id: '2c91808b7f3a4c5d017f3b6e8d9c0e22',
            name: 'Salesforce Sales Analytics',
            description: 'Pipeline and forecast dashboards in Salesforce',
            type: 'ACCESS_PROFILE',
        },
        requesterComment: 'Amy presents the pipeline at the quarterly business review.',
        requestCreated: now - hour,
        created: now - hour,
        modified: now - hour,
    });
    const mirror = isc.mirrorAsGeneric(mirrored.id);
    isc.recommend(amy.id, sodConflict.requestedObject.id, 'NO', ['Not approved in the last 6 months.', 'Only 3% of identities with the same department have this access.']);
    isc.recommend(amy.id, mirrored.requestedObject.id, 'YES', [
        '82% of identities with the same manager have this access.',
        '75% of identities with the same department have this access.',
    ]);
    return { accessRequests: { sodConflict, reasonRequired, mirrored }, mirror };
}
