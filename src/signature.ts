/** Signing the id cookie: `id.mac`, HMAC-SHA256 over the cookie name and id, newest key first. */

import { hash } from 'node:crypto';

/** base64url of a 32-byte HMAC-SHA256 digest. */
const MAC_LENGTH = 43;
/** SHA-256's block size: HMAC pads the key to it. */
const BLOCK = 64;
const DIGEST = 32;
/** The message length the inner buffer is sized for: ids are 43 characters. */
const ID_LENGTH = 43;

/** A signed cookie value taken apart and verified. */
export interface VerifiedId {
  id: string;
  /** Verified by an older key: re-sign with the newest in this response. */
  stale: boolean;
}

/**
 * HMAC-SHA256 (RFC 2104) of `prefix + message` for one key, with the key's pads and the prefix
 * laid out once. `createHmac` sets the key up again on every call, which made it the largest
 * single cost of a request; here a MAC is two one-shot hashes over reused buffers, the inner
 * digest passed as a binary (latin1) string because a Buffer result costs an allocation.
 */
class PreparedHmac {
  /** ipad-xored key, then the prefix, then exactly an id's length for the message. */
  readonly #inner: Buffer;
  readonly #messageAt: number;
  /** opad-xored key, then the inner digest. */
  readonly #outer: Buffer;

  constructor(key: Uint8Array, prefix: string) {
    // A key longer than the block is hashed first; a shorter one is zero-padded.
    const block = Buffer.alloc(BLOCK);
    block.set(key.length > BLOCK ? hash('sha256', key, 'buffer') : key);
    const prefixBytes = Buffer.from(prefix, 'utf8');
    this.#messageAt = BLOCK + prefixBytes.length;
    this.#inner = Buffer.alloc(this.#messageAt + ID_LENGTH);
    this.#outer = Buffer.alloc(BLOCK + DIGEST);
    for (let i = 0; i < BLOCK; i++) {
      this.#inner[i] = (block[i] as number) ^ 0x36;
      this.#outer[i] = (block[i] as number) ^ 0x5c;
    }
    prefixBytes.copy(this.#inner, BLOCK);
  }

  /** base64url MAC of the prefix followed by `message`. Synchronous, so the shared buffers are safe. */
  mac(message: string): string {
    let inner = this.#inner;
    if (Buffer.byteLength(message, 'utf8') === ID_LENGTH) inner.write(message, this.#messageAt, 'utf8');
    else inner = Buffer.concat([inner.subarray(0, this.#messageAt), Buffer.from(message, 'utf8')]);
    this.#outer.write(hash('sha256', inner, 'binary'), BLOCK, 'binary');
    return hash('sha256', this.#outer, 'base64url');
  }
}

/** Equal strings of equal length, compared without an early exit, so timing tells nothing of where they differ. */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/**
 * Signs with the first key and verifies with every key. The MAC covers `name=id`, so a value
 * lifted from one session cookie (say `koa.sid`) is refused under another (`admin.sid`).
 */
export class IdSigner {
  readonly #keys: PreparedHmac[];

  constructor(keys: readonly (string | Uint8Array)[], cookieName: string) {
    this.#keys = keys.map((key) => new PreparedHmac(typeof key === 'string' ? Buffer.from(key, 'utf8') : key, `${cookieName}=`));
  }

  sign(id: string): string {
    // The constructor is only called with at least one key (options validation).
    return `${id}.${(this.#keys[0] as PreparedHmac).mac(id)}`;
  }

  /** The id when some key's MAC matches in constant time; `undefined` otherwise. */
  verify(id: string, mac: string): VerifiedId | undefined {
    if (mac.length !== MAC_LENGTH) return undefined;
    for (let i = 0; i < this.#keys.length; i++) {
      if (constantTimeEqual(mac, (this.#keys[i] as PreparedHmac).mac(id))) return { id, stale: i > 0 };
    }
    return undefined;
  }
}
