/** CookieStore: sealing, opening, key rotation, expiry, the v1 format and the constructor's checks. */

import { describe, expect, it } from '@jest/globals';
import { isSealedCookieStore } from '../../../src/store.js';
import { CookieStore, MIN_SECRET_LENGTH, SEAL_OVERHEAD_BYTES, sealedLength } from '../../../stores/cookie.js';

/** The cookie name every value here is sealed for (the default, as session() passes it). */
const NAME = 'koa.sid';

const SECRET_A = 'a'.repeat(16) + '-first-secret-0123456';
const SECRET_B = 'b'.repeat(16) + '-second-secret-012345';
const SECRET_C = 'c'.repeat(16) + '-foreign-secret-01234';
const HOUR_MS = 3_600_000;
const now = Date.now();
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

describe('new CookieStore({ keys })', () => {
  it('is recognised as a sealed cookie store', () => {
    const store = new CookieStore({ keys: [SECRET_A] });
    expect(store.kind).toBe('sealed-cookie');
    expect(isSealedCookieStore(store)).toBe(true);
  });

  it('refuses a secret shorter than 32 characters with a RangeError that does not print it', () => {
    const short = 'x'.repeat(MIN_SECRET_LENGTH - 1);
    const make = (): CookieStore => new CookieStore({ keys: [SECRET_A, short] });
    expect(make).toThrow(RangeError);
    expect(make).toThrow('koa-session-kit: `keys[1]` must be at least 32 characters (received 31 characters)');
    expect(() => new CookieStore({ keys: ['x'.repeat(MIN_SECRET_LENGTH)] })).not.toThrow();
  });

  it('refuses an empty list with a RangeError and a non-list or a non-string with a TypeError', () => {
    expect(() => new CookieStore({ keys: [] })).toThrow(
      new RangeError('koa-session-kit: `keys` must hold at least one secret (received an empty array)'),
    );
    // @ts-expect-error a single string is the common mistake the check catches
    expect(() => new CookieStore({ keys: SECRET_A })).toThrow(
      new TypeError('koa-session-kit: `keys` must be an array of secrets, newest first (received a string of 37 characters)'),
    );
    // @ts-expect-error a Buffer is not a string secret
    expect(() => new CookieStore({ keys: [Buffer.from(SECRET_A)] })).toThrow(
      new TypeError('koa-session-kit: `keys[0]` must be a string (received Buffer)'),
    );
  });

  it('refuses an unknown option and points `secret` at `keys`', () => {
    // @ts-expect-error `secret` is iron-session's spelling, not ours
    expect(() => new CookieStore({ keys: [SECRET_A], secret: SECRET_B })).toThrow(
      new TypeError('koa-session-kit: `secret` is not a CookieStore option; did you mean `keys`?'),
    );
  });

  it('points a misspelt option at `keys`', () => {
    // @ts-expect-error a typo of `keys`
    expect(() => new CookieStore({ kyes: [SECRET_A] })).toThrow(
      new TypeError('koa-session-kit: `kyes` is not a CookieStore option; did you mean `keys`?'),
    );
  });
});

describe('CookieStore#seal()', () => {
  const store = new CookieStore({ keys: [SECRET_A] });

  it('round-trips the bytes and the exact expiry through open()', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 31) & 0xff);
    const expires = now + HOUR_MS + 0.25;
    const opened = store.open(store.seal({ data, expires }, NAME), now, NAME);
    expect(opened).toBeDefined();
    expect(Array.from(opened!.data)).toEqual(Array.from(data));
    expect(opened!.expires).toBe(expires);
    expect(opened!.stale).toBe(false);
  });

  it('seals a Uint8Array view at its own offset, not its whole backing buffer', () => {
    const backing = Uint8Array.of(9, 9, 1, 2, 3, 9);
    const opened = store.open(store.seal({ data: backing.subarray(2, 5), expires: now + HOUR_MS }, NAME), now, NAME);
    expect(Array.from(opened!.data)).toEqual([1, 2, 3]);
  });

  it('produces cookie-safe base64url only', () => {
    for (let size = 0; size < 64; size++) {
      expect(store.seal({ data: new Uint8Array(size).fill(0xff), expires: now + HOUR_MS }, NAME)).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });

  it('uses a fresh IV each time, so sealing the same record twice gives different values', () => {
    const record = { data: text('{"user":1}'), expires: now + HOUR_MS };
    const seals = new Set(Array.from({ length: 50 }, () => store.seal(record, NAME)));
    expect(seals.size).toBe(50);
  });

  it('has a length set by the data size alone, as sealedLength() computes', () => {
    for (const size of [0, 1, 2, 3, 4, 100, 1000, 3000]) {
      const zeros = new Uint8Array(size);
      const noise = Uint8Array.from({ length: size }, () => Math.floor(Math.random() * 256));
      const a = store.seal({ data: zeros, expires: now + HOUR_MS }, NAME);
      const b = store.seal({ data: noise, expires: now + HOUR_MS }, NAME);
      expect(a.length).toBe(sealedLength(size));
      expect(b.length).toBe(a.length);
      expect(Buffer.from(a, 'base64url').length).toBe(size + SEAL_OVERHEAD_BYTES);
    }
  });

  it('starts with format version 2 and the key id, the same for a secret in every process', () => {
    const first = Buffer.from(store.seal({ data: text('x'), expires: now + HOUR_MS }, NAME), 'base64url');
    const again = Buffer.from(new CookieStore({ keys: [SECRET_A] }).seal({ data: text('x'), expires: now + HOUR_MS }, NAME), 'base64url');
    const other = Buffer.from(new CookieStore({ keys: [SECRET_B] }).seal({ data: text('x'), expires: now + HOUR_MS }, NAME), 'base64url');
    expect(first[0]).toBe(2);
    expect(first.subarray(0, 5).equals(again.subarray(0, 5))).toBe(true);
    expect(first.subarray(1, 5).equals(other.subarray(1, 5))).toBe(false);
  });
});

describe('CookieStore#open()', () => {
  const store = new CookieStore({ keys: [SECRET_A] });

  it('opens a value sealed by another instance with the same secret', () => {
    const value = new CookieStore({ keys: [SECRET_A] }).seal({ data: text('shared'), expires: now + HOUR_MS }, NAME);
    expect(new TextDecoder().decode(store.open(value, now, NAME)!.data)).toBe('shared');
  });

  it('still opens the v1 fixture sealed by the first release, under any name, and asks for a reseal in format 2', () => {
    const fixture = new CookieStore({ keys: ['fixture-secret-for-format-v1-0123456789'] });
    const sealed = 'AQ6xAZyiKpKsh56JnpNTToaV0zC_Aqj3F2MeNiexQEKwy70WcOpM30BJrtllqsSC0iCdXQ';
    const opened = fixture.open(sealed, now, NAME);
    expect(new TextDecoder().decode(opened!.data)).toBe('{"views":3}');
    expect(opened!.expires).toBe(8.64e15);
    // Format 1 names no cookie, so the middleware reseals it (name-bound) in the same response.
    expect(opened!.stale).toBe(true);
    expect(fixture.open(sealed, now, 'admin.sid')).toBeDefined();
  });

  it('opens the v2 fixture under the name it was sealed for, and under no other', () => {
    const fixture = new CookieStore({ keys: ['fixture-secret-for-format-v2-0123456789'] });
    const sealed = 'Aoo2NJmTHgjTZLrbUBkAKWEnA83lmVQHrSfEwk1j8NzIZ7C_eqQznjUXcJO_XsrVgNUqaw';
    const opened = fixture.open(sealed, now, 'koa.sid');
    expect(new TextDecoder().decode(opened!.data)).toBe('{"views":3}');
    expect(opened!.expires).toBe(8.64e15);
    expect(opened!.stale).toBe(false);
    for (const name of ['admin.sid', 'koa.sid.sig', 'koa.si', 'KOA.SID']) expect(fixture.open(sealed, now, name)).toBeUndefined();
  });

  it('refuses a replayed value once the expiry sealed inside it has passed', () => {
    const expires = now + 1000;
    const value = store.seal({ data: text('{"user":1}'), expires }, NAME);
    expect(store.open(value, expires - 1, NAME)).toBeDefined();
    expect(store.open(value, expires, NAME)).toBeUndefined();
    expect(store.open(value, expires + 30 * 24 * HOUR_MS, NAME)).toBeUndefined();
  });

  it('refuses a value sealed by a key it does not hold', () => {
    const foreign = new CookieStore({ keys: [SECRET_C] }).seal({ data: text('x'), expires: now + HOUR_MS }, NAME);
    expect(store.open(foreign, now, NAME)).toBeUndefined();
  });

  it('refuses another format version and a body moved under another key id', () => {
    const both = new CookieStore({ keys: [SECRET_A, SECRET_B] });
    const bytes = Buffer.from(both.seal({ data: text('x'), expires: now + HOUR_MS }, NAME), 'base64url');
    // Format 3 does not exist; format 1 authenticated other data, so relabelling a seal as 1 breaks its tag.
    for (const version of [3, 1]) {
      const relabelled = Buffer.from(bytes);
      relabelled[0] = version;
      expect(both.open(relabelled.toString('base64url'), now, NAME)).toBeUndefined();
    }
    // The body sealed by A, presented under B's key id: B's key must not accept it, nor A's.
    const headerOfB = Buffer.from(
      new CookieStore({ keys: [SECRET_B] }).seal({ data: text('x'), expires: now + HOUR_MS }, NAME),
      'base64url',
    ).subarray(0, 5);
    const swapped = Buffer.concat([headerOfB, bytes.subarray(5)]);
    expect(both.open(swapped.toString('base64url'), now, NAME)).toBeUndefined();
    expect(both.open(bytes.toString('base64url'), now, NAME)).toBeDefined();
  });

  it('refuses a non-canonical spelling of a real seal (stray trailing bits)', () => {
    // 44 + 41 = 85 bytes: 114 characters, the last carrying 4 unused bits that Node's decoder ignores.
    const value = store.seal({ data: new Uint8Array(44), expires: now + HOUR_MS }, NAME);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(value.at(-1)!);
    const sibling = value.slice(0, -1) + alphabet[last | 1];
    expect(Buffer.from(sibling, 'base64url').equals(Buffer.from(value, 'base64url'))).toBe(true);
    expect(store.open(value, now, NAME)).toBeDefined();
    expect(store.open(sibling, now, NAME)).toBeUndefined();
  });

  it('refuses empty, padded, oversized and non-base64url values', () => {
    const value = store.seal({ data: text('x'), expires: now + HOUR_MS }, NAME);
    for (const bad of ['', '=', `${value}=`, `${value}.`, value.replace(/./, '+'), 'A'.repeat(10_000), 'v1.abc', ' ' + value]) {
      expect(store.open(bad, now, NAME)).toBeUndefined();
    }
  });
});

describe('CookieStore key rotation', () => {
  const old = new CookieStore({ keys: [SECRET_A] });
  const rotated = new CookieStore({ keys: [SECRET_B, SECRET_A] });

  it('opens a value sealed with an older key and marks it stale', () => {
    const opened = rotated.open(old.seal({ data: text('kept'), expires: now + HOUR_MS }, NAME), now, NAME);
    expect(new TextDecoder().decode(opened!.data)).toBe('kept');
    expect(opened!.stale).toBe(true);
  });

  it('seals with the newest key, which the old configuration cannot open', () => {
    const value = rotated.seal({ data: text('new'), expires: now + HOUR_MS }, NAME);
    expect(rotated.open(value, now, NAME)!.stale).toBe(false);
    expect(old.open(value, now, NAME)).toBeUndefined();
    expect(new CookieStore({ keys: [SECRET_B] }).open(value, now, NAME)!.stale).toBe(false);
  });

  it('stops opening values sealed with a key once it is dropped', () => {
    const value = old.seal({ data: text('gone'), expires: now + HOUR_MS }, NAME);
    expect(new CookieStore({ keys: [SECRET_B] }).open(value, now, NAME)).toBeUndefined();
  });
});
