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
