import { all, any, atOrAfter, equals, equalsIgnoreCase, isIn, quote } from '../shared/iiq/filter';
import { compileFilter } from '../dev/simulator/filter';

describe('IdentityIQ filter strings', () => {
    const hostile = ['x" || email.notNull() || email=="y', 'a\\" || true || "', '\\', '"', 'back\\slash"quote', '{"a"}).in(', '&& ||'];

    it.each(hostile)('keeps %j a single string literal that only matches itself', (value) => {
        const match = compileFilter(equals('email', value));
        expect(match((property) => (property === 'email' ? value : undefined))).toBe(true);
        expect(match((property) => (property === 'email' ? 'someone@example.com' : undefined))).toBe(false);
        expect(match(() => null)).toBe(false);
    });

    it('escapes backslashes before quotes', () => {
        expect(quote('a\\"b')).toBe('"a\\\\\\"b"');
    });

    it('builds the incremental poll filter IdentityIQ compiles', () => {
        const filter = all(equals('type', 'Approval'), any(atOrAfter('created', 1000), atOrAfter('modified', 1000)));
        expect(filter).toBe('(type == "Approval" && (created >= DATE$1000 || modified >= DATE$1000))');
        const match = compileFilter(filter);
        expect(match((p) => ({ type: 'Approval', created: 10, modified: 1000 })[p])).toBe(true);
        expect(match((p) => ({ type: 'Approval', created: 10, modified: null })[p] as number | null)).toBe(false);
        expect(match((p) => ({ type: 'Form', created: 5000, modified: null })[p] as number | null)).toBe(false);
    });

    it('builds case-insensitive and membership filters', () => {
        expect(equalsIgnoreCase('email', 'A@B.com')).toBe('email i== "A@B.com"');
        expect(isIn('id', ['a', 'b"c'])).toBe('id.in({"a","b\\"c"})');
    });

    it('refuses a watermark that is not an epoch-ms instant', () => {
        expect(() => atOrAfter('created', Number.NaN)).toThrow(RangeError);
        expect(() => atOrAfter('created', 1.5)).toThrow(RangeError);
    });
});
