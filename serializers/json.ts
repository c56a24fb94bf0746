/** The default serializer: strict JSON, UTF-8 bytes, nothing that would not come back equal. */

import { assertCarries, hasReservedKey, resolveMaxDepth, type Carries, type StrictOptions } from '../src/strict.js';
import type { Serializer } from '../src/serializer.js';

/**
 * What JSON brings back equal. Anything else (Date, Map, Set, BigInt, NaN, class instances,
 * cycles, ...) is refused by the shared walker with the path and a serializer that would carry it.
 * Two documented normalisations are accepted: an object property whose value is `undefined` is
 * dropped (it reads back as `undefined` either way), a null-prototype object comes back as a
 * plain one, and `-0` comes back as `0`.
 */
export const JSON_CARRIES: Carries = {
  serializer: 'json',
  undefinedProperty: 'drop',
  undefinedValue: false,
  nonFiniteNumbers: false,
  bigint: false,
  date: false,
  invalidDate: false,
  map: false,
  set: false,
  regexp: false,
  error: false,
  binary: false,
  typedArrays: new Set(),
  nonFiniteInTypedArrays: false,
  references: false,
  // JSON.stringify escapes lone surrogates as \udXXX (well-formed JSON.stringify, ES2019), so they come back exact.
  loneSurrogates: true,
  // JSON.parse keeps "__proto__" as an own property, but code that later copies it with
  // Object.assign or a deep merge would set a prototype; refused on write, rejected on read.
  reservedKeys: new Set(['__proto__']),
};

const PROTO_KEY = '__proto__';

/** Options for {@link jsonSerializer}. */
export type JsonSerializerOptions = StrictOptions;

/**
 * Creates the JSON serializer (the default). Carries `null`, booleans, finite numbers, strings,
 * arrays without holes and plain or null-prototype objects, nested at most `maxDepth` (100) levels; throws
 * {@link SerializationError} at commit for anything else. Decoding rejects bytes that are not
 * UTF-8 JSON or that hold a `__proto__` key.
 *
 * @example
 * ```ts
 * app.use(session({ serializer: jsonSerializer() }));
 * ```
 */
export function jsonSerializer(options?: JsonSerializerOptions): Serializer {
  const maxDepth = resolveMaxDepth(options, []);
  const encoder = new TextEncoder();
  // fatal: invalid UTF-8 (msgpack bytes, corruption) throws instead of decoding to U+FFFD.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return {
    name: 'json',
    serialize(value: unknown): Uint8Array {
      assertCarries(value, JSON_CARRIES, maxDepth);
      return encoder.encode(JSON.stringify(value));
    },
    deserialize(bytes: Uint8Array): unknown {
      const text = decoder.decode(bytes);
      const value: unknown = JSON.parse(text);
      // Only text that spells the key, or escapes something (\u005f_proto__), can hold it: skip the scan otherwise.
      if ((text.includes(PROTO_KEY) || text.includes('\\u')) && hasReservedKey(value, JSON_CARRIES.reservedKeys)) {
        throw new SyntaxError('koa-session-kit: JSON session data holds a `__proto__` key, which jsonSerializer never writes');
      }
      return value;
    },
  };
}
