/** Signing the id cookie: `id.mac`, HMAC-SHA256 over the cookie name and id, newest key first. */

import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/** base64url of a 32-byte HMAC-SHA256 digest. */
const MAC_LENGTH = 43;

/** A signed cookie value taken apart and verified. */
export interface VerifiedId {
  id: string;
  /** Verified by an older key: re-sign with the newest in this response. */
  stale: boolean;
}

/**
 * Signs with the first key and verifies with every key. The MAC covers `name=id`, so a value
 * lifted from one session cookie (say `koa.sid`) is refused under another (`admin.sid`).
 */
export class IdSigner {
  readonly #keys: KeyObject[];
  readonly #prefix: string;

  constructor(keys: readonly (string | Uint8Array)[], cookieName: string) {
    this.#keys = keys.map((key) => createSecretKey(typeof key === 'string' ? Buffer.from(key, 'utf8') : key));
    this.#prefix = `${cookieName}=`;
  }

  sign(id: string): string {
    // The constructor is only called with at least one key (options validation).
    return `${id}.${this.#mac(this.#keys[0] as KeyObject, id)}`;
  }

  /** The id when some key's MAC matches in constant time; `undefined` otherwise. */
  verify(id: string, mac: string): VerifiedId | undefined {
    if (mac.length !== MAC_LENGTH) return undefined;
    const given = Buffer.from(mac, 'latin1');
    for (let i = 0; i < this.#keys.length; i++) {
      const expected = Buffer.from(this.#mac(this.#keys[i] as KeyObject, id), 'latin1');
      if (timingSafeEqual(given, expected)) return { id, stale: i > 0 };
    }
    return undefined;
  }

  #mac(key: KeyObject, id: string): string {
    return createHmac('sha256', key).update(this.#prefix).update(id).digest('base64url');
  }
}
