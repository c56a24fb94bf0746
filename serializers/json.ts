/** The default serializer: strict JSON, UTF-8 bytes, nothing that would not come back equal. */

import { assertCarries, assertDecoded, compileCarries, resolveMaxDepth, type Carries, type StrictOptions } from '../src/strict.js';
import type { Serializer } from '../src/serializer.js';

/**
 * What JSON brings back equal. Anything else (Date, Map, Set, BigInt, NaN, class instances,
 * cycles, ...) is refused by the shared walker with the path and a serializer that would carry it.
 * Three documented normalisations are accepted: an object property whose value is `undefined` is
 * dropped (it reads back as `undefined` either way), a null-prototype object comes back as a
 * plain one, and `-0` comes back as `0`. Lone surrogates are carried: JSON.stringify escapes them.
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
  // JSON has no references: a shared object is written again at each place it appears.
  expandsSharedReferences: true,
  // JSON.stringify escapes lone surrogates as \udXXX (well-formed JSON.stringify, ES2019), so they come back exact.
  loneSurrogates: true,
  // JSON.parse keeps "__proto__" as an own property, but code that later copies it with
  // Object.assign or a deep merge would set a prototype; refused on write, rejected on read.
  reservedKeys: new Set(['__proto__']),
};

/** Options for {@link jsonSerializer}. */
export type JsonSerializerOptions = StrictOptions;

/**
 * Creates the JSON serializer (the default). Carries `null`, booleans, finite numbers, strings,
 * arrays without holes and plain or null-prototype objects, nested at most `maxDepth` (100) levels; throws
 * {@link SerializationError} at commit for anything else. Decoding rejects bytes that are not
 * UTF-8 JSON, and JSON that serialize would refuse (a `__proto__` key, `1e999`, too deep).
 *
 * Also refused at commit: a Proxy and an accessor property (getter or setter), which
 * JSON.stringify would read again after the check, and data of more than `MAX_SESSION_VALUES`
 * (100,000) values in all (properties, elements, the session object), a shared object counted
 * each time it appears, as JSON writes it each time. A stored record past that limit decodes as
 * a fresh session.
 *
 * @example
 * ```ts
 * app.use(session({ serializer: jsonSerializer() }));
 * ```
 */
export function jsonSerializer(options?: JsonSerializerOptions): Serializer {
  const maxDepth = resolveMaxDepth(options, []);
  const carries = compileCarries(JSON_CARRIES);
  // fatal: invalid UTF-8 (msgpack bytes, corruption) throws instead of decoding to U+FFFD.
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return {
    name: 'json',
    serialize(value: unknown): Uint8Array {
      assertCarries(value, carries, maxDepth);
      // Buffer.from takes small strings from Node's pool; TextEncoder gives each its own ArrayBuffer.
      return Buffer.from(JSON.stringify(value), 'utf8');
    },
    deserialize(bytes: Uint8Array): unknown {
      const value: unknown = JSON.parse(decoder.decode(bytes));
      // JSON.parse makes "__proto__" an own key (no pollution), 1e999 Infinity, and nests as deep as
      // the text does: reject what serialize would refuse, so bad bytes are a fresh session.
      assertDecoded(value, carries, maxDepth, 'jsonSerializer');
      return value;
    },
  };
}
