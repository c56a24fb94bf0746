/** The one strictness walker: refuses, before encoding, every value a serializer would not bring back equal. */

import { types } from 'node:util';
import { CYCLE_PROTOTYPES, ERROR_OWN_KEYS, ERROR_PROTOTYPES, isWellFormed, typedArrayName } from './builtins.js';
import {
  compileCarries,
  isReserved,
  MAX_BIGINT_DIGITS,
  MAX_DEPTH,
  MAX_SESSION_VALUES,
  type Carries,
  type CompiledCarries,
} from './carries.js';
import { hiddenKey, propertySegment, refuse, refuseInstance, toSerializationError, type Refusal } from './refusal.js';

/**
 * Objects walked with a path stack alone before the walker also keeps a Map of every object. The
 * typical session (bench/serializers.ts) has 27, and a Map per call would be a large share of its walk.
 */
const SHARED_WALK_LIMIT = 2000;

/** The smallest bigint magnitude with more than {@link MAX_BIGINT_DIGITS} decimal digits. */
const BIGINT_BOUND = 10n ** BigInt(MAX_BIGINT_DIGITS);

const { getOwnPropertyDescriptor } = Object;
/** Annex B's `__lookupGetter__`: the getter for a key, own or inherited, without allocating a descriptor. */
const lookupGetter = (Object.prototype as unknown as { __lookupGetter__: (this: object, key: PropertyKey) => unknown }).__lookupGetter__;
const { isProxy } = types;

/**
 * Throws {@link SerializationError} unless every value inside `value` is one `carries` brings
 * back equal (pass {@link compileCarries}' result on hot paths). Paths are built only when refusing.
 *
 * Read once: the encoder reads the value again after this check, so whatever could answer the
 * two reads differently is refused: a Proxy (its traps run on every read, and none is run here)
 * and an accessor property (a getter or setter on an object or an Error, a getter on an array
 * element). Object properties are read through their descriptors, so their getters never run;
 * an array element is read, then refused if a getter answered.
 */
export function assertCarries(value: unknown, carries: Carries, maxDepth: number = MAX_DEPTH): void {
  const refusal = new Walker(compileCarries(carries), maxDepth, true).visit(value, 1);
  if (refusal !== undefined) throw toSerializationError(refusal, carries.serializer);
}

/** Walks one value against one serializer's capabilities; made per call (it holds the path). */
export class Walker {
  readonly #carries: CompiledCarries;
  readonly #maxDepth: number;
  /** Objects on the current path: a cycle (refused, or not walked twice when references are carried). */
  readonly #ancestors: object[] = [];
  /**
   * Objects already checked, with the values each holds, once a walk with carried references gets
   * large: a shared one is then walked once and its values added again from here.
   */
  #seen: Map<object, number> | undefined;
  /** Objects walked so far, counted until {@link SHARED_WALK_LIMIT}. */
  #walked = 0;
  /** Values counted so far, a shared object's each time it appears (see {@link MAX_SESSION_VALUES}). */
  #values = 1;
  /** {@link MAX_SESSION_VALUES} when shared references expand in the bytes, else no limit. */
  readonly #maxValues: number;
  /**
   * Encoding checks everything. Decoding ({@link assertDecoded}) skips what decoders cannot
   * produce: symbol and non-enumerable keys, arrays with named properties, lone surrogates.
   */
  readonly #checkKeys: boolean;
  /** Encoding for a serializer that loses lone surrogates: check every string and key. */
  readonly #checkStrings: boolean;
  /** Decoding for a serializer that carries every primitive (msgpack): only objects need a look. */
  readonly #skipPrimitives: boolean;

  constructor(carries: CompiledCarries, maxDepth: number, checkKeys: boolean) {
    this.#carries = carries;
    this.#checkKeys = checkKeys;
    this.#checkStrings = checkKeys && !carries.loneSurrogates;
    this.#skipPrimitives = !checkKeys && carries.nonFiniteNumbers && carries.bigint && carries.undefinedValue;
    this.#maxDepth = maxDepth;
    this.#maxValues = carries.expandsSharedReferences ? MAX_SESSION_VALUES : Number.POSITIVE_INFINITY;
  }

  visit(value: unknown, depth: number): Refusal | undefined {
    switch (typeof value) {
      case 'string':
        return !this.#checkStrings || isWellFormed.call(value)
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
          : refuse(
              'undefined',
              `is \`undefined\` outside an object property, which the ${this.#carries.serializer} serializer turns into null`,
            );
      case 'bigint':
        if (!this.#carries.bigint) return refuse('bigint');
        return value < BIGINT_BOUND && value > -BIGINT_BOUND
          ? undefined
          : refuse('long bigint', `is a bigint of more than ${MAX_BIGINT_DIGITS} digits, the limit for session data`);
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
    // Before any other look: Object.getPrototypeOf and every read of a Proxy run its traps.
    // Decoders never make one, so only encoding asks.
    if (this.#checkKeys && isProxy(value)) {
      return refuse('Proxy', 'is a Proxy, whose traps could answer the serializer differently from this check');
    }
    // A Date holds no values: no cycle can pass through it, so it skips the path bookkeeping.
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === Date.prototype) return this.#checkDate(value as Date);
    const ancestors = this.#ancestors;
    const at = ancestors.indexOf(value);
    if (at !== -1) return this.#checkCycle(at);
    // A shared object is walked again each time it appears; past SHARED_WALK_LIMIT objects (a
    // DAG of shared references can make that exponential), switch to remembering every object
    // with the values it holds, so the count of values stays exact and the walk linear.
    const seen = this.#seen;
    if (seen !== undefined) {
      const values = seen.get(value);
      if (values !== undefined) return this.#count(values);
    } else if (this.#carries.references && ++this.#walked > SHARED_WALK_LIMIT) {
      this.#seen = new Map();
    }
    const before = this.#values;
    ancestors.push(value);
    const refusal = this.#visitKind(value, proto, depth);
    ancestors.pop();
    if (refusal === undefined) this.#seen?.set(value, this.#values - before);
    return refusal;
  }

  /** Counts `values` more, refusing past the limit: every container adds its entries before walking them. */
  #count(values: number): Refusal | undefined {
    this.#values += values;
    if (this.#values <= this.#maxValues) return undefined;
    return refuse(
      'too many values',
      `brings the session data past ${this.#maxValues} values in all (a shared object counts each time it appears), the limit under the ${this.#carries.serializer} serializer`,
    );
  }

  /** A back reference to `ancestors[at]`: carried only when every object on the loop is a plain container. */
  #checkCycle(at: number): Refusal | undefined {
    const serializer = this.#carries.serializer;
    if (!this.#carries.references) {
      return refuse('cycle', `refers back to one of its own containers (a cycle), which the ${serializer} serializer cannot store`);
    }
    const ancestors = this.#ancestors;
    for (let i = at; i < ancestors.length; i++) {
      // msgpackr rebuilds a cycle's target from a placeholder {}, [], Map or Set, and superjson copies
      // class instances before walking them: a cycle through anything else comes back broken (measured).
      const proto = Object.getPrototypeOf(ancestors[i]) as object | null;
      if (!CYCLE_PROTOTYPES.has(proto)) {
        const kind = proto === null ? 'object' : ((proto as { constructor?: { name?: string } }).constructor?.name ?? 'object');
        return refuse(
          'cycle',
          `closes a cycle through ${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind}, which the ${serializer} serializer does not bring back intact; cycles may only pass through plain objects, arrays, Maps and Sets`,
        );
      }
    }
    return undefined;
  }

  #visitKind(value: object, proto: object | null, depth: number): Refusal | undefined {
    const carries = this.#carries;
    if (proto === Object.prototype || proto === null) return this.#visitProperties(value, depth);
    if (proto === Array.prototype) return this.#visitArray(value as unknown[], depth);
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
    // for-in reads V8's enum cache without allocating, where Object.keys and Reflect.ownKeys build
    // an array per object (bench/serializers.ts measures the walk of its typical session).
    const checkKeys = this.#checkKeys;
    let names: string[] | undefined;
    if (checkKeys) {
      const symbols = Object.getOwnPropertySymbols(value);
      if (symbols.length > 0) {
        const refusal = refuse('symbol key', 'is under a symbol key, which no serializer keeps');
        refusal.segments.push(`[${String(symbols[0])}]`);
        return refusal;
      }
      names = Object.getOwnPropertyNames(value);
    }
    // Reserved names are checked on decoding too: JSON.parse keeps "__proto__" as an own key.
    const reserved = this.#carries.reservedKeyList;
    const checkSurrogates = this.#checkStrings;
    let count = 0;
    for (const key in value) {
      count++;
      let refusal: Refusal | undefined;
      if (isReserved(reserved, key)) {
        refusal = refuse(
          `${key} key`,
          `is under a \`${key}\` key, which the ${this.#carries.serializer} serializer refuses (the library mangles it, and it is a prototype-pollution risk)`,
        );
      } else if (checkSurrogates && !isWellFormed.call(key)) {
        refusal = refuse('lone surrogate', 'is under a key with a lone surrogate, which does not survive UTF-8');
      } else {
        let child: unknown;
        if (checkKeys) {
          // Read once, through the descriptor: a getter is refused, never called. An inherited
          // key has none; the count below then differs from the own names and hiddenKey names it.
          const descriptor = getOwnPropertyDescriptor(value, key);
          if (descriptor === undefined) continue;
          if (descriptor.get !== undefined || descriptor.set !== undefined) {
            refusal = refuseAccessor();
          } else {
            child = descriptor.value;
          }
        } else {
          child = (value as Record<string, unknown>)[key];
        }
        // Dropped (JSON, documented) or carried: either way the property reads back as undefined.
        if (refusal === undefined) {
          if (child === undefined || (this.#skipPrimitives && isSkippable(child))) continue;
          refusal = this.visit(child, depth + 1);
        }
      }
      if (refusal !== undefined) {
        refusal.segments.push(propertySegment(key));
        return refusal;
      }
    }
    if (names !== undefined && names.length !== count) return hiddenKey(value, names);
    return this.#count(count);
  }

  #visitArray(value: unknown[], depth: number): Refusal | undefined {
    const length = value.length;
    const counted = this.#count(length);
    if (counted !== undefined) return counted;
    const checkKeys = this.#checkKeys;
    for (let i = 0; i < length; i++) {
      const child = value[i];
      if (this.#skipPrimitives && child !== undefined && isSkippable(child)) continue;
      let refusal: Refusal | undefined;
      if (child === undefined && !(i in value)) {
        refusal = refuse('sparse array', 'is a hole in a sparse array, which comes back as `undefined` or `null`');
      } else if (checkKeys && lookupGetter.call(value, i) !== undefined) {
        // Checked after the read (a getter ran once), but before anything is encoded; no
        // descriptor is allocated per element. A setter alone reads undefined both times.
        refusal = refuseAccessor();
      }
      refusal ??= this.visit(child, depth + 1);
      if (refusal !== undefined) {
        refusal.segments.push(`[${i}]`);
        return refusal;
      }
    }
    // Named or symbol-keyed properties on an array (arr.total = 3) are dropped by every library; no decoder makes them.
    if (this.#checkKeys && (Object.keys(value).length !== length || Object.getOwnPropertySymbols(value).length > 0)) {
      return refuse('array with named properties', 'is an array with named properties, which serializers drop');
    }
    return undefined;
  }

  #visitMap(value: Map<unknown, unknown>, depth: number): Refusal | undefined {
    const counted = this.#count(2 * value.size);
    if (counted !== undefined) return counted;
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
    const counted = this.#count(value.size);
    if (counted !== undefined) return counted;
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

  #checkDate(value: Date): Refusal | undefined {
    const carries = this.#carries;
    if (!carries.date) return refuse('Date', `is a Date, which the ${carries.serializer} serializer turns into a string`);
    return carries.invalidDate || !Number.isNaN(value.getTime())
      ? undefined
      : refuse('Invalid Date', `is an invalid Date, which the ${carries.serializer} serializer cannot store`);
  }

  #checkRegExp(value: RegExp): Refusal | undefined {
    // lastIndex is state, not value: no library keeps it.
    return value.lastIndex === 0 ? undefined : refuse('RegExp', 'is a RegExp with a non-zero lastIndex, which is not kept');
  }

  #visitError(value: Error, proto: object, depth: number): Refusal | undefined {
    const carried = this.#carries.error;
    const name = (proto as { name: string }).name;
    if (carried === false || (carried === 'base' && proto !== Error.prototype)) {
      return refuse(
        name,
        `is ${name === 'Error' ? 'an' : 'a'} ${name}, which the ${this.#carries.serializer} serializer cannot bring back equal`,
      );
    }
    for (const key of Reflect.ownKeys(value)) {
      const descriptor = getOwnPropertyDescriptor(value, key);
      // The stack is never compared (a decoded error has a new one), and engines may make it an accessor.
      if (key !== 'stack' && (descriptor?.get !== undefined || descriptor?.set !== undefined)) {
        const refusal = refuseAccessor();
        refusal.segments.push(typeof key === 'string' ? propertySegment(key) : `[${String(key)}]`);
        return refusal;
      }
      // superjson sets an own `name`; one equal to the class's reads the same.
      if (!ERROR_OWN_KEYS.has(key) && !(key === 'name' && descriptor?.value === name)) {
        return refuse(name, `is an Error with an extra property (${String(key)}), which is not kept`);
      }
    }
    // Decoders set `cause` even when there is none (new Error(m, { cause: undefined })): the same value.
    const hasCause = Object.hasOwn(value, 'cause') && value.cause !== undefined;
    if (carried === 'base' && hasCause) {
      return refuse(name, `is an Error with a cause, which the ${this.#carries.serializer} serializer does not keep`);
    }
    if (!hasCause) return undefined;
    const refusal = this.#count(1) ?? this.visit(value.cause, depth + 1);
    refusal?.segments.push('.cause');
    return refusal;
  }

  #checkTypedArray(value: object, name: string): Refusal | undefined {
    const { serializer, typedArrayBase: base } = this.#carries;
    let why: string | undefined;
    if (base !== undefined && !(value instanceof base)) {
      why = `is a ${name} from another realm (a vm context or worker), which the ${serializer} serializer would not recognise`;
    } else if (!this.#carries.typedArrays.has(name)) {
      why = `is a ${name}, which the ${serializer} serializer cannot bring back equal`;
    } else if (!this.#carries.nonFiniteInTypedArrays && (name === 'Float32Array' || name === 'Float64Array')) {
      const element = (value as Float64Array).find((n) => !Number.isFinite(n));
      if (element !== undefined) why = `is a ${name} holding ${element}, which the ${serializer} serializer turns into 0`;
    }
    if (why === undefined) return undefined;
    const refusal = refuse(name, why);
    refusal.family = 'typed array';
    return refusal;
  }
}

/** Decoding msgpack: a primitive other than a bigint needs no look (null included). */
function isSkippable(child: unknown): boolean {
  return typeof child !== 'object' ? typeof child !== 'bigint' : child === null;
}

function refuseAccessor(): Refusal {
  return refuse(
    'accessor property',
    'is an accessor property (a getter or setter), which the serializer would call again after this check',
  );
}
