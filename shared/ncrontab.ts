import { Cron } from 'croner';

/**
 * Six-field NCRONTAB schedules (second minute hour day month day-of-week), as the Functions timer trigger
 * reads them, in UTC: read by croner, held to what NCRONTAB accepts. Names (`Jan`, `MON-FRI`) are read;
 * croner's own extensions (`L`, `W`, `#`, `?`) are refused, since Azure would refuse them; and a day must
 * match both the day of the month and the day of the week, as NCRONTAB's does.
 */
export type Schedule = Cron;

const NCRONTAB_FIELD = /^[0-9A-Za-z*,\/-]+$/;

export function parseSchedule(expression: string): Schedule {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== 6) throw new Error(`"${expression}" must have six fields (second minute hour day month day-of-week)`);
    const foreign = parts.find((part) => !NCRONTAB_FIELD.test(part) || /[LW]$/i.test(part.replace(/[A-Za-z]{3,}/g, '')));
    if (foreign) throw new Error(`"${expression}": the field "${foreign}" uses syntax NCRONTAB does not read`);
    return new Cron(parts.join(' '), { paused: true, timezone: 'UTC', mode: '6-part', domAndDow: true });
}

/** The first occurrence strictly after `after`. */
export function nextOccurrence(schedule: Schedule, after: Date): Date {
    const next = schedule.nextRun(after);
    if (!next) throw new Error('schedule has no further occurrence');
    return next;
}
