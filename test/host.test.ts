import { LocalHost, substituteSettings } from '../dev/host/host';
import { nextOccurrence, parseSchedule } from '../shared/platform/ncrontab';
import { Registration } from '../dev/host/registrations';

describe('local host timers', () => {
    it('reads six-field NCRONTAB schedules in UTC', () => {
        const everyMinute = parseSchedule('0 */1 * * * *');
        expect(nextOccurrence(everyMinute, new Date('2026-11-23T10:15:30Z')).toISOString()).toBe('2026-11-23T10:16:00.000Z');
        const weekdayMornings = parseSchedule('0 30 9 * * 1-5');
        expect(nextOccurrence(weekdayMornings, new Date('2026-11-21T12:00:00Z')).toISOString()).toBe('2026-11-23T09:30:00.000Z');
        expect(nextOccurrence(parseSchedule('*/15 * * * * *'), new Date('2026-01-01T00:00:59Z')).toISOString()).toBe('2026-01-01T00:01:00.000Z');
    });

    it('refuses a five-field cron expression', () => {
        expect(() => parseSchedule('*/1 * * * *')).toThrow(/six fields/);
    });

    // The examples of Azure's timer trigger documentation (NCRONTAB expressions), each with its next run.
    it.each([
        ['0 */5 * * * *', 'once every five minutes', '2026-11-23T10:15:30Z', '2026-11-23T10:20:00.000Z'],
        ['0 0 * * * *', 'once at the top of every hour', '2026-11-23T10:15:30Z', '2026-11-23T11:00:00.000Z'],
        ['0 0 */2 * * *', 'once every two hours', '2026-11-23T11:15:30Z', '2026-11-23T12:00:00.000Z'],
        ['0 0 9-17 * * *', 'once every hour from 9 AM to 5 PM', '2026-11-23T17:30:00Z', '2026-11-24T09:00:00.000Z'],
        ['0 30 9 * * *', 'at 9:30 AM every day', '2026-11-23T10:00:00Z', '2026-11-24T09:30:00.000Z'],
        ['0 30 9 * * 1-5', 'at 9:30 AM every weekday', '2026-11-27T10:00:00Z', '2026-11-30T09:30:00.000Z'],
        ['0 30 9 * Jan Mon', 'at 9:30 AM every Monday in January', '2026-11-23T10:00:00Z', '2027-01-04T09:30:00.000Z'],
        ['0 0 9 * * MON-FRI', 'at 9 AM on weekdays, by name', '2026-11-28T10:00:00Z', '2026-11-30T09:00:00.000Z'],
        ['0 0 0 * * Sun', 'at midnight on Sundays', '2026-11-23T10:00:00Z', '2026-11-29T00:00:00.000Z'],
        ['0 0 0 1 Jan-Mar *', 'at midnight on the first of each month of the first quarter', '2026-11-23T10:00:00Z', '2027-01-01T00:00:00.000Z'],
    ])('reads %s (%s) as Azure does', (expression, _meaning, after, next) => {
        expect(nextOccurrence(parseSchedule(expression), new Date(after)).toISOString()).toBe(next);
    });

    // NCrontab (the library the timer trigger uses): names match by prefix of the full name, "v/step" runs
    // from v to the maximum, a reversed range is swapped, and a step of 0 is read as 1.
    it.each([
        ['0 5/15 * * * *', '2026-11-23T10:06:00Z', '2026-11-23T10:20:00.000Z'],
        ['0 0 9 * * Mon/2', '2026-11-24T10:00:00Z', '2026-11-25T09:00:00.000Z'],
        ['0 0 9 * * Monday', '2026-11-24T10:00:00Z', '2026-11-30T09:00:00.000Z'],
        ['0 0 9 1 January *', '2026-11-24T10:00:00Z', '2027-01-01T09:00:00.000Z'],
        ['0 0 9 * * Thurs', '2026-11-24T10:00:00Z', '2026-11-26T09:00:00.000Z'],
        ['0 0 9 1 Sept *', '2026-11-24T10:00:00Z', '2027-09-01T09:00:00.000Z'],
        ['0 0 9 * * FRI-MON', '2026-11-28T10:00:00Z', '2026-11-30T09:00:00.000Z'],
        ['0 0 9 * * Monday-Friday', '2026-11-28T10:00:00Z', '2026-11-30T09:00:00.000Z'],
        ['*/0 * * * * *', '2026-11-23T10:00:00Z', '2026-11-23T10:00:01.000Z'],
    ])('reads %s as NCRONTAB does', (expression, after, next) => {
        expect(nextOccurrence(parseSchedule(expression), new Date(after)).toISOString()).toBe(next);
    });

    it.each([['0 0 9 * * 7'], ['0 0 9 * * 6-7'], ['0 0 9 * * 0,7'], ['0 /5 * * * *'], ['0\t0 9 * * *']])('refuses %j, which NCRONTAB does not read (day of week above 6, a step without a start, a tab)', (expression) => {
        expect(() => parseSchedule(expression)).toThrow();
    });

    it('runs only on days that match both the day of the month and the day of the week, as NCRONTAB does', () => {
        expect(nextOccurrence(parseSchedule('0 0 0 13 * Fri'), new Date('2026-11-23T00:00:00Z')).toISOString()).toBe('2027-08-13T00:00:00.000Z');
    });

    it.each([
        ['0 0 0 L * *', 'last day of the month'],
        ['0 0 0 ? * *', 'no specific value'],
        ['0 0 0 * * 5#3', 'nth weekday'],
        ['0 0 0 15W * *', 'nearest weekday'],
        ['0 0 0 * * Funday', 'an unknown name'],
        ['0 61 * * * *', 'a minute out of range'],
    ])('refuses %s (%s), which NCRONTAB does not read', (expression) => {
        expect(() => parseSchedule(expression)).toThrow();
    });

    it('substitutes %SETTING% from the app settings and names a missing one', () => {
        expect(substituteSettings('%POLL_SCHEDULE%', { POLL_SCHEDULE: '0 */5 * * * *' })).toBe('0 */5 * * * *');
        expect(() => substituteSettings('%POLL_SCHEDULE%', {})).toThrow(/POLL_SCHEDULE/);
    });
});

describe('local host admin endpoint', () => {
    it('answers 202 and queues a run asked for while the same function is running', async () => {
        const runs: number[] = [];
        let release: () => void = () => undefined;
        let active = 0;
        let overlapped = false;
        const registration: Registration = {
            name: 'slowTimer',
            trigger: { type: 'timerTrigger', schedule: '0 0 0 1 1 *' },
            handler: async () => {
                active++;
                overlapped ||= active > 1;
                runs.push(Date.now());
                if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
                active--;
            },
        };
        const host = new LocalHost({ registrations: [registration], port: 0, timers: false, log: () => undefined });
        const url = await host.start();
        try {
            const ask = () => fetch(`${url}/admin/functions/slowTimer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":""}' });
            expect((await ask()).status).toBe(202);
            expect((await ask()).status).toBe(202);
            expect((await ask()).status).toBe(202);
            release();
            await host.idle();
            expect(runs).toHaveLength(3);
            expect(overlapped).toBe(false);
            expect((await fetch(`${url}/admin/functions/nope`, { method: 'POST', headers: { 'content-type': 'application/json' } })).status).toBe(404);
        } finally {
            await host.stop();
        }
    });
});

describe('local host routes', () => {
    it('serves an optional route parameter {x?} with and without it, as Azure does', async () => {
        const seen: Record<string, string>[] = [];
        const registration: Registration = {
            name: 'items',
            trigger: { type: 'httpTrigger', route: 'items/{id?}', methods: ['GET'], authLevel: 'anonymous' },
            handler: async (request: { params: Record<string, string> }) => {
                seen.push({ ...request.params });
                return { status: 200 };
            },
        } as unknown as Registration;
        const host = new LocalHost({ registrations: [registration], port: 0, timers: false, log: () => undefined });
        const url = await host.start();
        try {
            expect((await fetch(`${url}/api/items`)).status).toBe(200);
            expect((await fetch(`${url}/api/items/42`)).status).toBe(200);
            expect((await fetch(`${url}/api/items/42/more`)).status).toBe(404);
            expect(seen).toEqual([{}, { id: '42' }]);
        } finally {
            await host.stop();
        }
    });
});

describe('the local host without FUNCTION_KEY', () => {
    const registration: Registration = { name: 'everyDay', trigger: { type: 'timerTrigger', schedule: '0 0 0 * * *' }, handler: async () => undefined };

    it('listens on 127.0.0.1 only', async () => {
        const host = new LocalHost({ registrations: [registration], port: 0, timers: false, log: () => undefined });
        await host.start();
        try {
            expect(host.address).toMatchObject({ address: '127.0.0.1' });
        } finally {
            await host.stop();
        }
    });

    it.each([
        ['without a key', {}, 415] as const,
        ['with FUNCTION_KEY', { functionKey: 'k3y' }, 202] as const,
    ])('answers a POST not sent as JSON, as a cross-site form would send it, %s', async (_label, keys, status) => {
        let runs = 0;
        const host = new LocalHost({ registrations: [{ ...registration, handler: async () => void runs++ }], port: 0, timers: false, log: () => undefined, ...keys });
        const url = await host.start();
        try {
            const response = await fetch(`${url}/admin/functions/everyDay?code=k3y`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"input":""}' });
            expect(response.status).toBe(status);
            await host.idle();
            expect(runs).toBe(status === 202 ? 1 : 0);
        } finally {
            await host.stop();
        }
    });
});
