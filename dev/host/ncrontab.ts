/**
 * Six-field NCRONTAB schedules (second minute hour day month day-of-week), as the Functions timer trigger
 * reads them, in UTC. Supports *, numbers, ranges, steps and lists; day and day-of-week must both match.
 */

const FIELDS = [
    { name: 'second', min: 0, max: 59 },
    { name: 'minute', min: 0, max: 59 },
    { name: 'hour', min: 0, max: 23 },
    { name: 'day', min: 1, max: 31 },
    { name: 'month', min: 1, max: 12 },
    { name: 'day-of-week', min: 0, max: 6 },
] as const;

export type Schedule = Set<number>[];

function parseField(text: string, min: number, max: number, name: string): Set<number> {
    const values = new Set<number>();
    for (const part of text.split(',')) {
        const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
        if (!match) throw new Error(`invalid ${name} field "${text}"`);
        const step = match[4] ? Number(match[4]) : 1;
        const from = match[1] === '*' ? min : Number(match[2]);
        const to = match[1] === '*' ? max : match[3] !== undefined ? Number(match[3]) : match[4] ? max : from;
        if (step < 1 || from < min || to > max || from > to) throw new Error(`invalid ${name} field "${text}"`);
        for (let value = from; value <= to; value += step) values.add(value);
    }
    return values;
}

export function parseSchedule(expression: string): Schedule {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== 6) throw new Error(`"${expression}" must have six fields (second minute hour day month day-of-week)`);
    return parts.map((part, index) => parseField(part, FIELDS[index].min, FIELDS[index].max, FIELDS[index].name));
}

/** The first occurrence strictly after `after`. */
export function nextOccurrence(schedule: Schedule, after: Date): Date {
    const [seconds, minutes, hours, days, months, weekdays] = schedule;
    const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
    const limit = after.getTime() + 5 * 366 * 24 * 3600 * 1000;
    while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1)) {
            t.setUTCMonth(t.getUTCMonth() + 1, 1);
            t.setUTCHours(0, 0, 0);
        } else if (!days.has(t.getUTCDate()) || !weekdays.has(t.getUTCDay())) {
            t.setUTCDate(t.getUTCDate() + 1);
            t.setUTCHours(0, 0, 0);
        } else if (!hours.has(t.getUTCHours())) {
            t.setUTCHours(t.getUTCHours() + 1, 0, 0);
        } else if (!minutes.has(t.getUTCMinutes())) {
            t.setUTCMinutes(t.getUTCMinutes() + 1, 0);
        } else if (!seconds.has(t.getUTCSeconds())) {
            t.setUTCSeconds(t.getUTCSeconds() + 1);
        } else {
            return t;
        }
    }
    throw new Error('schedule has no occurrence in the next five years');
}
