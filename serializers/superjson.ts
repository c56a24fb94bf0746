/** superjson: JSON text that also keeps Dates, Maps, Sets, BigInts, undefined, cycles and registered classes. */

import { SuperJSON } from 'superjson';
import { SerializationError } from '../src/errors.js';
import { wrongType } from '../src/option-checks.js';
import {
  NUMBER_TYPED_ARRAYS,
  assertCarries,
  assertDecoded,
  compileCarries,
  declaresBigint,
  longDecimalPath,
  MAX_BIGINT_DIGITS,
  mayNameBigint,
  resolveMaxDepth,
  type Carries,
  type StrictOptions,
} from '../src/strict.js';
import type { Serializer } from '../src/serializer.js';

/** Options for {@link superjsonSerializer}. */
export interface SuperjsonSerializerOptions extends StrictOptions {
  /**
   * The SuperJSON instance to use, so classes registered on it (`registerClass`,
   * `registerCustom`) round-trip. Share it only between apps that should share registrations.
   * @default a private `new SuperJSON()`
   */
  instance?: SuperJSON | undefined;
}

const TYPED_ARRAYS = new Set(NUMBER_TYPED_ARRAYS);

/** superjson throws on these keys ("prototype pollution risk"); refused up front with a path instead. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * What superjson 2 brings back equal (each one measured and tested), before class
 * registrations. Refused: invalid Dates (they become null), typed arrays of bigints (superjson
 * throws) and float arrays holding NaN or the infinities (they become 0), Error subclasses (they
 * come back as Error), Errors with a cause, sparse arrays, boxed primitives, unregistered class
 * instances, and `__proto__`, `constructor` and `prototype` keys. Normalisations: a
 * null-prototype object comes back plain; an Error comes back with a new stack.
 */
export const SUPERJSON_CARRIES: Carries = {
  serializer: 'superjson',
  undefinedProperty: 'carry',
  undefinedValue: true,
  nonFiniteNumbers: true,
  bigint: true,
  date: true,
  invalidDate: false,
  map: true,
  set: true,
  regexp: true,
  error: 'base',
  binary: false,
  typedArrays: TYPED_ARRAYS,
  nonFiniteInTypedArrays: false,
  references: true,
  // superjson's `json` holds a shared object in full at each place (`dedupe: false`, the default).
  expandsSharedReferences: true,
  // The JSON text escapes lone surrogates (\ud800), so they come back exact.
  loneSurrogates: true,
  reservedKeys: RESERVED_KEYS,
};

/**
 * Creates the superjson serializer. Carries everything JSON does plus `undefined`, NaN, the
 * infinities and `-0`, bigint, Date, Map, Set, RegExp, `Error` (message only), typed arrays of
 * numbers, URL, cycles and shared references, and instances of classes registered on `instance`.
 * The bytes are superjson's `{ json, meta }` as UTF-8 JSON.
 *
 * Limits, checked at commit (a {@link SerializationError} with the path) and on loading (a
 * record past them decodes as a fresh session, before superjson's work on it can grow):
 * - data of more than `MAX_SESSION_VALUES` (100,000) values in all, a shared object counted each
 *   time it appears: `json` holds it in full at each place, so `referentialEqualities` in a record
 *   of a kilobyte could otherwise expand to millions of values;
 * - a bigint of more than `MAX_BIGINT_DIGITS` (1,000) decimal digits, and, in data holding a
 *   bigint, a string of more than 1,000 digits: superjson writes bigints as such strings and
 *   parses them with `BigInt()`, whose cost grows faster than their length.
 *
 * A Proxy and an accessor property (getter or setter) are refused too: superjson would read them
 * again after the check.
 *
 * @example
 * ```ts
 * const instance = new SuperJSON();
 * instance.registerClass(Money);
 * app.use(session({ serializer: superjsonSerializer({ instance }) }));
 * ```
 */
export function superjsonSerializer(options?: SuperjsonSerializerOptions): Serializer {
  const maxDepth = resolveMaxDepth(options, ['instance']);
  const instance = options?.instance ?? new SuperJSON();
  if (!(instance instanceof SuperJSON)) throw wrongType('instance', 'a SuperJSON instance', instance);
  const carries = compileCarries({ ...SUPERJSON_CARRIES, instance: (value) => registered(instance, value) });
  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return {
    name: 'superjson',
    serialize(value: unknown): Uint8Array {
      assertCarries(value, carries, maxDepth);
      // assertCarries has checked every value against what superjson carries.
      const payload = instance.serialize(value as Parameters<SuperJSON['serialize']>[0]);
      const text = JSON.stringify(payload);
      // The rule deserialize applies, on the same shape, so nothing is stored that could not load.
      const path = mayNameBigint(text) ? longDecimalPathIfBigint(payload) : undefined;
      if (path !== undefined) {
        throw new SerializationError({
          path,
          type: 'long decimal string',
          serializer: 'superjson',
          suggestion: undefined,
          reason: `is a string of more than ${MAX_BIGINT_DIGITS} digits in data that holds a bigint: superjson writes bigints as digit strings, and loading refuses long ones before parsing them`,
        });
      }
      return encoder.encode(text);
    },
    deserialize(bytes: Uint8Array): unknown {
      const text = decoder.decode(bytes);
      const payload: unknown = JSON.parse(text);
      if (!isPayload(payload)) throw new SyntaxError('koa-session-kit: not superjson session data (expected { json, meta? })');
      // Before superjson's BigInt() reads any string: that parse costs more than linear time in the digits.
      if (mayNameBigint(text) && longDecimalPathIfBigint(payload) !== undefined) {
        throw new RangeError(
          `koa-session-kit: stored superjson data declares a bigint and holds a string of more than ${MAX_BIGINT_DIGITS} digits`,
        );
      }
      // superjson refuses __proto__, constructor and prototype in the paths of `meta` (accessDeep.js).
      const value = instance.deserialize(payload as Parameters<SuperJSON['deserialize']>[0]);
      // Inside `json` it keeps constructor and prototype keys as data, and `"Date": "x"` makes an
      // invalid Date: reject what serialize would refuse, so bad bytes are a fresh session.
      assertDecoded(value, carries, maxDepth, 'superjsonSerializer');
      return value;
    },
  };
}

/** superjson's `{ json, meta? }`; `json` is absent when the value was `undefined` (JSON.stringify drops it). */
function isPayload(value: unknown): value is { json?: unknown; meta?: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key of Object.keys(value)) if (key !== 'json' && key !== 'meta') return false;
  const { meta } = value as { meta?: unknown };
  return meta === undefined || (typeof meta === 'object' && meta !== null && !Array.isArray(meta));
}

/**
 * Where `json` holds a string BigInt() would read as more than {@link MAX_BIGINT_DIGITS} digits,
 * when `meta` declares a bigint at all. Every string a bigint annotation can reach is in `json`
 * (superjson's Maps, Sets and classes are built from it), so checking them all needs no path
 * resolution, which a crafted record could make differ from superjson's.
 */
function longDecimalPathIfBigint(payload: { json?: unknown; meta?: unknown }): string | undefined {
  // An object or absent (isPayload, or superjson's own output); only `values` is read, as unknown.
  const meta = payload.meta as { values?: unknown } | undefined;
  return meta?.values !== undefined && declaresBigint(meta.values) ? longDecimalPath(payload.json) : undefined;
}

/** A class registered on the instance is walked like an object; a custom transformer's value is its business. */
function registered(instance: SuperJSON, value: object): 'walk' | 'opaque' | undefined {
  if (instance.customTransformerRegistry.findApplicable(value) !== undefined) return 'opaque';
  if (Object.getPrototypeOf(value) === URL.prototype) return 'opaque';
  const ctor = (value as { constructor?: unknown }).constructor;
  if (typeof ctor !== 'function') return undefined;
  // Registry#getIdentifier is typed for Class (new (...args: any[]) => any); ctor is a function here.
  const identifier = instance.classRegistry.getIdentifier(ctor as new () => unknown);
  if (identifier === undefined || Object.getPrototypeOf(value) !== ctor.prototype) return undefined;
  const allowed = instance.classRegistry.getAllowedProps(ctor as new () => unknown);
  if (allowed !== undefined && Object.keys(value).some((key) => !allowed.includes(key))) return undefined;
  return 'walk';
}
