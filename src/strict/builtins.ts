/** The built-ins the walker recognises by prototype, across realms where it matters. */

const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;
// %TypedArray%.prototype[@@toStringTag] reads the internal slot, so it names typed arrays from any
// realm (jest gives tests the outer realm's Uint8Array but the inner realm's Float64Array).
const typedArrayTag = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, Symbol.toStringTag)?.get as
  ((this: unknown) => string | undefined) | undefined;

/** The typed array's constructor name, or undefined for anything else, subclasses such as Buffer included. */
export function typedArrayName(value: object, proto: object): string | undefined {
  const tag = typedArrayTag?.call(value);
  // Only the built-in constructors' prototypes own BYTES_PER_ELEMENT; Buffer.prototype does not.
  return tag !== undefined && Object.hasOwn(proto, 'BYTES_PER_ELEMENT') ? tag : undefined;
}

/** `Error` and the built-in subclasses the serializers know by name (not AggregateError). */
export const ERROR_PROTOTYPES = new Set<object>(
  [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].map((ctor) => ctor.prototype),
);
/** What a carried cycle may pass through: msgpackr rebuilds a cycle's target from {}, [], a Map or a Set. */
export const CYCLE_PROTOTYPES = new Set<object | null>([Object.prototype, null, Array.prototype, Map.prototype, Set.prototype]);
/** The own properties an error may have and still come back equal (`name` is handled apart). */
export const ERROR_OWN_KEYS = new Set<PropertyKey>(['message', 'stack', 'cause']);

/** String#isWellFormed: in Node 20 (V8 11.3), but the ES2023 lib does not type it yet. */
export const { isWellFormed } = String.prototype as unknown as { isWellFormed: (this: string) => boolean };

/** The typed arrays of numbers, by constructor name: what a serializer lists when it carries them. */
export const NUMBER_TYPED_ARRAYS: readonly string[] = [
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
];
/** The typed arrays of bigints. */
export const BIGINT_TYPED_ARRAYS: readonly string[] = ['BigInt64Array', 'BigUint64Array'];
