import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Refresh tokens at rest: AES-256-GCM from node:crypto, a fresh 96-bit IV per seal, the key id beside the
 * ciphertext so that keys rotate (the first key seals, every key opens), and the row the token belongs to
 * as additional authenticated data, so a sealed token copied into another person's row does not open.
 */

export interface TokenKey {
    id: string;
    key: Buffer;
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** USER_TOKEN_KEYS, `keyId:base64` comma list of 256-bit keys, or the problem with it (never the key itself). */
export function parseTokenKeys(text: string): TokenKey[] | string {
    const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
    if (entries.length === 0) return 'must name at least one key as keyId:base64';
    const keys: TokenKey[] = [];
    for (const [index, entry] of entries.entries()) {
        const colon = entry.indexOf(':');
        const id = colon === -1 ? '' : entry.slice(0, colon);
        const encoded = colon === -1 ? '' : entry.slice(colon + 1);
        if (!KEY_ID.test(id)) return `key ${index + 1}: must be keyId:base64, with a key id of letters, digits, _ and - (at most 32)`;
        if (keys.some((key) => key.id === id)) return `key ${index + 1}: the key id ${id} is used twice`;
        const key = Buffer.from(encoded, 'base64');
        if (key.length !== KEY_BYTES || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) {
            return `key ${index + 1} (${id}): must be ${KEY_BYTES} bytes in base64 (openssl rand -base64 32)`;
        }
        keys.push({ id, key });
    }
    return keys;
}

export class TokenCipher {
    constructor(private readonly keys: TokenKey[]) {
        if (keys.length === 0) throw new Error('TokenCipher needs at least one key');
    }

    /** `keyId.iv.ciphertext.tag`, base64url; `context` must be given again to open it. */
    seal(plain: string, context: string): string {
        const { id, key } = this.keys[0];
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        cipher.setAAD(Buffer.from(context, 'utf8'));
        const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
        return [id, iv, ciphertext, cipher.getAuthTag()].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
    }

    /** The plain text, or undefined when the key id is unknown, the context differs or the text was altered. */
    open(sealed: string, context: string): string | undefined {
        const [id, iv, ciphertext, tag, extra] = sealed.split('.');
        const key = this.keys.find((candidate) => candidate.id === id)?.key;
        if (!key || iv === undefined || ciphertext === undefined || tag === undefined || extra !== undefined) return undefined;
        try {
            const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
            decipher.setAAD(Buffer.from(context, 'utf8'));
            decipher.setAuthTag(Buffer.from(tag, 'base64url'));
            return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
        } catch {
            return undefined;
        }
    }
}
