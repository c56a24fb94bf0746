/** MessagePack through msgpackr with structured cloning: compact binary that keeps Dates, Maps, Sets, BigInts and cycles. */

import { Buffer } from 'node:buffer';
import { Packr, Unpackr, type Options } from 'msgpackr';
import {
  assertCarries,
  assertDecoded,
  BIGINT_TYPED_ARRAYS,
  compileCarries,
  NUMBER_TYPED_ARRAYS,
  resolveMaxDepth,
  type Carries,
  type StrictOptions,
} from '../src/strict.js';
import type { Serializer } from '../src/serializer.js';

/** Options for {@link msgpackSerializer}. */
export type MsgpackSerializerOptions = StrictOptions;

/**
 * What msgpackr with `structuredClone` brings back equal (each one measured and tested).
 * Refused: lone surrogates (UTF-8 turns them into U+FFFD), `__proto__` keys (msgpackr renames
 * them `__proto_`), sparse arrays, boxed primitives, class instances, URL, Node Buffers (they
 * come back as views), and Errors with extra properties. Normalisations: `-0` comes back `0`,
 * a null-prototype object comes back plain, an Error without a cause gets `cause: undefined`.
 */
export const MSGPACK_CARRIES: Carries = {
  serializer: 'msgpack',
  undefinedProperty: 'carry',
  undefinedValue: true,
  nonFiniteNumbers: true,
  bigint: true,
  date: true,
  invalidDate: true,
  map: true,
  set: true,
  regexp: true,
  error: 'builtin',
  binary: true,
  typedArrays: new Set([...NUMBER_TYPED_ARRAYS, ...BIGINT_TYPED_ARRAYS]),
  nonFiniteInTypedArrays: true,
  // msgpackr's own test (pack.js: extensionClasses), evaluated in the same realm as msgpackr.
  typedArrayBase: (Object.getPrototypeOf(Uint8Array.prototype) as { constructor: abstract new () => unknown }).constructor,
  references: true,
  // structuredClone writes a shared object once and refers back to it.
  expandsSharedReferences: false,
  loneSurrogates: false,
  reservedKeys: new Set(['__proto__']),
};

/** What decoded values may hold: msgpackr builds typed arrays in its own realm, so no realm check on the way in. */
const MSGPACK_DECODED: Carries = { ...MSGPACK_CARRIES, typedArrayBase: undefined };

/**
 * The one msgpackr configuration both sides use. `structuredClone` turns on cycles, shared
 * references and the Set/Error/RegExp/typed-array extensions (`moreTypes`); `useBigIntExtension`
 * keeps bigints past 64 bits; int64 values decode as bigint (msgpackr's default), and numbers
 * never use int64, so a number stays a number and a bigint a bigint. Records (`useRecords`, on by
 * default) are what tell an object from a Map; no shared `structures`, so every record is
 * self-describing and any process can read it.
 */
const PACKR_OPTIONS: Options = { structuredClone: true, useBigIntExtension: true, useRecords: true, mapsAsObjects: false };

/** U+FFFD in UTF-8: what a WHATWG or Node encoder writes for a lone surrogate. */
const REPLACEMENT_CHARACTER = Buffer.from([0xef, 0xbf, 0xbd]);

/**
 * False when no string in `packed` can have held a lone surrogate. Whatever UTF-8 writer msgpackr
 * uses, a lone surrogate leaves either U+FFFD (EF BF BD, Buffer#utf8Write, TextEncoder) or its
 * own three-byte form ED A0..BF xx (msgpackr's JS writer for short strings). Binary data or a
 * real U+FFFD can match too; then the caller runs the exact check. Two native indexOf calls cost
 * far less than checking each string in the walk (bench/studies/serializers.ts measures the encode).
 */
function mayHoldLoneSurrogate(packed: Buffer): boolean {
  for (let at = packed.indexOf(0xed); at !== -1; at = packed.indexOf(0xed, at + 1)) {
    const next = packed[at + 1];
    if (next !== undefined && next >= 0xa0 && next <= 0xbf) return true;
  }
  return packed.indexOf(REPLACEMENT_CHARACTER) !== -1;
}

/**
 * Creates the MessagePack serializer. Carries everything JSON does plus `undefined`, NaN and
 * the infinities, bigint, Date (invalid ones too), Map, Set, RegExp, Error and its built-in
 * subclasses (message and cause), typed arrays, ArrayBuffer, DataView, cycles and shared
 * references. Decoding checks the decoded value with the same rules, so bytes that use an
 * extension this serializer never writes (another library's `addExtension`, `AggregateError`,
 * a Buffer) are rejected.
 *
 * Refused as well, at commit, with {@link SerializationError} and the path: a Proxy and an
 * accessor property (getter or setter), which msgpackr would read again after the check, and a
 * bigint of more than `MAX_BIGINT_DIGITS` (1,000) decimal digits, whose conversions cost more than
 * linear time. A stored record holding such a bigint decodes as a fresh session. Shared objects
 * are written once, so the value count is not limited here (a DAG of shared references stays
 * small in the bytes and is checked in linear time).
 *
 * @example
 * ```ts
 * app.use(session({ serializer: msgpackSerializer() }));
 * ```
 */
export function msgpackSerializer(options?: MsgpackSerializerOptions): Serializer {
  const maxDepth = resolveMaxDepth(options, []);
  const encoding = compileCarries(MSGPACK_CARRIES);
  const skimming = compileCarries({ ...MSGPACK_CARRIES, loneSurrogates: true });
  const decoded = compileCarries(MSGPACK_DECODED);
  const packr = new Packr(PACKR_OPTIONS);
  const unpackr = new Unpackr(PACKR_OPTIONS);
  return {
    name: 'msgpack',
    serialize(value: unknown): Uint8Array {
      // Every check but lone surrogates first; those are looked for in the bytes, and only when
      // the bytes could hold one does the full walk run (see mayHoldLoneSurrogate).
      assertCarries(value, skimming, maxDepth);
      const packed = packr.pack(value);
      if (mayHoldLoneSurrogate(packed)) assertCarries(value, encoding, maxDepth);
      // A plain Uint8Array view (no copy): stores and the envelope only need the bytes, not Buffer's API.
      return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
    },
    deserialize(bytes: Uint8Array): unknown {
      // unpack (not unpackMultiple) throws when bytes are left over, so concatenated or JSON input fails.
      const value: unknown = unpackr.unpack(bytes);
      // Hostile bytes can reach any extension registered in this process (msgpackr keeps them in
      // one module-wide table); only values the encoder could have written get through.
      assertDecoded(value, decoded, maxDepth, 'msgpackSerializer');
      return value;
    },
  };
}
