/**
 * `value` in at most `max` characters, "…" included when it had to be cut. Cut between code points, so a
 * character outside the Basic Multilingual Plane (an emoji) is never split into a lone surrogate.
 */
export function truncate(value: string, max: number): string {
    if (value.length <= max) return value;
    let kept = '';
    for (const character of value) {
        if (kept.length + character.length > max - 1) break;
        kept += character;
    }
    return `${kept}…`;
}

/** Any run of whitespace (line breaks included) as one space, and none at either end. */
export const singleLine = (value: string) => value.replace(/\s+/g, ' ').trim();

/**
 * A copy of an id kept for long: an id parsed out of a listed page may be a slice of it, and V8 keeps a
 * slice's whole source alive, so a set of such ids would hold every page they came from.
 */
export const detached = (id: string) => Buffer.from(id).toString();
