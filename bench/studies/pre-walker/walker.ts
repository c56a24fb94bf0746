/**
 * The walker as it was before it read once (commit fa4eb7c, src/strict/walker.ts and decoded.ts), kept
 * verbatim but for import paths as the reference bench/studies/walker.ts measures against. Not used by
 * the package.
 */

import { CYCLE_PROTOTYPES, ERROR_OWN_KEYS, ERROR_PROTOTYPES, isWellFormed, typedArrayName } from '../../../src/strict/builtins.js';
import { compileCarries, isReserved, MAX_DEPTH, type Carries, type CompiledCarries } from '../../../src/strict/carries.js';
import { hiddenKey, propertySegment, refuse, refuseInstance, toSerializationError, type Refusal } from '../../../src/strict/refusal.js';

/**
 * Objects walked with a path stack alone before the walker also keeps a Set of every object. The
 * typical session (bench/serializers.ts) has 27; a Set per call cost 1.2 µs of its 5.9 µs walk.
 */
const SHARED_WALK_LIMIT = 2000;

/**
 * Throws {@link SerializationError} unless every value inside `value` is one `carries` brings
 * back equal (pass {@link compileCarries}' result on hot paths). Paths are built only when refusing.
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
  /** Objects already checked, once a walk with carried references gets large: a shared one is then walked once. */
  #seen: Set<object> | undefined;
  /** Objects walked so far, counted until {@link SHARED_WALK_LIMIT}. */
  #walked = 0;
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
    // A Date holds no values: no cycle can pass through it, so it skips the path bookkeeping.
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === Date.prototype) return this.#checkDate(value as Date);
    const ancestors = this.#ancestors;
    const at = ancestors.indexOf(value);
    if (at !== -1) return this.#checkCycle(at);
    // A shared object is walked again each time it appears; past SHARED_WALK_LIMIT objects (a
    // DAG of shared references can make that exponential), switch to remembering every object.
    const seen = this.#seen;
    if (seen !== undefined) {
      if (seen.has(value)) return undefined;
      seen.add(value);
    } else if (this.#carries.references && ++this.#walked > SHARED_WALK_LIMIT) {
      this.#seen = new Set(ancestors);
    }
    ancestors.push(value);
    const refusal = this.#visitKind(value, proto, depth);
    ancestors.pop();
    return refusal;
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
    // for-in reads V8's enum cache without allocating: 0.3 µs over the typical session's 23 objects,
    // against 1.5 µs for Object.keys and 6.8 µs for Reflect.ownKeys (bench/serializers.ts session).
    let names: string[] | undefined;
    if (this.#checkKeys) {
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
        const child = (value as Record<string, unknown>)[key];
        // Dropped (JSON, documented) or carried: either way the property reads back as undefined.
        if (child === undefined || (this.#skipPrimitives && (typeof child !== 'object' || child === null))) continue;
        refusal = this.visit(child, depth + 1);
      }
      if (refusal !== undefined) {
        refusal.segments.push(propertySegment(key));
        return refusal;
      }
    }
    return names === undefined || names.length === count ? undefined : hiddenKey(value, names);
  }

  #visitArray(value: unknown[], depth: number): Refusal | undefined {
    const length = value.length;
    for (let i = 0; i < length; i++) {
      const child = value[i];
      if (this.#skipPrimitives && typeof child !== 'object' && child !== undefined) continue;
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
    // Named or symbol-keyed properties on an array (arr.total = 3) are dropped by every library; no decoder makes them.
    if (this.#checkKeys && (Object.keys(value).length !== length || Object.getOwnPropertySymbols(value).length > 0)) {
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
    // Decoders set `cause` even when there is none (new Error(m, { cause: undefined })): the same value.
    const hasCause = Object.hasOwn(value, 'cause') && value.cause !== undefined;
    if (carried === 'base' && hasCause) {
      return refuse(name, `is an Error with a cause, which the ${this.#carries.serializer} serializer does not keep`);
    }
    for (const key of Reflect.ownKeys(value)) {
      // superjson sets an own `name`; one equal to the class's reads the same.
      if (!ERROR_OWN_KEYS.has(key) && !(key === 'name' && value.name === name)) {
        return refuse(name, `is an Error with an extra property (${String(key)}), which is not kept`);
      }
    }
    if (!hasCause) return undefined;
    const refusal = this.visit(value.cause, depth + 1);
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

/** fa4eb7c's src/strict/decoded.ts: the decode-side check through the same walker. */
export function assertDecoded(value: unknown, carries: Carries, maxDepth: number, factory: string): void {
  const refusal = new Walker(compileCarries(carries), maxDepth, false).visit(value, 1);
  if (refusal === undefined) return;
  const error = toSerializationError(refusal, carries.serializer);
  throw new TypeError(`koa-session-kit: stored session data holds what ${factory} never writes (${error.type} at \`${error.path}\`)`, {
    cause: error,
  });
}
