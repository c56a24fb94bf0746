/** CookieStore#open() under fuzzing: garbage, bit flips, truncations and splices never throw and never open. */

import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { CookieStore, sealedLength } from '../../../stores/cookie.js';

/** The cookie name every value here is sealed for (the default, as session() passes it). */
const NAME = 'koa.sid';

const SECRET = 'fuzz-secret-0123456789-0123456789-abcdef';
const OLD_SECRET = 'fuzz-older-secret-0123456789-0123456789';
const store = new CookieStore({ keys: [SECRET, OLD_SECRET] });
const older = new CookieStore({ keys: [OLD_SECRET] });
const now = Date.now();
const HOUR_MS = 3_600_000;
const RUNS = 2000;

/** Opens without letting a throw escape unnoticed: a throw fails the property with its message. */
function opens(value: string): boolean {
  return store.open(value, now, NAME) !== undefined;
}

const record = fc.record({
  data: fc.uint8Array({ maxLength: 600 }),
  expires: fc.integer({ min: now + 1000, max: now + 400 * 24 * HOUR_MS }),
});
/** A real seal, by the newest key or by the older one. */
const realSeal = fc.tuple(record, fc.boolean()).map(([r, byOlder]) => (byOlder ? older : store).seal(r, NAME));

describe('CookieStore#open() fuzzed', () => {
  it('opens every real seal to the exact record, at the length sealedLength() gives', () => {
    fc.assert(
      fc.property(record, (r) => {
        const value = store.seal(r, NAME);
        const opened = store.open(value, now, NAME);
        return (
          value.length === sealedLength(r.data.length) &&
          opened !== undefined &&
          opened.expires === r.expires &&
          Buffer.from(opened.data).equals(Buffer.from(r.data))
        );
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on and never opens an arbitrary string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (value) => !opens(value)),
      { numRuns: RUNS },
    );
  });

  it('never throws on and never opens arbitrary base64url, even with a v1 header in front', () => {
    const withHeader = fc
      .uint8Array({ minLength: 0, maxLength: 300 })
      .map((body) =>
        Buffer.concat([
          Buffer.of(1),
          Buffer.from(store.seal({ data: new Uint8Array(0), expires: now + HOUR_MS }, NAME), 'base64url').subarray(1, 5),
          body,
        ]).toString('base64url'),
      );
    const plain = fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString('base64url'));
    fc.assert(
      fc.property(fc.oneof(plain, withHeader), (value) => !opens(value)),
      { numRuns: RUNS },
    );
  });

  it('never opens a real seal with one bit flipped anywhere in its bytes', () => {
    fc.assert(
      fc.property(realSeal, fc.nat(), fc.integer({ min: 0, max: 7 }), (value, at, bit) => {
        const bytes = Buffer.from(value, 'base64url');
        const index = at % bytes.length;
        bytes[index] = bytes[index]! ^ (1 << bit);
        return !opens(bytes.toString('base64url'));
      }),
      { numRuns: RUNS },
    );
  });

  it('never opens a real seal with one character replaced', () => {
    fc.assert(
      fc.property(realSeal, fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), (value, at, char) => {
        const index = at % value.length;
        fc.pre(value[index] !== char);
        return !opens(value.slice(0, index) + char + value.slice(index + 1));
      }),
      { numRuns: RUNS },
    );
  });

  it('never opens a real seal truncated, extended or spliced with another', () => {
    fc.assert(
      fc.property(realSeal, realSeal, fc.nat(), fc.string({ minLength: 1, maxLength: 8 }), (a, b, at, extra) => {
        const cut = at % a.length;
        const spliced = a.slice(0, cut) + b.slice(cut);
        return !opens(a.slice(0, cut)) && !opens(a + extra) && !opens(extra + a) && (spliced === a || spliced === b || !opens(spliced));
      }),
      { numRuns: RUNS },
    );
  });

  it('never opens a real seal once its sealed expiry has passed', () => {
    fc.assert(
      fc.property(record, fc.integer({ min: 0, max: 400 * 24 * HOUR_MS }), (r, late) => {
        return store.open(store.seal(r, NAME), r.expires + late, NAME) === undefined;
      }),
      { numRuns: 500 },
    );
  });
});
