import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startAzurite } from './azurite';
import { LocalHost } from './host/host';
import { loadRegistrations } from './host/registrations';
import { RECORDING_GRACE_MS } from '../shared/approvals/sync/syncSource';
import { ApprovalStore } from '../shared/store/approvalStore';
import { openTable } from '../shared/store/table';
import { SimIdentity, Simulator } from './simulator/simulator';

/**
 * `npm run soak`: bounded, seeded fault soak. Approvals arrive over a number of polls while the simulator
 * fails 10% of calls on every route with 5xx and 2% with 429 + Retry-After, tokens expire every 30 s and
 * Azurite restarts once mid-run; approvers click approve/reject, some twice, some as the wrong person.
 * Mixed in: a workgroup of 1,300 members, approvals completed inside IdentityIQ while a sweep pages (the
 * list shifts under it), read answers that trickle in one byte at a time, a spell of "unknown event"
 * refusals from Moveworks (with `--delivery listener`, every notice goes to the Agent Studio listener instead,
 * under the same 5xx and 429s, and a spell of refused keys), a work item whose id is not a valid table key, IdentityIQ's token endpoint hanging
 * for a whole poll, and rows left claimed by a worker that died mid-decision (some decided in IdentityIQ
 * before it died, some not). Identity Security Cloud access requests run in ISC_DECIDE_AS=user on two app
 * instances: connected approvers click through either (their access tokens expire every poll, so the two
 * refresh the same rotated token at once), one approver is revoked halfway, two never connect.
 * At the end it checks every approval was notified at most once per recipient, and to all of them while
 * it is pending (a decision made after the first 500 of a group stops the rest), every accepted decision
 * reached IdentityIQ exactly once, no refused one did, every approval still pending in IdentityIQ is still
 * open in the table, a row left claimed is closed or decided by its approver's next click, no poll ran past
 * its budget and grace, and nothing went unhandled; for ISC, every write was the approver's own, each
 * decision reached ISC once, nobody decided after being revoked or without connecting, and the others are still
 * connected. Exits 1 on a violation.
 */

interface Options {
    approvals: number;
    polls: number;
    seed: number;
    /** MOVEWORKS_DELIVERY: through the event, or to the Agent Studio listener (with its own 5xx and 429s). */
    delivery: 'events' | 'listener';
}

function parseOptions(argv: string[]): Options {
    const options: Options = { approvals: 2000, polls: 20, seed: 7, delivery: 'events' };
    for (let i = 0; i < argv.length; i++) {
        const [flag, inline] = argv[i].split('=');
        const text = inline ?? argv[++i];
        const value = Number(text);
        if (flag === '--delivery' && (text === 'events' || text === 'listener')) options.delivery = text;
        else if (flag === '--approvals') options.approvals = value;
        else if (flag === '--polls') options.polls = value;
        else if (flag === '--seed') options.seed = value;
        else throw new Error(`unknown option ${flag}`);
    }
    return options;
}

function seeded(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state * 1664525 + 1013904223) >>> 0;
        return state / 2 ** 32;
    };
}

const root = join(__dirname, '..', '..');
const POLL_BUDGET_SECONDS = 30;
/** Small pages, so a poll pages often and an item completed on page 1 shifts the ones after it. */
const PAGE_SIZE = 20;
/** A secured listener takes 5 a second; the soak raises it so its approvals fit its polls, and the listener's 429s come from the injected faults. */
const LISTENER_PER_SECOND = 200;

interface Click {
    approvalId: string;
    status: number;
    code?: string;
    valid: boolean;
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    const random = seeded(options.seed);
    const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)];
    let unhandled = 0;
    process.on('unhandledRejection', () => unhandled++);
    process.on('uncaughtException', () => unhandled++);
    const appLog: string[] = [];
    for (const level of ['log', 'info', 'warn', 'error'] as const) console[level] = (...args: unknown[]) => void appLog.push(args.map(String).join(' '));
    const say = (line: string) => process.stdout.write(`${line}\n`);

    const location = mkdtempSync(join(tmpdir(), 'soak-azurite-'));
    const port = await freePort();
    let azurite = await startAzurite({ port, location });
    const simulator = new Simulator({
        sources: ['iiq', 'isc'],
        iscServiceReadOnly: true,
        randomFaults: { rate5xx: 0.1, rate429: 0.02, seed: options.seed },
        moveworksPerMinute: 1_000_000,
        listenerPerSecond: LISTENER_PER_SECOND,
        tokenLifetimeSeconds: 30,
    });
    // What Moveworks was handed for each approval, by whichever path the soak runs: the Events API's messages or the listener's notices.
    const listening = options.delivery === 'listener';
    const deliveries = () =>
        listening
            ? simulator.listenerNotices.map(({ body }) => ({ approvalId: String(body.approvalId), recipients: body.recipients as string[] }))
            : simulator.messages.map((message) => ({ approvalId: String(message.slots.approval_id), recipients: message.recipients }));
    const deliveriesFor = (approvalId: string) => deliveries().filter((delivery) => delivery.approvalId === approvalId);
    await simulator.start();
    const expiry = setInterval(() => simulator.expireTokens(), 30_000);
    const started = Date.now();

    const people = Array.from({ length: 24 }, (_, i) => simulator.addIdentity({ name: `Person.${i}`, email: `person${i}@example.com` }));
    const groups = Array.from({ length: 3 }, (_, g) => {
        const group = simulator.addIdentity({ name: `Group ${g}`, workgroup: true });
        for (const member of people.slice(g * 3, g * 3 + 3)) member.memberOf = [...(member.memberOf ?? []), group.id];
        return group;
    });
    const owners: SimIdentity[] = [...people.slice(9, 20), ...groups];
    const everyone = simulator.addIdentity({ name: 'Everyone in Finance', workgroup: true });
    const bigGroup = Array.from({ length: 1300 }, (_, i) =>
        simulator.addIdentity({ name: `Member.${i}`, email: `firstname.lastname-${i}@corporate-division.example.com`, memberOf: [everyone.id] }),
    );
    const approversOf = (ownerId: string) => {
        if (ownerId === everyone.id) return bigGroup;
        const members = people.filter((person) => person.memberOf?.includes(ownerId));
        return members.length > 0 ? members : people.filter((person) => person.id === ownerId);
    };
    const ownerOf = new Map<string, string>();
    const clicks: Click[] = [];
    const clicked = new Set<string>();
    // Not a valid table key: the poll sets it aside and the rest flows.
    simulator.workItems.set('bad#id', { id: 'bad#id', name: '9999999999', type: 'Approval', created: simulator.iiqNow(), ownerId: people[9].id, items: [], comments: [] });
    // Completed inside IdentityIQ while a poll pages: the items after it shift onto earlier pages.
    const completedInside = new Set<string>();
    simulator.beforeListPage = (offset) => {
        if (offset !== PAGE_SIZE || random() < 0.5) return;
        const notifiedIds = new Set(deliveries().map((delivery) => delivery.approvalId));
        const candidates = [...ownerOf.keys()].filter((id) => simulator.workItems.has(id) && notifiedIds.has(id) && !clicked.has(id));
        if (candidates.length === 0) return;
        const id = pick(candidates);
        completedInside.add(id);
        simulator.complete(id);
    };

    Object.assign(process.env, {
        ...simulator.settings(),
        AzureWebJobsStorage: azurite.connectionString,
        STATE_TABLE_NAME: `soak${options.seed}`,
        MOVEWORKS_MAX_PER_MINUTE: '100000',
        MOVEWORKS_CONCURRENCY: '16',
        HTTP_TIMEOUT_MS: '2000',
        POLL_BUDGET_SECONDS: String(POLL_BUDGET_SECONDS),
        IIQ_PAGE_SIZE: String(PAGE_SIZE),
        // Every poll is a full sweep, so shifting pages meet the closing of unseen rows on every poll.
        FULL_SWEEP_MINUTES: '0',
        FUNCTION_KEY: '',
        ...simulator.userOAuthSettings(),
        ISC_APPROVAL_KINDS: 'access-requests',
        ISC_DECIDE_AS: 'user',
        PUBLIC_BASE_URL: 'https://soak.example.com',
        USER_TOKEN_KEYS: `soak:${randomBytes(32).toString('base64')}`,
        ...(listening ? { ...simulator.listenerSettings(), MOVEWORKS_EVENT_ID: '', MOVEWORKS_API_KEY: '', MOVEWORKS_LISTENER_MAX_PER_SECOND: String(LISTENER_PER_SECOND) } : {}),
    });
    const functions = join(root, 'dist', 'functions');
    const host = new LocalHost({
        registrations: loadRegistrations(readdirSync(functions).filter((file) => file.endsWith('.js')).map((file) => join(functions, file))),
        port: 0,
        timers: false,
        log: (line) => appLog.push(line),
    });
    const url = await host.start();
    // A second instance on the same table (its own modules, so its own token cache), as Azure scales out.
    const secondHost = new LocalHost({
        registrations: loadRegistrations(readdirSync(functions).filter((file) => file.endsWith('.js')).map((file) => join(functions, file))),
        port: 0,
        timers: false,
        log: (line) => appLog.push(line),
    });
    const secondUrl = await secondHost.start();

    const click = async (approvalId: string, email: string, decision: 'approve' | 'reject', valid: boolean) => {
        for (let attempt = 0; ; attempt++) {
            const response = await fetch(`${url}/api/approvals/${approvalId}/${decision}`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ approverEmail: email, comment: `soak ${decision}` }),
            });
            const body = (await response.json()) as { error?: { code: string } };
            // Like a person: try again while SailPoint or the store is having trouble.
            if ((response.status === 502 || response.status === 503) && attempt < 8) {
                await new Promise((resolve) => setTimeout(resolve, 150));
                continue;
            }
            clicks.push({ approvalId, status: response.status, code: body.error?.code, valid });
            return;
        }
    };
    const iscPeople = Array.from({ length: 6 }, (_, i) => simulator.isc.addIdentity({ name: `Isc.${i}`, email: `isc${i}@example.com` }));
    // Isc.0 to Isc.3 connect; Isc.0 is revoked halfway; Isc.4 and Isc.5 never connect.
    const connected = iscPeople.slice(0, 4);
    const iscOwnerOf = new Map<string, string>();
    const iscClicks: (Click & { email: string; at: number })[] = [];
    let revokedAt = Infinity;
    const connect = async (person: (typeof iscPeople)[number]) => {
        for (let attempt = 0; attempt < 10; attempt++) {
            const linked = await fetch(`${url}/api/connections/isc/link`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ approverEmail: person.email }) });
            if (linked.status !== 200) continue;
            const connectUrl = new URL(((await linked.json()) as { connectUrl: string }).connectUrl);
            const opened = await fetch(`${url}${connectUrl.pathname}${connectUrl.search}`, { redirect: 'manual' });
            if (opened.status !== 302) continue;
            const callback = new URL(simulator.isc.signIn(opened.headers.get('location')!, person.id));
            const back = await fetch(`${url}${callback.pathname}${callback.search}`, { headers: { cookie: (opened.headers.get('set-cookie') ?? '').split(';')[0] } });
            if (back.status === 200) return;
        }
        throw new Error(`${person.email} could not connect`);
    };
    for (const person of connected) await connect(person);
    const iscClick = async (approvalId: string, email: string, base: string) => {
        for (let attempt = 0; ; attempt++) {
            const response = await fetch(`${base}/api/approvals/${approvalId}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ approverEmail: email }) });
            const body = (await response.json()) as { error?: { code: string } };
            if ((response.status === 502 || response.status === 503) && attempt < 8) {
                await new Promise((resolve) => setTimeout(resolve, 150));
                continue;
            }
            iscClicks.push({ approvalId, status: response.status, code: body.error?.code, valid: true, email, at: Date.now() });
            return;
        }
    };
    const pollTimes: number[] = [];
    const poll = async () => {
        const pollStarted = Date.now();
        host.runNow('pollApprovals');
        await host.idle();
        pollTimes.push(Date.now() - pollStarted);
    };
    const store = new ApprovalStore(openTable({ connectionString: azurite.connectionString, tableName: `soak${options.seed}` }, `soak${options.seed}`, 5_000));
    // Rows whose worker died holding the claim long ago: some still pending in IdentityIQ, some decided there.
    const crashed = { pending: new Set<string>(), decided: new Set<string>() };
    const crashMidDecision = async (approvalId: string, decidedInSource: boolean) => {
        const record = await store.get('iiq', approvalId);
        if (!record || record.status !== 'open') return;
        const longAgo = Date.now() - 30 * 60_000;
        if (!(await store.update({ ...record, status: 'deciding', decidingSince: longAgo, updatedAt: longAgo }))) return;
        clicked.add(approvalId);
        if (decidedInSource) {
            simulator.complete(approvalId);
            crashed.decided.add(approvalId);
        } else crashed.pending.add(approvalId);
    };

    const perPoll = Math.ceil(options.approvals / options.polls);
    for (let round = 0; round < options.polls; round++) {
        for (let i = 0; i < perPoll && ownerOf.size < options.approvals; i++) {
            const owner = i === 0 && round % Math.max(1, Math.floor(options.polls / 2)) === 0 ? everyone : pick(owners);
            const item = simulator.addWorkItem({ ownerId: owner.id, requesterId: people[23].id, targetId: people[22].id });
            ownerOf.set(item.id, owner.id);
        }
        for (let i = 0; i < 2; i++) {
            const owner = pick(iscPeople);
            const request = simulator.isc.addAccessRequest({ ownerId: owner.id, requestedObject: { id: `soak-role-${round}-${i}`, name: `Soak role ${round}.${i}`, type: 'ROLE' } });
            iscOwnerOf.set(request.id, owner.id);
        }
        if (round === Math.floor(options.polls / 2)) {
            simulator.isc.revokeUser(iscPeople[0].id);
            simulator.isc.expireUserTokens(iscPeople[0].id);
            revokedAt = Date.now();
        }
        if (round === Math.floor(options.polls / 2)) {
            await azurite.stop();
            azurite = await startAzurite({ port, location });
            say(`[soak] Azurite restarted before poll ${round + 1}`);
        }
        // Reads that trickle in (only a total deadline ends them) and, once, an event Moveworks does not know.
        simulator.failNext('iiq.get', { dripMs: 40 });
        simulator.failNext('iiq.identities', { dripMs: 40 });
        if (round % 4 === 1) simulator.failNext('iiq.list', { dripMs: 40 });
        // IdentityIQ's token endpoint hangs for a whole poll, as behind a firewall that drops packets.
        if (round === 3) {
            simulator.expireTokens();
            simulator.failNext('iiq.token', ...Array.from({ length: 6 }, () => ({ delayMs: 60_000 })));
        }
        if (round === 2 && listening) {
            // The listener refuses the key for a while (rotated on one side first): nothing may be marked refused or lost.
            const refusedKey = { status: 401, contentType: 'application/json', body: '{"error":{"code":"UNAUTHORIZED","message":"Token validation failed"}}' };
            simulator.failNext('moveworks.listener', refusedKey, refusedKey, refusedKey);
        } else if (round === 2) {
            const unknownEvent = { status: 404, contentType: 'application/json', body: '{"error":{"code":"INVALID_EVENT_ID","message":"Event not found"}}' };
            simulator.failNext('moveworks.send', unknownEvent, unknownEvent, unknownEvent);
        }
        await poll();
        const notified = [...new Set(deliveries().map((delivery) => delivery.approvalId))].filter((id) => ownerOf.has(id) && !clicked.has(id) && !completedInside.has(id));
        if (round === 1) {
            for (const [index, approvalId] of notified.slice(0, 6).entries()) await crashMidDecision(approvalId, index % 2 === 0);
        }
        const batch = notified.filter((id) => !clicked.has(id) && random() < 0.7);
        await Promise.all(
            batch.map(async (approvalId) => {
                clicked.add(approvalId);
                const approvers = approversOf(ownerOf.get(approvalId)!);
                const decision = random() < 0.5 ? 'approve' : 'reject';
                const roll = random();
                if (roll < 0.1) {
                    const stranger = pick(people.filter((person) => !approvers.includes(person)));
                    await click(approvalId, stranger.email!, decision, false);
                }
                const approver = pick(approvers);
                if (roll > 0.85) await Promise.all([click(approvalId, approver.email!, decision, true), click(approvalId, pick(approvers).email!, 'approve', true)]);
                else await click(approvalId, approver.email!, decision, true);
            }),
        );
        // Every connected approver's access token expires: the next clicks refresh, through both instances at once.
        for (const person of connected) simulator.isc.expireUserTokens(person.id);
        const iscNotified = [...iscOwnerOf.keys()].filter((id) => deliveriesFor(id).length > 0 && !clicked.has(id));
        await Promise.all(
            iscNotified.map(async (approvalId) => {
                clicked.add(approvalId);
                const owner = iscPeople.find((person) => person.id === iscOwnerOf.get(approvalId))!;
                if (random() < 0.3) await Promise.all([iscClick(approvalId, owner.email!, url), iscClick(approvalId, owner.email!, secondUrl)]);
                else await iscClick(approvalId, owner.email!, random() < 0.5 ? url : secondUrl);
            }),
        );
        say(`[soak] poll ${round + 1}/${options.polls}: ${ownerOf.size} approvals, ${new Set(deliveries().map((delivery) => delivery.approvalId)).size} notified, ${simulator.decisions.length} decided`);
    }

    // Faults stop; the app must now deliver everything it still owes.
    simulator.randomFaultsEnabled = false;
    simulator.beforeListPage = undefined;
    for (let extra = 0; extra < 5; extra++) await poll();
    // The approvers of the rows left claimed by a dead worker decide them now.
    await Promise.all([...crashed.pending].map((approvalId) => click(approvalId, approversOf(ownerOf.get(approvalId)!)[0].email!, 'approve', true)));

    const violations: string[] = [];
    const decided = new Set(simulator.decisions.map((decision) => decision.workItemId));
    for (const [approvalId, ownerId] of ownerOf) {
        const expected = approversOf(ownerId).map((person) => person.email!).sort();
        const received = deliveriesFor(approvalId).flatMap((delivery) => delivery.recipients).sort();
        const twice = received.filter((email, index) => received[index - 1] === email);
        const strangers = received.filter((email) => !expected.includes(email));
        if (twice.length > 0 || strangers.length > 0) violations.push(`approval ${approvalId}: notified twice ${twice.slice(0, 5).join(',')}; not an approver ${strangers.slice(0, 5).join(',')}`);
        // A group's messages go out 500 recipients a request: once someone decided, the rest are owed nothing.
        const finished = decided.has(approvalId) || completedInside.has(approvalId) || crashed.decided.has(approvalId);
        if (!finished && received.length !== expected.length) violations.push(`approval ${approvalId}: still pending, ${received.length} of its ${expected.length} approvers notified`);
        if (finished && received.length === 0) violations.push(`approval ${approvalId}: finished without anyone notified`);
    }
    const decisionsBy = new Map<string, number>();
    for (const decision of simulator.decisions) {
        decisionsBy.set(decision.workItemId, (decisionsBy.get(decision.workItemId) ?? 0) + 1);
        const allowed = approversOf(ownerOf.get(decision.workItemId) ?? '').map((person) => person.id);
        if (!allowed.includes(decision.approverId)) violations.push(`approval ${decision.workItemId}: decided by ${decision.approverId}, who is not its approver`);
    }
    const accepted = new Map<string, number>();
    for (const entry of clicks.filter((c) => c.status === 200)) accepted.set(entry.approvalId, (accepted.get(entry.approvalId) ?? 0) + 1);
    for (const [approvalId, count] of decisionsBy) {
        if (count !== 1) violations.push(`approval ${approvalId}: ${count} decisions reached IdentityIQ`);
        if ((accepted.get(approvalId) ?? 0) !== 1) violations.push(`approval ${approvalId}: decided in IdentityIQ, but ${accepted.get(approvalId) ?? 0} clicks were told so`);
    }
    for (const [approvalId, count] of accepted) if (!decisionsBy.has(approvalId) || count !== 1) violations.push(`approval ${approvalId}: ${count} clicks accepted, ${decisionsBy.get(approvalId) ?? 0} decisions`);
    for (const entry of clicks.filter((c) => !c.valid && c.status !== 403 && c.status !== 409)) violations.push(`wrong-person click on ${entry.approvalId} answered ${entry.status}`);
    const errors = clicks.filter((c) => c.status >= 500 && c.status !== 502 && c.status !== 503);
    for (const entry of errors) violations.push(`click on ${entry.approvalId} answered ${entry.status} ${entry.code}`);
    for (const approvalId of crashed.decided) {
        const record = await store.get('iiq', approvalId);
        if (record?.status !== 'closed') violations.push(`approval ${approvalId}: decided in IdentityIQ after its worker died, but ${record?.status ?? 'missing'} in the table`);
    }
    for (const approvalId of crashed.pending) {
        if (decisionsBy.get(approvalId) !== 1) violations.push(`approval ${approvalId}: left claimed by a dead worker, and its approver's click did not decide it`);
    }
    const longestPoll = Math.max(...pollTimes);
    if (longestPoll > POLL_BUDGET_SECONDS * 1000 + RECORDING_GRACE_MS) violations.push(`a poll took ${longestPoll} ms, past its budget and grace`);
    for (const [approvalId] of ownerOf) {
        if (!simulator.workItems.has(approvalId)) continue;
        const record = await store.get('iiq', approvalId);
        if (record?.status !== 'open') violations.push(`approval ${approvalId}: pending in IdentityIQ, but ${record?.status ?? 'missing'} in the table`);
    }
    const iscWrites = simulator.isc.writes.filter((write) => write.status < 300);
    for (const write of iscWrites.filter((candidate) => candidate.kind !== 'user')) violations.push(`ISC write ${write.route} on ${write.approvalId} was made with the service credential`);
    const iscDecided = new Map<string, number>();
    for (const write of iscWrites) iscDecided.set(write.approvalId, (iscDecided.get(write.approvalId) ?? 0) + 1);
    for (const [approvalId, count] of iscDecided) {
        if (count !== 1) violations.push(`ISC approval ${approvalId}: ${count} decisions reached ISC`);
        const accepted = iscClicks.filter((entry) => entry.approvalId === approvalId && entry.status === 200).length;
        if (accepted !== 1) violations.push(`ISC approval ${approvalId}: decided in ISC, but ${accepted} clicks were told so`);
    }
    for (const write of iscWrites) {
        if (write.identityId !== iscOwnerOf.get(write.approvalId)) violations.push(`ISC approval ${write.approvalId}: decided as ${write.identityId}, not its owner`);
        if (write.identityId === iscPeople[0].id && write.at > revokedAt) violations.push(`ISC approval ${write.approvalId}: decided by a revoked approver`);
    }
    for (const entry of iscClicks) {
        const neverConnected = !connected.some((person) => person.email === entry.email);
        const revoked = entry.email === iscPeople[0].email && entry.at > revokedAt;
        // 403 connect_required, or 409 while a second click of theirs holds the row; never a decision.
        if ((neverConnected || revoked) && entry.status !== 403 && entry.status !== 409) violations.push(`ISC click by ${entry.email}, ${neverConnected ? 'never connected' : 'revoked'}, answered ${entry.status} ${entry.code ?? ''}`);
        if (entry.status === 200 && !iscDecided.has(entry.approvalId)) violations.push(`ISC click on ${entry.approvalId} was told it approved, but nothing reached ISC`);
        if (entry.status >= 500 && entry.status !== 502 && entry.status !== 503) violations.push(`ISC click on ${entry.approvalId} answered ${entry.status} ${entry.code}`);
    }
    for (const person of connected.slice(1)) {
        const status = (await (await fetch(`${secondUrl}/api/connections/isc?approverEmail=${person.email}`)).json()) as { connected?: boolean };
        if (status.connected !== true) violations.push(`${person.email} lost their ISC connection without being revoked`);
    }
    if (deliveriesFor('bad#id').length > 0) violations.push('the work item whose id is not a table key was notified');
    const unhandledLogs = appLog.filter((line) => line.includes('"http.unhandled"')).length;
    if (unhandled + unhandledLogs > 0) violations.push(`${unhandled} unhandled errors, ${unhandledLogs} unhandled request failures`);

    clearInterval(expiry);
    await secondHost.stop();
    await host.stop();
    await simulator.stop();
    await azurite.stop();
    rmSync(location, { recursive: true, force: true });

    const summary = {
        approvals: ownerOf.size,
        polls: options.polls,
        seed: options.seed,
        seconds: Math.round((Date.now() - started) / 1000),
        delivery: options.delivery,
        messages: deliveries().length,
        decisions: simulator.decisions.length,
        clicks: clicks.length,
        clicksRefused: clicks.filter((c) => c.status === 403).length,
        clicksTooLate: clicks.filter((c) => c.status === 409).length,
        clicksGaveUp: clicks.filter((c) => c.status === 502 || c.status === 503).length,
        completedInsideWhilePaging: completedInside.size,
        crashedMidDecision: crashed.pending.size + crashed.decided.size,
        iscApprovals: iscOwnerOf.size,
        iscClicksAsUser: iscClicks.filter((entry) => entry.status === 200).length,
        iscClicksConnectRequired: iscClicks.filter((entry) => entry.code === 'connect_required').length,
        iscRefreshes: simulator.isc.userTokenGrants.filter((grant) => grant.grantType === 'refresh_token').length,
        longestPollMs: longestPoll,
        rateLimited429: simulator.rateLimited.length,
        violations: violations.length,
    };
    say(JSON.stringify(summary));
    for (const violation of violations.slice(0, 20)) say(`VIOLATION ${violation}`);
    if (violations.length > 0 && process.env.SOAK_LOG) writeFileSync(process.env.SOAK_LOG, appLog.join('\n'));
    say(violations.length === 0 ? 'soak: 0 violations' : `soak: ${violations.length} violations`);
    process.exit(violations.length === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
    process.stdout.write(`soak crashed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
});
