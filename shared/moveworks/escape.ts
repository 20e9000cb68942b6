const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

const escapeCharacter = (character: string) => ENTITIES[character] ?? character;

/** The one escaping function: every value from a source system passes through it before entering chat markup. */
export function escapeHtml(value: string): string {
    return value.replace(/[&<>"']/g, escapeCharacter);
}

/**
 * `value` escaped in at most `max` characters of markup, "…" included when it had to be cut: cut between
 * characters, never inside an entity or a surrogate pair, so a hostile value cannot grow past its budget.
 */
export function escapeHtmlWithin(value: string, max: number): string {
    const escaped = escapeHtml(value);
    if (escaped.length <= max) return escaped;
    let kept = '';
    for (const character of value) {
        const piece = escapeCharacter(character);
        if (kept.length + piece.length > max - 1) break;
        kept += piece;
    }
    return `${kept}…`;
}
