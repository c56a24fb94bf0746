/** The one strictness walker: refuses, before encoding, every value a serializer would not bring back equal. */

import { types } from 'node:util';
import { ERROR_PROTOTYPES, isWellFormed, typedArrayName } from './builtins.js';
import { isReserved, MAX_SESSION_VALUES, type CompiledCarries } from './carries.js';
import {
  checkBigint,
  checkCycle,
  checkDate,
  checkError,
  checkRegExp,
  checkTypedArray,
  hasCause,
  hasGetter,
  isSkippable,
  refuseAccessor,
  refuseProxy,
  refuseTooMany,
} from './checks.js';
import {
  hiddenKey,
  propertySegment,
  refuse,
  refuseInherited,
  refuseInstance,
  refuseLoneSurrogate,
  refuseNonFinite,
  refuseReservedKey,
  refuseSymbolKey,
  refuseUndefined,
  type Refusal,
} from './refusal.js';

/**
 * Objects walked with a path stack alone before the walker also keeps a Map of every object. The
 * typical session (bench/studies/serializers.ts) has 27, and a Map per call would be a large share of its walk.
 */
const SHARED_WALK_LIMIT = 2000;

const { getOwnPropertyDescriptor } = Object;
const { isProxy } = types;

/**
 * Walks one value against one serializer's capabilities; made per call (it holds the path).
 * {@link assertCarries} runs it before encoding, {@link assertDecoded} after decoding.
 */
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
        return !this.#checkStrings || isWellFormed.call(value) ? undefined : refuseLoneSurrogate('a string');
      case 'number':
        return Number.isFinite(value) || this.#carries.nonFiniteNumbers ? undefined : refuseNonFinite(value, this.#carries.serializer);
      case 'boolean':
        return undefined;
      case 'undefined':
        return this.#carries.undefinedValue ? undefined : refuseUndefined(this.#carries.serializer);
      case 'bigint':
        return this.#carries.bigint ? checkBigint(value) : refuse('bigint');
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
    if (this.#checkKeys && isProxy(value)) return refuseProxy();
    // A Date holds no values: no cycle can pass through it, so it skips the path bookkeeping.
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === Date.prototype) return checkDate(value as Date, this.#carries);
    const ancestors = this.#ancestors;
    const at = ancestors.indexOf(value);
    if (at !== -1) return checkCycle(ancestors, at, this.#carries);
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
    return this.#values <= this.#maxValues ? undefined : refuseTooMany(this.#maxValues, this.#carries.serializer);
  }

  #visitKind(value: object, proto: object | null, depth: number): Refusal | undefined {
    const carries = this.#carries;
    if (proto === Object.prototype || proto === null) return this.#visitProperties(value, depth);
    if (proto === Array.prototype) return this.#visitArray(value as unknown[], depth);
    if (proto === Map.prototype) return carries.map ? this.#visitMap(value as Map<unknown, unknown>, depth) : refuse('Map');
    if (proto === Set.prototype) return carries.set ? this.#visitSet(value as Set<unknown>, depth) : refuse('Set');
    if (proto === RegExp.prototype) return carries.regexp ? checkRegExp(value as RegExp) : refuse('RegExp');
    if (ERROR_PROTOTYPES.has(proto)) return this.#visitError(value as Error, proto, depth);
    if (proto === ArrayBuffer.prototype || proto === DataView.prototype) {
      return carries.binary ? undefined : refuse(proto === ArrayBuffer.prototype ? 'ArrayBuffer' : 'DataView');
    }
    const typedArray = typedArrayName(value, proto);
    if (typedArray !== undefined) return checkTypedArray(value, typedArray, carries);
    const registered = carries.instance?.(value);
    if (registered === 'opaque') return undefined;
    if (registered === 'walk') return this.#visitProperties(value, depth);
    return refuseInstance(proto, carries.serializer);
  }

  #visitProperties(value: object, depth: number): Refusal | undefined {
    // for-in reads V8's enum cache without allocating, where Object.keys and Reflect.ownKeys build
    // an array per object (bench/studies/serializers.ts measures the walk of its typical session).
    const checkKeys = this.#checkKeys;
    let names: string[] | undefined;
    if (checkKeys) {
      const symbols = Object.getOwnPropertySymbols(value);
      // symbols[0] exists: the length was just checked.
      if (symbols.length > 0) return refuseSymbolKey(symbols[0] as symbol);
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
        refusal = refuseReservedKey(key, this.#carries.serializer);
      } else if (checkSurrogates && !isWellFormed.call(key)) {
        refusal = refuseLoneSurrogate('a key');
      } else {
        let child: unknown;
        if (checkKeys) {
          // Read once, through the descriptor: a getter is refused, never called. An inherited
          // key has no own descriptor; an accessor's has no `writable`.
          const descriptor = getOwnPropertyDescriptor(value, key);
          if (descriptor === undefined) {
            refusal = refuseInherited();
          } else if (descriptor.writable === undefined) {
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
      // Looked for before the read, so a getter never runs; no descriptor is allocated per
      // element. A setter alone reads undefined every time. Decoders make no accessors.
      if (checkKeys && hasGetter(value, i)) {
        const refusal = refuseAccessor();
        refusal.segments.push(`[${i}]`);
        return refusal;
      }
      const child = value[i];
      if (this.#skipPrimitives && child !== undefined && isSkippable(child)) continue;
      let refusal: Refusal | undefined;
      if (child === undefined && !(i in value)) {
        refusal = refuse('sparse array', 'is a hole in a sparse array, which comes back as `undefined` or `null`');
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

  #visitError(value: Error, proto: object, depth: number): Refusal | undefined {
    const checked = checkError(value, proto, this.#carries);
    if (checked !== undefined || !hasCause(value)) return checked;
    const refusal = this.#count(1) ?? this.visit(value.cause, depth + 1);
    refusal?.segments.push('.cause');
    return refusal;
  }
}
