/** What a serializer declares it carries, and the options every serializer factory shares. */

import { checkInteger, checkOptions, type OptionRegistry } from '../option-checks.js';

/**
 * How deep session data may nest, counting the session object itself as level 1. JSON.stringify,
 * superjson and msgpackr all overflow the stack a few thousand levels down (measured on Node 20);
 * a session nested past 100 levels is a bug, so it is refused with a path long before that.
 */
export const MAX_DEPTH = 100;

/** The largest `maxDepth` a serializer accepts: the walker and the libraries stay far from the stack limit. */
export const MAX_DEPTH_LIMIT = 1000;

/**
 * How many values session data may hold under a serializer that writes a shared object in full
 * at each place it appears (JSON, superjson): every property, array element, Map key and value
 * and Set member counts, a shared object each time it appears. Such a serializer's bytes and
 * encoding time follow that count, not the number of distinct objects, so a small DAG (a few
 * objects each referring twice to the next) would encode to an exponential text; a stored
 * superjson record can build one from its `referentialEqualities`. Refused at commit with a
 * {@link SerializationError}; a stored record past it decodes as a fresh session. Counting stops
 * at the limit, so the check costs time linear in the data (shared objects are counted once
 * walked, from a memo). A typical session holds a few hundred values.
 */
export const MAX_SESSION_VALUES = 100_000;

/**
 * The most decimal digits a bigint in session data may have (so `|n| < 10 ** 1000`; a 2048-bit
 * number has 617). Converting a bigint to and from decimal text costs more than linear time in
 * its length, and superjson does both; refused at commit with a {@link SerializationError}, and a
 * stored record holding a longer one decodes as a fresh session, rejected before it is parsed.
 */
export const MAX_BIGINT_DIGITS = 1000;

/** Options every serializer factory takes. */
export interface StrictOptions {
  /**
   * How many levels session data may nest, the session object being level 1.
   * @default 100
   */
  maxDepth?: number | undefined;
}

/**
 * Validates a factory's options: rejects keys it does not know (with a hint for a near miss) and a
 * `maxDepth` that is not an integer from 1 to {@link MAX_DEPTH_LIMIT}. Returns the depth to use.
 */
export function resolveMaxDepth(options: object | undefined, known: readonly string[]): number {
  if (options === undefined) return MAX_DEPTH;
  const registry: OptionRegistry<Record<string, unknown>> = Object.fromEntries(['maxDepth', ...known].map((key) => [key, true]));
  checkOptions('serializer', options, registry);
  return options.maxDepth === undefined ? MAX_DEPTH : checkInteger('maxDepth', options.maxDepth, 1, MAX_DEPTH_LIMIT);
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
  /**
   * When set, a typed array is carried only if it is an instance of this class: msgpackr
   * recognises typed arrays with `instanceof` %TypedArray% of its own realm and silently packs
   * one from another realm (a vm context, jest's test realm) as a plain object.
   */
  readonly typedArrayBase?: (abstract new (...args: never[]) => unknown) | undefined;
  /** Cycles and shared references come back with their identity. */
  readonly references: boolean;
  /**
   * A shared object is written in full at each place it appears (JSON; superjson, whose
   * `referentialEqualities` restore the identity but whose `json` holds every copy), so the data
   * is limited to {@link MAX_SESSION_VALUES} values, shared ones counted each time.
   */
  readonly expandsSharedReferences: boolean;
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

/**
 * A {@link Carries} with every field present, in one fixed shape. The walker reads these fields
 * in its hot loop; with the serializers' own objects (each a different shape) those reads go
 * polymorphic once all three serializers run in one process (bench/studies/serializers.ts measures it).
 */
export class CompiledCarries implements Carries {
  readonly serializer: string;
  readonly undefinedProperty: Carries['undefinedProperty'];
  readonly undefinedValue: boolean;
  readonly nonFiniteNumbers: boolean;
  readonly bigint: boolean;
  readonly date: boolean;
  readonly invalidDate: boolean;
  readonly map: boolean;
  readonly set: boolean;
  readonly regexp: boolean;
  readonly error: Carries['error'];
  readonly binary: boolean;
  readonly typedArrays: ReadonlySet<string>;
  readonly nonFiniteInTypedArrays: boolean;
  readonly typedArrayBase: Carries['typedArrayBase'];
  readonly references: boolean;
  readonly expandsSharedReferences: boolean;
  readonly loneSurrogates: boolean;
  readonly reservedKeys: ReadonlySet<string>;
  /** The same keys as an array: one to three `===` per key cost less than a Set lookup. */
  readonly reservedKeyList: readonly string[];
  readonly instance: Carries['instance'];

  constructor(carries: Carries) {
    this.serializer = carries.serializer;
    this.undefinedProperty = carries.undefinedProperty;
    this.undefinedValue = carries.undefinedValue;
    this.nonFiniteNumbers = carries.nonFiniteNumbers;
    this.bigint = carries.bigint;
    this.date = carries.date;
    this.invalidDate = carries.invalidDate;
    this.map = carries.map;
    this.set = carries.set;
    this.regexp = carries.regexp;
    this.error = carries.error;
    this.binary = carries.binary;
    this.typedArrays = carries.typedArrays;
    this.nonFiniteInTypedArrays = carries.nonFiniteInTypedArrays;
    this.typedArrayBase = carries.typedArrayBase;
    this.references = carries.references;
    this.expandsSharedReferences = carries.expandsSharedReferences;
    this.loneSurrogates = carries.loneSurrogates;
    this.reservedKeys = carries.reservedKeys;
    this.reservedKeyList = [...carries.reservedKeys];
    this.instance = carries.instance;
  }
}

/** `list.includes(key)` by `===`, which V8 inlines into the walker; `includes` and `Set#has` cost more per key. */
export function isReserved(list: readonly string[], key: string): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === key) return true;
  return false;
}

/** Compiles a serializer's declaration once, at factory time; pass the result to {@link assertCarries}. */
export function compileCarries(carries: Carries): CompiledCarries {
  return carries instanceof CompiledCarries ? carries : new CompiledCarries(carries);
}
