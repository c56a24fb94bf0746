/** Cookie values and the session ids they carry: verified once per value under the current keys, then remembered. */

import type { RejectReason } from './events.js';
import { digestId, isValidId } from './id.js';
import type { IdSigner } from './signature.js';

/** What a verified cookie value carries. */
export interface CookieId {
  readonly id: string;
  /** The store key: the SHA-256 digest of the id. */
  readonly digest: string;
  /** Verified by an older key: the response sends it again, signed with the newest. */
  readonly stale: boolean;
}

/**
 * How many verified values are remembered (a few hundred bytes each); past it the oldest goes.
 * Only values that verified get in, so a client sending garbage cannot fill it.
 */
const REMEMBERED_VALUES = 4096;

/**
 * Turns cookie values into ids for one set of keys (or none: unsigned ids). A returning client
 * sends the same value on every request, and under the same keys that value verifies the same
 * way every time, so each value is verified and digested once and then costs a Map lookup (bench:
 * kit read). A hit needs the exact value that verified, so it tells an attacker nothing a MAC
 * check would not. New keys mean a new instance (see `SessionSetup.idsFor`), never a stale answer.
 */
export class CookieIds {
  readonly #signer: IdSigner | undefined;
  readonly #known = new Map<string, CookieId>();

  constructor(signer: IdSigner | undefined) {
    this.#signer = signer;
  }

  /** The id `value` carries, or why it carries none. */
  read(value: string): CookieId | RejectReason {
    const known = this.#known.get(value);
    if (known !== undefined) return known;
    const found = this.#verify(value);
    if (typeof found === 'object') this.#remember(value, found);
    return found;
  }

  /**
   * The cookie value for `id`: signed with the newest key, or the bare id without keys. Given the
   * id's digest, the value is remembered, so the client's next request is already known.
   */
  valueFor(id: string, digest?: string): string {
    const value = this.#signer === undefined ? id : this.#signer.sign(id);
    if (digest !== undefined) this.#remember(value, { id, digest, stale: false });
    return value;
  }

  #verify(value: string): CookieId | RejectReason {
    const signer = this.#signer;
    if (signer === undefined) return isValidId(value) ? { id: value, digest: digestId(value), stale: false } : 'cookie-malformed';
    const dot = value.indexOf('.');
    if (dot === -1) return 'signature-missing';
    const id = value.slice(0, dot);
    if (!isValidId(id)) return 'cookie-malformed';
    const verified = signer.verify(id, value.slice(dot + 1));
    if (verified === undefined) return 'signature-mismatch';
    return { id, digest: digestId(id), stale: verified.stale };
  }

  #remember(value: string, cookie: CookieId): void {
    const known = this.#known;
    if (known.size >= REMEMBERED_VALUES && !known.has(value)) known.delete(known.keys().next().value as string);
    known.set(value, cookie);
  }
}
