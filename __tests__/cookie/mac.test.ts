import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createHmac, randomBytes } from 'node:crypto';
import { generateId } from '../../src/id.js';
import { IdSigner } from '../../src/signature.js';

/** What RFC 2104 and Node's own HMAC say the cookie value must be. */
const reference = (key: string | Uint8Array, name: string, id: string): string =>
  `${id}.${createHmac('sha256', key).update(`${name}=${id}`).digest('base64url')}`;

const keys = fc.oneof(
  fc.string({ minLength: 1, maxLength: 200, unit: 'binary' }),
  fc.uint8Array({ minLength: 1, maxLength: 200 }),
  // Both sides of the 64-byte block boundary, where RFC 2104 hashes a long key first.
  fc.constantFrom('k'.repeat(63), 'k'.repeat(64), 'k'.repeat(65), 'é'.repeat(32), 'é'.repeat(33)),
);
const names = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$/);
const ids = fc.oneof(
  fc.constant(undefined).map(() => generateId()),
  fc.string({ maxLength: 120, unit: 'grapheme' }),
);

describe('IdSigner (HMAC-SHA256 over name=id)', () => {
  it('signs exactly as createHmac does, for any key, cookie name and message length', () => {
    fc.assert(
      fc.property(keys, names, ids, (key, name, id) => {
        expect(new IdSigner([key], name).sign(id)).toBe(reference(key, name, id));
      }),
    );
  });

  it('gives the same answer when one signer is reused across many ids (its buffers are shared)', () => {
    const signer = new IdSigner(['reused-key'], 'koa.sid');
    for (let i = 0; i < 200; i++) {
      const id = i % 7 === 0 ? `odd-length-${i}` : generateId();
      expect(signer.sign(id)).toBe(reference('reused-key', 'koa.sid', id));
    }
  });

  it('verifies its own MACs with the key that made them, and flags an older key as stale', () => {
    const id = generateId();
    const older = new IdSigner(['2025-key'], 'koa.sid').sign(id).split('.')[1]!;
    const signer = new IdSigner(['2026-key', '2025-key'], 'koa.sid');
    const current = signer.sign(id).split('.')[1]!;
    expect(signer.verify(id, current)).toEqual({ id, stale: false });
    expect(signer.verify(id, older)).toEqual({ id, stale: true });
  });

  it('refuses a MAC that differs in any one character, is cut short, or was made for another cookie name', () => {
    const key = randomBytes(32);
    const signer = new IdSigner([key], 'koa.sid');
    const id = generateId();
    const mac = signer.sign(id).split('.')[1]!;
    fc.assert(
      fc.property(fc.nat({ max: mac.length - 1 }), fc.constantFrom(...'ABCabc012-_'), (at, char) => {
        fc.pre(mac[at] !== char);
        expect(signer.verify(id, mac.slice(0, at) + char + mac.slice(at + 1))).toBeUndefined();
      }),
    );
    expect(signer.verify(id, mac.slice(0, -1))).toBeUndefined();
    expect(signer.verify(id, `${mac}A`)).toBeUndefined();
    const other = new IdSigner([key], 'admin.sid');
    expect(other.verify(id, mac)).toBeUndefined();
  });
});
