/** The one strictness walker: refuses, before encoding, every value a serializer would not bring back equal. */

import { SerializationError } from './errors.js';

/**
 * How deep session data may nest, counting the session object itself as level 1. JSON.stringify,
 * superjson and msgpackr all overflow the stack a few thousand levels down (measured on Node 20);
 * a session nested past 100 levels is a bug, so it is refused with a path long before that.
 */
export const MAX_DEPTH = 100;

/** The largest `maxDepth` a serializer accepts: the walker and the libraries stay far from the stack limit. */
export const MAX_DEPTH_LIMIT = 1000;

/** Options every serializer factory takes. */
export interface StrictOptions {
  /**
   * How many levels session data may nest, the session object being level 1.
   * @default 100
   */
  maxDepth?: number | undefined;
}

/**
 * Validates a factory's options: rejects keys it does not know (with the factory named) and a
 * `maxDepth` that is not an integer from 1 to {@link MAX_DEPTH_LIMIT}. Returns the depth to use.
 */
export function resolveMaxDepth(options: object | undefined, known: readonly string[]): number {
  if (options === undefined) return MAX_DEPTH;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`koa-session-kit: serializer options must be an object (received ${String(options)})`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'maxDepth' && !known.includes(key)) {
      const expected = ['maxDepth', ...known].map((name) => `\`${name}\``).join(', ');
      throw new TypeError(`koa-session-kit: \`${key}\` is not a serializer option; expected one of ${expected}`);
    }
  }
  const { maxDepth } = options as StrictOptions;
  if (maxDepth === undefined) return MAX_DEPTH;
  if (typeof maxDepth !== 'number' || !Number.isInteger(maxDepth)) {
    throw new TypeError(`koa-session-kit: \`maxDepth\` must be an integer (received ${String(maxDepth)})`);
  }
  if (maxDepth < 1 || maxDepth > MAX_DEPTH_LIMIT) {
    throw new RangeError(`koa-session-kit: \`maxDepth\` must be from 1 to ${MAX_DEPTH_LIMIT} (received ${maxDepth})`);
  }
  return maxDepth;
}

/** What happens to an object property whose value is `undefined`. */
export type UndefinedPropertyPolicy = 'carry' | 'drop';

/**
 * What a serializer carries, declared once by each serializer module. Anything not declared
 * here is refused by {@link assertCarries}; plain objects, arrays without holes, strings,
 * booleans, `null` and finite numbers are always carried.
 */
export interface Carries {
  /** The serializer's tag, used in error messages (`json`, `superjson`, `msgpack`). */
  readonly serializer: string;
  /** `'drop'`: JSON's behaviour, documented; `'carry'`: comes back as an own property. Never refused. */
  readonly undefinedProperty: UndefinedPropertyPolicy;
  /** `undefined` anywhere but as an object property: array elements, Map and Set entries (JSON turns it into `null`). */
  readonly undefinedValue: boolean;
  /** `NaN`, `Infinity` and `-Infinity`. */
  readonly nonFiniteNumbers: boolean;
  readonly bigint: boolean;
  /** Valid `Date`s. */
  readonly date: boolean;
  /** `new Date(NaN)`. */
  readonly invalidDate: boolean;
  readonly map: boolean;
  readonly set: boolean;
  readonly regexp: boolean;
  /**
   * Errors: `'builtin'` carries `Error` and its built-in subclasses (`TypeError`, ...) with their
   * message and cause; `'base'` only `Error` itself, with its message and no cause; `false` none.
   * Stacks are never compared: a decoded error has a new one.
   */
  readonly error: 'builtin' | 'base' | false;
  /** `ArrayBuffer` and `DataView`. */
  readonly binary: boolean;
  /** The typed-array constructors carried exactly (name → true). */
  readonly typedArrays: ReadonlySet<string>;
  /** Whether float typed arrays keep NaN and the infinities (superjson's go through JSON and do not). */
  readonly nonFiniteInTypedArrays: boolean;
  /** Cycles and shared references come back with their identity. */
  readonly references: boolean;
  /** Strings that are not well-formed UTF-16 (lone surrogates). */
  readonly loneSurrogates: boolean;
  /** Property names refused outright, because the library mangles them or because they are a pollution risk. */
  readonly reservedKeys: ReadonlySet<string>;
  /**
   * Class instances the caller registered (superjson's `registerClass`/`registerCustom`):
   * `'walk'` checks their own properties like an object's, `'opaque'` trusts the custom
   * transformer; `undefined` refuses the value.
   */
  readonly instance?: ((value: object) => 'walk' | 'opaque' | undefined) | undefined;
}

/** Which serializer to suggest for a type the current one refuses (first one that is not the current). */
const CARRIERS: Readonly<Record<string, readonly string[]>> = {
  Date: ['superjson', 'msgpack'],
  'Invalid Date': ['msgpack'],
  Map: ['superjson', 'msgpack'],
  Set: ['superjson', 'msgpack'],
  bigint: ['superjson', 'msgpack'],
  RegExp: ['superjson', 'msgpack'],
  Error: ['msgpack', 'superjson'],
  EvalError: ['msgpack'],
  RangeError: ['msgpack'],
  ReferenceError: ['msgpack'],
  SyntaxError: ['msgpack'],
  TypeError: ['msgpack'],
  URIError: ['msgpack'],
  ArrayBuffer: ['msgpack'],
  DataView: ['msgpack'],
  NaN: ['superjson', 'msgpack'],
  Infinity: ['superjson', 'msgpack'],
  '-Infinity': ['superjson', 'msgpack'],
  undefined: ['superjson', 'msgpack'],
  cycle: ['superjson', 'msgpack'],
  'lone surrogate': ['json', 'superjson'],
  'typed array': ['msgpack', 'superjson'],
};

const FACTORIES: Readonly<Record<string, string>> = {
  json: 'jsonSerializer()',
  superjson: 'superjsonSerializer()',
  msgpack: 'msgpackSerializer()',
};

function suggest(family: string, current: string): string | undefined {
  if (family === 'class instance') {
    return current === 'superjson'
      ? 'a SuperJSON instance with the class registered (superjsonSerializer({ instance }))'
      : 'superjsonSerializer({ instance }) with the class registered on that instance';
  }
  const name = CARRIERS[family]?.find((candidate) => candidate !== current);
  return name === undefined ? undefined : FACTORIES[name];
}

/** A refusal found deep in the walk; the path segments are collected on the way back up (error path only). */
interface Refusal {
  type: string;
  /** The key into CARRIERS when it differs from `type` (class instances, typed arrays). */
  family?: string;
  reason: string | undefined;
  segments: string[];
}

function refuse(type: string, reason?: string): Refusal {
  return { type, reason, segments: [] };
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function propertySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function joinPath(segments: readonly string[]): string {
  let path = '';
  for (let i = segments.length - 1; i >= 0; i--) path += segments[i];
  return path.startsWith('.') ? path.slice(1) : path;
}

const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;
// %TypedArray%.prototype[@@toStringTag] reads the internal slot, so it names typed arrays from any
// realm (jest gives tests the outer realm's Uint8Array but the inner realm's Float64Array).
const typedArrayTag = Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, Symbol.toStringTag)?.get as
  | ((this: unknown) => string | undefined)
  | undefined;

/** The typed array's constructor name, or undefined for anything else, subclasses such as Buffer included. */
function typedArrayName(value: object, proto: object): string | undefined {
  const tag = typedArrayTag?.call(value);
  // Only the built-in constructors' prototypes own BYTES_PER_ELEMENT; Buffer.prototype does not.
  return tag !== undefined && Object.hasOwn(proto, 'BYTES_PER_ELEMENT') ? tag : undefined;
}
const ERROR_PROTOTYPES = new Set<object>(
  [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError].map((ctor) => ctor.prototype),
);
const ERROR_OWN_KEYS = new Set<PropertyKey>(['message', 'stack', 'cause']);
const { propertyIsEnumerable } = Object.prototype;

// String#isWellFormed ships in Node 20 (V8 11.3) but the ES2023 lib does not type it yet.
const { isWellFormed } = String.prototype as unknown as { isWellFormed: (this: string) => boolean };

/**
 * Throws {@link SerializationError} unless every value inside `value` is one `carries` brings
 * back equal. Allocates nothing on the success path except the walker's own bookkeeping for
 * reference tracking; paths are built only when refusing.
 */
export function assertCarries(value: unknown, carries: Carries, maxDepth: number = MAX_DEPTH): void {
  const walker = new Walker(carries, maxDepth);
  const refusal = walker.visit(value, 1);
  if (refusal === undefined) return;
  throw new SerializationError({
    path: joinPath(refusal.segments),
    type: refusal.type,
    serializer: carries.serializer,
    suggestion: suggest(refusal.family ?? refusal.type, carries.serializer),
    reason: refusal.reason,
  });
}

class Walker {
  readonly #carries: Carries;
  readonly #maxDepth: number;
  /** Objects on the current path (cycle detection) when references are not carried. */
  readonly #ancestors: object[] = [];
  /** Objects already checked, when references are carried: a shared one is walked once. */
  readonly #seen: Set<object> | undefined;

  constructor(carries: Carries, maxDepth: number) {
    this.#carries = carries;
    this.#maxDepth = maxDepth;
    this.#seen = carries.references ? new Set() : undefined;
  }

  visit(value: unknown, depth: number): Refusal | undefined {
    switch (typeof value) {
      case 'string':
        return this.#carries.loneSurrogates || isWellFormed.call(value)
          ? undefined
          : refuse('lone surrogate', 'is a string with a lone surrogate, which does not survive UTF-8');
      case 'number':
        if (Number.isFinite(value) || this.#carries.nonFiniteNumbers) return undefined;
        return refuse(
          Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity',
          `is ${value}, which the ${this.#carries.serializer} serializer turns into null`,
        );
      case 'boolean':
        return undefined;
      case 'undefined':
        return this.#carries.undefinedValue
          ? undefined
          : refuse('undefined', `is \`undefined\` outside an object property, which the ${this.#carries.serializer} serializer turns into null`);
      case 'bigint':
        return this.#carries.bigint ? undefined : refuse('bigint');
      case 'function':
        return refuse('function', 'is a function, which no serializer can store');
      case 'symbol':
        return refuse('symbol', 'is a symbol, which no serializer can store');
      default:
        return value === null ? undefined : this.#visitObject(value as object, depth);
    }
  }

  #visitObject(value: object, depth: number): Refusal | undefined {
    if (depth > this.#maxDepth) {
      return refuse('too deep', `nests deeper than ${this.#maxDepth} levels, the limit for session data`);
    }
    const seen = this.#seen;
    if (seen !== undefined) {
      if (seen.has(value)) return undefined;
      seen.add(value);
      return this.#visitKind(value, depth);
    }
    const ancestors = this.#ancestors;
    if (ancestors.includes(value)) {
      return refuse('cycle', `refers back to one of its own containers (a cycle), which the ${this.#carries.serializer} serializer cannot store`);
    }
    ancestors.push(value);
    const refusal = this.#visitKind(value, depth);
    ancestors.pop();
    return refusal;
  }

  #visitKind(value: object, depth: number): Refusal | undefined {
    const carries = this.#carries;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === Object.prototype || proto === null) return this.#visitProperties(value, depth);
    if (proto === Array.prototype) return this.#visitArray(value as unknown[], depth);
    if (proto === Date.prototype) {
      if (!carries.date) return refuse('Date', `is a Date, which the ${carries.serializer} serializer turns into a string`);
      return carries.invalidDate || !Number.isNaN((value as Date).getTime()) ? undefined : refuse('Invalid Date', `is an invalid Date, which the ${carries.serializer} serializer cannot store`);
    }
    if (proto === Map.prototype) return carries.map ? this.#visitMap(value as Map<unknown, unknown>, depth) : refuse('Map');
    if (proto === Set.prototype) return carries.set ? this.#visitSet(value as Set<unknown>, depth) : refuse('Set');
    if (proto === RegExp.prototype) return carries.regexp ? this.#checkRegExp(value as RegExp) : refuse('RegExp');
    if (ERROR_PROTOTYPES.has(proto)) return this.#visitError(value as Error, proto, depth);
    if (proto === ArrayBuffer.prototype || proto === DataView.prototype) {
      return carries.binary ? undefined : refuse(proto === ArrayBuffer.prototype ? 'ArrayBuffer' : 'DataView');
    }
    const typedArray = typedArrayName(value, proto);
    if (typedArray !== undefined) return this.#checkTypedArray(value, typedArray);
    const registered = carries.instance?.(value);
    if (registered === 'opaque') return undefined;
    if (registered === 'walk') return this.#visitProperties(value, depth);
    return refuseInstance(proto, carries.serializer);
  }

  #visitProperties(value: object, depth: number): Refusal | undefined {
    const keys = Reflect.ownKeys(value);
    const carries = this.#carries;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string | symbol;
      if (typeof key === 'symbol') {
        const refusal = refuse('symbol key', 'is under a symbol key, which no serializer keeps');
        refusal.segments.push(`[${String(key)}]`);
        return refusal;
      }
      let refusal: Refusal | undefined;
      if (carries.reservedKeys.has(key)) {
        refusal = refuse(`${key} key`, `is under a \`${key}\` key, which the ${carries.serializer} serializer refuses (the library mangles it, and it is a prototype-pollution risk)`);
      } else if (!carries.loneSurrogates && !isWellFormed.call(key)) {
        refusal = refuse('lone surrogate', 'is under a key with a lone surrogate, which does not survive UTF-8');
      } else if (!propertyIsEnumerable.call(value, key)) {
        refusal = refuse('non-enumerable property', 'is a non-enumerable property, which serializers skip');
      } else {
        const child = (value as Record<string, unknown>)[key];
        // Dropped (JSON, documented) or carried: either way the property reads back as undefined.
        if (child === undefined) continue;
        refusal = this.visit(child, depth + 1);
      }
      if (refusal !== undefined) {
        refusal.segments.push(propertySegment(key));
        return refusal;
      }
    }
    return undefined;
  }

  #visitArray(value: unknown[], depth: number): Refusal | undefined {
    const length = value.length;
    for (let i = 0; i < length; i++) {
      const child = value[i];
      let refusal: Refusal | undefined;
      if (child === undefined && !(i in value)) {
        refusal = refuse('sparse array', 'is a hole in a sparse array, which comes back as `undefined` or `null`');
      } else {
        refusal = this.visit(child, depth + 1);
      }
      if (refusal !== undefined) {
        refusal.segments.push(`[${i}]`);
        return refusal;
      }
    }
    // Named properties on an array (arr.total = 3) are dropped by every library.
    if (Object.keys(value).length !== length) {
      return refuse('array with named properties', 'is an array with named properties, which serializers drop');
    }
    return undefined;
  }

  #visitMap(value: Map<unknown, unknown>, depth: number): Refusal | undefined {
    let index = 0;
    for (const [key, child] of value) {
      let refusal = this.visit(key, depth + 1);
      if (refusal !== undefined) {
        refusal.segments.push(`[Map key ${index}]`);
        return refusal;
      }
      refusal = this.visit(child, depth + 1);
      if (refusal !== undefined) {
        const primitiveKey = typeof key === 'string' || typeof key === 'number';
        refusal.segments.push(primitiveKey ? `.get(${JSON.stringify(key)})` : `[Map value ${index}]`);
        return refusal;
      }
      index++;
    }
    return undefined;
  }

  #visitSet(value: Set<unknown>, depth: number): Refusal | undefined {
    let index = 0;
    for (const member of value) {
      const refusal = this.visit(member, depth + 1);
      if (refusal !== undefined) {
        refusal.segments.push(`[Set member ${index}]`);
        return refusal;
      }
      index++;
    }
    return undefined;
  }

  #checkRegExp(value: RegExp): Refusal | undefined {
    // lastIndex is state, not value: no library keeps it.
    return value.lastIndex === 0 ? undefined : refuse('RegExp', 'is a RegExp with a non-zero lastIndex, which is not kept');
  }

  #visitError(value: Error, proto: object, depth: number): Refusal | undefined {
    const carried = this.#carries.error;
    const name = (proto as { name: string }).name;
    if (carried === false || (carried === 'base' && proto !== Error.prototype)) {
      return refuse(name, `is ${name === 'Error' ? 'an' : 'a'} ${name}, which the ${this.#carries.serializer} serializer cannot bring back equal`);
    }
    const hasCause = Object.prototype.hasOwnProperty.call(value, 'cause');
    if (carried === 'base' && hasCause) {
      return refuse(name, `is an Error with a cause, which the ${this.#carries.serializer} serializer does not keep`);
    }
    for (const key of Reflect.ownKeys(value)) {
      if (!ERROR_OWN_KEYS.has(key)) {
        return refuse(name, `is an Error with an extra property (${String(key)}), which is not kept`);
      }
    }
    if (!hasCause) return undefined;
    const refusal = this.visit(value.cause, depth + 1);
    refusal?.segments.push('.cause');
    return refusal;
  }

  #checkTypedArray(value: object, name: string): Refusal | undefined {
    if (!this.#carries.typedArrays.has(name)) {
      const refusal = refuse(name, `is a ${name}, which the ${this.#carries.serializer} serializer cannot bring back equal`);
      refusal.family = 'typed array';
      return refusal;
    }
    if (this.#carries.nonFiniteInTypedArrays || (name !== 'Float32Array' && name !== 'Float64Array')) return undefined;
    for (const element of value as Float64Array) {
      if (!Number.isFinite(element)) {
        const refusal = refuse(name, `is a ${name} holding ${element}, which the ${this.#carries.serializer} serializer turns into 0`);
        refusal.family = 'typed array';
        return refusal;
      }
    }
    return undefined;
  }
}

const BOXES = new Set<object>([String, Number, Boolean, BigInt, Symbol].map((ctor) => ctor.prototype as object));

function refuseInstance(proto: object, serializer: string): Refusal {
  const ctor = (proto as { constructor?: unknown }).constructor;
  const name = typeof ctor === 'function' && ctor.name !== '' ? ctor.name : 'anonymous class';
  if (BOXES.has(proto)) {
    return refuse(`boxed ${name}`, `is a boxed ${name} (new ${name}(...)), which comes back unboxed or empty`);
  }
  const refusal = refuse(name, `is an instance of ${name}, which the ${serializer} serializer brings back as a plain object or not at all`);
  refusal.family = 'class instance';
  return refusal;
}

/**
 * True when a decoded value holds an own property named in `keys` anywhere inside it: the
 * decode-side guard for keys the encoders refuse, so such bytes were not written by us.
 * Walks objects and arrays only (what JSON.parse can produce).
 */
export function hasReservedKey(value: unknown, keys: ReadonlySet<string>): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const element of value) if (hasReservedKey(element, keys)) return true;
    return false;
  }
  for (const key of Object.keys(value)) {
    if (keys.has(key) || hasReservedKey((value as Record<string, unknown>)[key], keys)) return true;
  }
  return false;
}
