import { z } from 'zod';
import { parseSchedule } from './ncrontab';

/**
 * The kinds of value an app setting holds, as zod schemas that read the text of an environment variable:
 * empty means the default, and a bad value is one problem named in words an operator can act on.
 */

export const optionalText = z
    .string()
    .optional()
    .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

export const baseUrl = z
    .string()
    .trim()
    .refine((value) => /^https?:\/\/[^\s/]+/i.test(value) && URL.canParse(value), 'must be an absolute URL starting with https:// (or http://)')
    .transform((value) => value.replace(/\/+$/, ''));

/** A setting read from text: empty means the default; `read` answers the value, or undefined with `problem`. */
export function setting<T>(defaultValue: T, problem: string, read: (text: string) => T | undefined) {
    return z
        .string()
        .trim()
        .optional()
        .transform((value, ctx) => {
            if (value === undefined || value === '') return defaultValue;
            const parsed = read(value);
            if (parsed !== undefined) return parsed;
            ctx.addIssue({ code: 'custom', message: problem });
            return z.NEVER;
        });
}

export const integer = (defaultValue: number, min: number, max: number) =>
    setting(defaultValue, `must be a whole number from ${min} to ${max}`, (text) => {
        const parsed = Number(text);
        return Number.isInteger(parsed) && parsed >= min && parsed <= max ? parsed : undefined;
    });

export const flag = (defaultValue: boolean) =>
    setting(defaultValue, 'must be true or false', (text) => (/^(true|1|yes)$/i.test(text) ? true : /^(false|0|no)$/i.test(text) ? false : undefined));

export const pattern = (defaultValue: string) =>
    setting(new RegExp(defaultValue), 'must be a valid regular expression', (text) => {
        try {
            return new RegExp(text);
        } catch {
            return undefined;
        }
    });

/** An NCRONTAB schedule (six fields, seconds first) that the timer trigger can read, checked by the same parser the local host runs. */
export const ncrontab = (defaultValue: string) =>
    z
        .string()
        .trim()
        .optional()
        .transform((value, ctx) => {
            if (value === undefined || value === '') return defaultValue;
            try {
                parseSchedule(value);
                return value;
            } catch (error) {
                ctx.addIssue({ code: 'custom', message: `must be a six-field NCRONTAB schedule (seconds first), e.g. "${defaultValue}": ${error instanceof Error ? error.message : String(error)}` });
                return z.NEVER;
            }
        });

/** A credential sent as `Authorization: Bearer <key>`: the raw key, since the app adds "Bearer " itself; empty means unset. */
export const rawKey = optionalText.refine((value) => value === undefined || !/^bearer\s/i.test(value), 'must be the raw key: the app adds "Bearer " itself');

/** One of `values`, in any letter case; the problem names them all. */
export const oneOf = <T extends string>(values: readonly T[], defaultValue: T) =>
    setting<T>(defaultValue, `must be ${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`, (text) => values.find((value) => value === text.toLowerCase()));
