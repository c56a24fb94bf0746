/** CookieStore: the whole session sealed into the cookie with AES-256-GCM, keys rotated newest first. */

import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { debuglog } from 'node:util';
import {
  checkKeyLength,
  checkOptions,
  describeSecret,
  MIN_KEY_LENGTH,
  optionError,
  type ForeignOptions,
  type OptionRegistry,
} from '../src/option-checks.js';
import type { OpenedCookie, RecordWrite, SealedCookieStore } from '../src/store.js';

/** Options for {@link CookieStore}. */
export interface CookieStoreOptions {
  /**
   * Secrets, newest first, each at least 32 characters. The first seals; every one opens, and a
   * cookie opened by an older one is resealed with the first in the same response. To rotate, put
   * a new secret in front and drop the last once every cookie it sealed has expired.
   * @example new CookieStore({ keys: [process.env.SESSION_SECRET_2026, process.env.SESSION_SECRET_2025] })
   */
  keys: readonly string[];
}

/**
 * The shortest secret accepted, in characters: the same floor as the id cookie's `keys`, see
 * `MIN_KEY_LENGTH` (HKDF cannot add entropy a secret lacks).
 */
export const MIN_SECRET_LENGTH = MIN_KEY_LENGTH;

/** One entry per option, so the compiler fails when an option is added to the type but not here. */
const OPTION_KEYS: OptionRegistry<CookieStoreOptions> = { keys: true };
/** What iron-session, @fastify/secure-session and cookie-session call the secrets. */
const FOREIGN_OPTIONS: ForeignOptions = { secret: '`keys`', secrets: '`keys`', password: '`keys`', key: '`keys`' };

/*
 * Format versions, the sealed value's first byte. Version 2 binds the cookie's name into the
 * additional data; version 1 did not, so with two session()s sharing keys one cookie's value
 * opened as the other's. Version 1 still opens for a transition (see CookieStore).
 */
const FORMAT_V1 = 1;
const FORMAT_V2 = 2;
/** Bytes of a key id: picks the key without trial decryption; collisions only cost one extra try. */
const KEY_ID_BYTES = 4;
/** GCM's 96-bit nonce (NIST SP 800-38D §8.2: 96 bits is the length GCM is built for). */
const IV_BYTES = 12;
/** The full 128-bit GCM tag; shorter tags weaken forgery resistance (NIST SP 800-38D Appendix C). */
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES;
/** Inside the ciphertext: the expiry, ms since the epoch, as a float64 so any `expires` comes back exact. */
const EXPIRES_BYTES = 8;

/**
 * Bytes a sealed value adds to the record's data before base64url: version byte, key id, IV,
 * expiry and GCM tag. The cookie value is `ceil(4 * (data + SEAL_OVERHEAD_BYTES) / 3)` characters,
 * see {@link sealedLength}.
 */
export const SEAL_OVERHEAD_BYTES = HEADER_BYTES + IV_BYTES + EXPIRES_BYTES + TAG_BYTES;

/**
 * Characters of the cookie value {@link CookieStore.seal} makes for `dataBytes` of data: it
 * depends on the length alone, never on the content: nothing is compressed, so the length leaks
 * no more than the data's size (compression before encryption would let an attacker who controls
 * part of the session learn the rest from the length, as in CRIME).
 */
export function sealedLength(dataBytes: number): number {
  return Math.ceil((4 * (dataBytes + SEAL_OVERHEAD_BYTES)) / 3);
}

/** Longer values are not looked at: they cannot have come from a cookie a browser kept (RFC 6265bis: 4096). */
const MAX_VALUE_CHARS = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** HKDF `info` strings: one derivation per purpose, so the key id says nothing about the key. */
const KEY_INFO = 'koa-session-kit sealed cookie v1 aes-256-gcm key';
const KEY_ID_INFO = 'koa-session-kit sealed cookie v1 key id';
/** A fixed, public HKDF salt (RFC 5869 §3.1: a salt need not be secret; this one separates our use). */
const HKDF_SALT = 'koa-session-kit/cookie-store';

const debug = debuglog('koa-session-kit');

interface SealingKey {
  /** The AES key, made once: nothing derived per request. */
  key: KeyObject;
  /** Version byte (2) + key id: what {@link CookieStore.seal} writes first. */
  header: Buffer;
  /** The same with version byte 1, to recognise values sealed in the first format. */
  headerV1: Buffer;
  /** True for every key but the newest: what it opens must be resealed. */
  stale: boolean;
}

/** Checks the secrets; messages never print one, only its length. */
function checkSecrets(options: CookieStoreOptions): readonly string[] {
  checkOptions('CookieStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
  const { keys } = options;
  if (!Array.isArray(keys)) throw optionError(TypeError, 'keys', 'be an array of secrets, newest first', describeSecret(keys));
  if (keys.length === 0) throw optionError(RangeError, 'keys', 'hold at least one secret', 'an empty array');
  keys.forEach((secret: unknown, index) => {
    if (typeof secret !== 'string') throw optionError(TypeError, `keys[${index}]`, 'be a string', describeSecret(secret));
    checkKeyLength(`keys[${index}]`, secret);
  });
  return keys;
}

function deriveKey(secret: string, index: number): SealingKey {
  const key = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, KEY_INFO, 32));
  const id = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, KEY_ID_INFO, KEY_ID_BYTES));
  return {
    key: createSecretKey(key),
    header: Buffer.concat([Buffer.of(FORMAT_V2), id]),
    headerV1: Buffer.concat([Buffer.of(FORMAT_V1), id]),
    stale: index > 0,
  };
}

/**
 * The additional data GCM authenticates: the header, then (format 2) the cookie's name. The header
 * has a fixed length, so the name that follows it is unambiguous.
 */
function additionalData(header: Buffer, name: string | undefined): Buffer {
  return name === undefined ? header : Buffer.concat([header, Buffer.from(name, 'utf8')]);
}

/**
 * A store with nothing on the server: the session record is encrypted and authenticated into the
 * cookie value (AES-256-GCM, a random 96-bit IV per seal, keys derived with HKDF-SHA256). The
 * expiry is sealed inside, so a copied cookie stops working when it expires even if the browser
 * (or an attacker) keeps it.
 *
 * Each value is bound to the name of its cookie: several `session()`s may share keys, and a value
 * sealed for one (`koa.sid`) never opens as another (`admin.sid`). Values sealed before this
 * binding (format 1, koa-session-kit 0.1) still open, under any name, and are resealed in the new
 * format in the same response; to refuse them at once, replace the keys (a value sealed by a key
 * no longer in `keys` never opens). A later release will stop opening format 1.
 *
 * The trade-off: a sealed cookie cannot be revoked. Logging out clears the browser's copy, but a
 * stolen copy keeps working until its expiry. And the whole session travels with every request,
 * in at most about 3 KB of data. Pick a server-side store when either matters.
 */
export class CookieStore implements SealedCookieStore {
  readonly kind = 'sealed-cookie' as const;
  readonly #keys: readonly SealingKey[];
  /** Newest first, as given; `#keys[0]` always exists (checked in the constructor). */
  readonly #sealer: SealingKey;

  constructor(options: CookieStoreOptions) {
    const secrets = checkSecrets(options);
    this.#keys = secrets.map(deriveKey);
    const [newest] = this.#keys;
    // checkSecrets refused an empty array, so there is a first key.
    this.#sealer = newest as SealingKey;
  }

  /**
   * Seals a record with the newest key, for the cookie called `name`: the value opens under that
   * name only. The result is base64url, `sealedLength(data.length)` characters.
   */
  seal(record: RecordWrite, name: string): string {
    const { key, header } = this.#sealer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(header, name));
    const expires = Buffer.allocUnsafe(EXPIRES_BYTES);
    expires.writeDoubleBE(record.expires);
    const data = Buffer.from(record.data.buffer, record.data.byteOffset, record.data.byteLength);
    const sealed = Buffer.concat([header, iv, cipher.update(expires), cipher.update(data), cipher.final(), cipher.getAuthTag()]);
    return sealed.toString('base64url');
  }

  /**
   * Opens the value of the cookie called `name`: the record and whether it must be resealed (an
   * older key or format 1 sealed it), or `undefined` when the value is malformed, tampered with,
   * sealed for another name or by a key not in `keys`, or expired at `now`. Never throws.
   */
  open(value: string, now: number, name: string): OpenedCookie | undefined {
    if (typeof value !== 'string' || value.length > MAX_VALUE_CHARS || !BASE64URL.test(value)) {
      debug('sealed cookie malformed');
      return undefined;
    }
    const bytes = Buffer.from(value, 'base64url');
    // Node's decoder ignores stray trailing bits; only the canonical spelling of a seal opens.
    if (bytes.length < SEAL_OVERHEAD_BYTES || bytes.toString('base64url') !== value) {
      debug('sealed cookie malformed');
      return undefined;
    }
    const format = bytes[0];
    if (format !== FORMAT_V2 && format !== FORMAT_V1) {
      debug('sealed cookie has an unknown format version');
      return undefined;
    }
    const header = bytes.subarray(0, HEADER_BYTES);
    const aad = additionalData(header, format === FORMAT_V2 ? name : undefined);
    let plain: Buffer | undefined;
    let opener: SealingKey | undefined;
    for (const candidate of this.#keys) {
      if (!(format === FORMAT_V2 ? candidate.header : candidate.headerV1).equals(header)) continue;
      plain = decrypt(candidate.key, aad, bytes);
      if (plain !== undefined) {
        opener = candidate;
        break;
      }
    }
    if (plain === undefined || opener === undefined) {
      debug('sealed cookie opens with no key (or was sealed for another cookie name)');
      return undefined;
    }
    const expires = plain.readDoubleBE(0);
    if (!(expires > now)) {
      debug('sealed cookie expired');
      return undefined;
    }
    return { data: plain.subarray(EXPIRES_BYTES), expires, stale: opener.stale || format === FORMAT_V1 };
  }
}

/** The plaintext (expiry + data), or `undefined` when the tag does not verify under this key and data. */
function decrypt(key: KeyObject, aad: Buffer, bytes: Buffer): Buffer | undefined {
  const iv = bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
  const ciphertext = bytes.subarray(HEADER_BYTES + IV_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // final() throws on a bad tag; that is a forged or foreign value, a value and not an error here.
    return undefined;
  }
}
