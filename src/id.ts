/** Session ids: generated from the CSPRNG, validated before use, digested before a store sees them. */

import { hash, randomFillSync } from 'node:crypto';

/** 32 bytes = 256 bits of entropy, well above OWASP's 64-bit minimum for session ids. */
export const ID_BYTES = 32;

/** base64url of 32 bytes, unpadded: 43 characters. The last one carries 2 zero bits, hence the
 * smaller final class, so only the canonical spelling of an id is accepted. */
const ID_PATTERN = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/**
 * CSPRNG bytes for the next 128 ids: one `randomBytes` call per id costs far more than a slice of
 * a filled pool (bench: first visit), the batching `crypto.randomUUID` does too. Every byte is used once.
 */
const pool = Buffer.alloc(ID_BYTES * 128);
let poolOffset = pool.length;

/** A fresh, unguessable session id. */
export function generateId(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString('base64url', poolOffset, poolOffset + ID_BYTES);
  poolOffset += ID_BYTES;
  return id;
}

/** True when `value` is exactly the shape {@link generateId} produces. */
export function isValidId(value: string): boolean {
  return value.length === 43 && ID_PATTERN.test(value);
}

/** What a store sees in place of the id: SHA-256, base64url (43 characters, path- and SQL-safe). */
export function digestId(id: string): string {
  return hash('sha256', id, 'base64url');
}
