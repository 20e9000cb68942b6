import { randomBytes } from 'node:crypto';
import { parseTokenKeys, TokenCipher, TokenKey } from '../shared/platform/tokenCipher';

const keyText = () => randomBytes(32).toString('base64');
const keys = (text: string) => {
    const parsed = parseTokenKeys(text);
    if (typeof parsed === 'string') throw new Error(parsed);
    return parsed;
};

describe('refresh tokens at rest (USER_TOKEN_KEYS)', () => {
    const current = `k2:${keyText()}`;
    const previous = `k1:${keyText()}`;
    const cipher = new TokenCipher(keys(current));

    it('opens what it sealed, for the same person only', () => {
        const sealed = cipher.seal('refresh-token-value', 'connection:alice');
        expect(cipher.open(sealed, 'connection:alice')).toBe('refresh-token-value');
        expect(cipher.open(sealed, 'connection:bob')).toBeUndefined();
    });

    it('never stores the token in the clear, nor the same ciphertext twice', () => {
        const [one, two] = [cipher.seal('refresh-token-value', 'c'), cipher.seal('refresh-token-value', 'c')];
        expect(one).not.toContain('refresh-token-value');
        expect(Buffer.from(one.split('.')[2], 'base64url').toString()).not.toContain('refresh');
        expect(one).not.toBe(two);
    });

    it('refuses a sealed token that was altered', () => {
        const sealed = cipher.seal('refresh-token-value', 'c');
        const parts = sealed.split('.');
        const body = Buffer.from(parts[2], 'base64url');
        body[0] ^= 1;
        expect(cipher.open([parts[0], parts[1], body.toString('base64url'), parts[3]].join('.'), 'c')).toBeUndefined();
    });

    it('keeps opening tokens sealed with an older key after a rotation, and seals with the first', () => {
        const before = new TokenCipher(keys(previous)).seal('old-token', 'c');
        const rotated = new TokenCipher(keys(`${current},${previous}`));
        expect(rotated.open(before, 'c')).toBe('old-token');
        expect(rotated.seal('new-token', 'c').startsWith('k2.')).toBe(true);
    });

    it('cannot open a token whose key was dropped from the list', () => {
        const before = new TokenCipher(keys(previous)).seal('old-token', 'c');
        expect(cipher.open(before, 'c')).toBeUndefined();
    });

    it.each([
        ['', 'at least one key'],
        ['k1', 'keyId:base64'],
        [`k 1:${keyText()}`, 'key id'],
        [`k1:${randomBytes(16).toString('base64')}`, '32 bytes'],
        [`k1:${keyText()},k1:${keyText()}`, 'used twice'],
    ])('refuses USER_TOKEN_KEYS=%j, saying why without repeating a key', (text, why) => {
        const problem = parseTokenKeys(text) as string;
        expect(typeof problem).toBe('string');
        expect(problem).toContain(why);
        for (const part of text.split(/[,:]/).filter((value) => value.length > 8)) expect(problem).not.toContain(part);
    });

    it('reads several keys in their order', () => {
        expect(keys(`${current}, ${previous}`).map((key: TokenKey) => key.id)).toEqual(['k2', 'k1']);
    });
});
