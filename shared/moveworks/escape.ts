const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The one escaping function: every value from a source system passes through it before entering chat markup. */
export function escapeHtml(value: string): string {
    return value.replace(/[&<>"']/g, (character) => ENTITIES[character]);
}
