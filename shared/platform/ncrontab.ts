import { Cron } from 'croner';

/**
 * Six-field NCRONTAB schedules (second minute hour day month day-of-week), as the Functions timer trigger
 * reads them, in UTC. Each field is read by NCrontab's rules (the library the trigger uses) and handed to
 * croner as plain numbers, so croner only computes occurrences:
 * - names match by prefix of the full name, any case (`Mon`, `Thurs`, `Monday`, `Sept`);
 * - `v/step` runs from v to the field's maximum; a step of 0 is read as 1; a reversed range is swapped;
 * - day of week is 0-6 (Sunday 0); croner's own `L`, `W`, `#` and `?` are refused, as Azure would;
 * - fields are separated by spaces only, and a day must match both the day of the month and the day of
 *   the week.
 */
export type Schedule = Cron;

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

interface FieldRule {
    name: string;
    min: number;
    max: number;
    /** Names for the values, from `min` up. */
    names?: string[];
}

const FIELDS: FieldRule[] = [
    { name: 'second', min: 0, max: 59 },
    { name: 'minute', min: 0, max: 59 },
    { name: 'hour', min: 0, max: 23 },
    { name: 'day', min: 1, max: 31 },
    { name: 'month', min: 1, max: 12, names: MONTHS },
    { name: 'day-of-week', min: 0, max: 6, names: DAYS },
];

export function parseSchedule(expression: string): Schedule {
    const parts = expression.trim().split(/ +/);
    if (parts.length !== 6) throw new Error(`"${expression}" must have six fields separated by spaces (second minute hour day month day-of-week)`);
    const pattern = parts.map((part, index) => toNumericField(part, FIELDS[index])).join(' ');
    return new Cron(pattern, { paused: true, timezone: 'UTC', mode: '6-part', domAndDow: true });
}

/** The first occurrence strictly after `after`. */
export function nextOccurrence(schedule: Schedule, after: Date): Date {
    const next = schedule.nextRun(after);
    if (!next) throw new Error('schedule has no further occurrence');
    return next;
}

/** One field as NCrontab reads it, written back with numbers only; throws on what NCrontab refuses. */
function toNumericField(text: string, field: FieldRule): string {
    const refuse = (why: string) => new Error(`invalid ${field.name} field "${text}": ${why}`);
    return text
        .split(',')
        .map((item) => {
            const match = /^([^/]+)(?:\/(\d+))?$/.exec(item);
            if (!match) throw refuse('expected a value, a range or *, optionally with /step');
            const step = match[2] === undefined ? undefined : Math.max(1, Number(match[2]));
            const [from, to] = rangeOf(match[1], field, refuse);
            // "v/step" is v through the maximum; a plain "v" is just v.
            const end = to ?? (step !== undefined ? field.max : from);
            const [low, high] = from <= end ? [from, end] : [end, from];
            return `${low}-${high}${step !== undefined ? `/${step}` : ''}`;
        })
        .join(',');
}

function rangeOf(text: string, field: FieldRule, refuse: (why: string) => Error): [number, number | undefined] {
    if (text === '*') return [field.min, field.max];
    const ends = text.split('-');
    if (ends.length > 2 || ends.some((end) => end === '')) throw refuse('expected a value or a range');
    const [from, to] = ends.map((end) => valueOf(end, field, refuse));
    return [from, to];
}

function valueOf(text: string, field: FieldRule, refuse: (why: string) => Error): number {
    if (/^\d+$/.test(text)) {
        const value = Number(text);
        if (value < field.min || value > field.max) throw refuse(`${value} is outside ${field.min}-${field.max}`);
        return value;
    }
    const index = /^[A-Za-z]+$/.test(text) ? (field.names ?? []).findIndex((name) => name.toLowerCase().startsWith(text.toLowerCase())) : -1;
    if (index < 0) throw refuse(`"${text}" is not a number${field.names ? ' or a name' : ''}`);
    return field.min + index;
}
