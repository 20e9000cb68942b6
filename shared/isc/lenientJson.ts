import { z } from 'zod';

/**
 * How both ISC parsers read a schema in which every field is optional: a field of an unexpected type
 * counts as absent, and a list entry of an unexpected shape is left out, so one odd value never costs
 * the whole approval (which would leave its approver without a message, or close its row).
 */

export const lenient = <T extends z.ZodType>(schema: T) => schema.nullish().catch(undefined);

export const listOf = <T extends z.ZodType>(entry: T) => lenient(z.array(entry.nullable().catch(null)));

/** A list's entries that had the expected shape. */
export const given = <T>(entries: (T | null)[] | null | undefined): T[] => (entries ?? []).filter((entry): entry is T => entry !== null);

export const text = lenient(z.string());

/** ISO-8601 text, as the schemas say, or epoch milliseconds. */
export const date = lenient(z.union([z.string(), z.number()]));

/** Epoch milliseconds from ISO-8601 text (or from epoch milliseconds already). */
export const instant = (value: string | number | null | undefined) => {
    const parsed = typeof value === 'number' ? value : value ? Date.parse(value) : Number.NaN;
    return Number.isFinite(parsed) ? parsed : undefined;
};

export const present = (value: string | null | undefined) => (value === null || value === undefined || value.trim() === '' ? undefined : value);
