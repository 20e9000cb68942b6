/**
 * A small evaluator for the IdentityIQ filter grammar (Filter.compile) as far as the app uses it:
 * ==, !=, i==, <, <=, >, >=, &&, ||, !, parentheses, .in({...}), .isNull(), .notNull(), "strings" with
 * \" and \\ escapes, DATE$<epochMs>, numbers, null, true, false. Anything else is a compile error, so a
 * filter the app builds wrongly fails here as it would in IdentityIQ.
 */

export type FilterValue = string | number | boolean | null | undefined;
export type Predicate = (lookup: (property: string) => FilterValue) => boolean;

export class FilterSyntaxError extends Error {}

type Token = { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'word'; value: string } | { kind: 'op'; value: string };

function tokenize(source: string): Token[] {
    const tokens: Token[] = [];
    let i = 0;
    while (i < source.length) {
        const rest = source.slice(i);
        const space = /^\s+/.exec(rest);
        if (space) {
            i += space[0].length;
            continue;
        }
        if (rest[0] === '"') {
            let value = '';
            let j = 1;
            for (; j < rest.length && rest[j] !== '"'; j++) {
                if (rest[j] === '\\') {
                    j++;
                    if (j >= rest.length) break;
                }
                value += rest[j];
            }
            if (rest[j] !== '"') throw new FilterSyntaxError('unterminated string literal');
            tokens.push({ kind: 'string', value });
            i += j + 1;
            continue;
        }
        const date = /^DATE\$(\d+)/.exec(rest);
        if (date) {
            tokens.push({ kind: 'number', value: Number(date[1]) });
            i += date[0].length;
            continue;
        }
        const number = /^-?\d+(\.\d+)?/.exec(rest);
        if (number) {
            tokens.push({ kind: 'number', value: Number(number[0]) });
            i += number[0].length;
            continue;
        }
        const op = /^(i==|i!=|==|!=|>=|<=|&&|\|\||[<>!(){},.])/.exec(rest);
        if (op) {
            tokens.push({ kind: 'op', value: op[0] });
            i += op[0].length;
            continue;
        }
        const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
        if (word) {
            tokens.push({ kind: 'word', value: word[0] });
            i += word[0].length;
            continue;
        }
        throw new FilterSyntaxError(`unexpected character ${JSON.stringify(rest[0])}`);
    }
    return tokens;
}

export function compileFilter(source: string): Predicate {
    const tokens = tokenize(source);
    let position = 0;
    const peek = () => tokens[position];
    const take = () => {
        const token = tokens[position++];
        if (!token) throw new FilterSyntaxError('unexpected end of filter');
        return token;
    };
    const expect = (value: string) => {
        const token = take();
        if (token.kind !== 'op' || token.value !== value) throw new FilterSyntaxError(`expected ${value}`);
    };
    const isOp = (value: string) => peek()?.kind === 'op' && peek()?.value === value;

    const literal = (): FilterValue => {
        const token = take();
        if (token.kind === 'string' || token.kind === 'number') return token.value;
        if (token.kind === 'word' && ['null', 'true', 'false'].includes(token.value)) {
            return token.value === 'null' ? null : token.value === 'true';
        }
        throw new FilterSyntaxError('expected a value');
    };

    const property = (): string => {
        const parts = [take()];
        while (isOp('.') && tokens[position + 1]?.kind === 'word' && !['in', 'isNull', 'notNull'].includes(String(tokens[position + 1].value))) {
            position++;
            parts.push(take());
        }
        if (parts.some((part) => part.kind !== 'word')) throw new FilterSyntaxError('expected a property name');
        return parts.map((part) => part.value).join('.');
    };

    const comparison = (): Predicate => {
        const name = property();
        if (isOp('.')) {
            position++;
            const method = take();
            expect('(');
            if (method.value === 'isNull' || method.value === 'notNull') {
                expect(')');
                return method.value === 'isNull' ? (lookup) => lookup(name) == null : (lookup) => lookup(name) != null;
            }
            if (method.value === 'in') {
                expect('{');
                const values: FilterValue[] = [literal()];
                while (isOp(',')) {
                    position++;
                    values.push(literal());
                }
                expect('}');
                expect(')');
                return (lookup) => values.includes(lookup(name));
            }
            throw new FilterSyntaxError(`unknown method ${String(method.value)}`);
        }
        const op = take();
        if (op.kind !== 'op') throw new FilterSyntaxError('expected an operator');
        const value = literal();
        const text = (v: FilterValue) => String(v ?? '').toLowerCase();
        const compare: Record<string, (actual: FilterValue) => boolean> = {
            '==': (actual) => actual === value,
            '!=': (actual) => actual !== value,
            'i==': (actual) => actual != null && text(actual) === text(value),
            'i!=': (actual) => actual == null || text(actual) !== text(value),
            '>=': (actual) => actual != null && value != null && actual >= value,
            '<=': (actual) => actual != null && value != null && actual <= value,
            '>': (actual) => actual != null && value != null && actual > value,
            '<': (actual) => actual != null && value != null && actual < value,
        };
        const test = compare[String(op.value)];
        if (!test) throw new FilterSyntaxError(`unknown operator ${String(op.value)}`);
        return (lookup) => test(lookup(name));
    };

    const unary = (): Predicate => {
        if (isOp('!')) {
            position++;
            const inner = unary();
            return (lookup) => !inner(lookup);
        }
        if (isOp('(')) {
            position++;
            const inner = or();
            expect(')');
            return inner;
        }
        return comparison();
    };
    const and = (): Predicate => {
        const parts = [unary()];
        while (isOp('&&')) {
            position++;
            parts.push(unary());
        }
        return (lookup) => parts.every((part) => part(lookup));
    };
    const or = (): Predicate => {
        const parts = [and()];
        while (isOp('||')) {
            position++;
            parts.push(and());
        }
        return (lookup) => parts.some((part) => part(lookup));
    };

    const predicate = or();
    if (position !== tokens.length) throw new FilterSyntaxError('unexpected text after the filter');
    return predicate;
}
