/** The walker's checks that recurse into nothing (bigints, Dates, RegExps, typed arrays, Errors, cycles) and its refusals of what cannot be read once. */

import { CYCLE_PROTOTYPES, ERROR_OWN_KEYS } from './builtins.js';
import { MAX_BIGINT_DIGITS, type CompiledCarries } from './carries.js';
import { propertySegment, refuse, type Refusal } from './refusal.js';

/** The smallest bigint magnitude with more than {@link MAX_BIGINT_DIGITS} decimal digits. */
const BIGINT_BOUND = 10n ** BigInt(MAX_BIGINT_DIGITS);

const { getOwnPropertyDescriptor } = Object;
/** Annex B's `__lookupGetter__`: a key's getter, own or inherited, without allocating a descriptor. */
const lookupGetter = (Object.prototype as unknown as { __lookupGetter__: (this: object, key: PropertyKey) => unknown }).__lookupGetter__;

/** A bigint a serializer carries: comparing magnitudes costs time linear in its size, printing it would not. */
export function checkBigint(value: bigint): Refusal | undefined {
  return value < BIGINT_BOUND && value > -BIGINT_BOUND
    ? undefined
    : refuse('long bigint', `is a bigint of more than ${MAX_BIGINT_DIGITS} digits, the limit for session data`);
}

export function checkDate(value: Date, carries: CompiledCarries): Refusal | undefined {
  if (!carries.date) return refuse('Date', `is a Date, which the ${carries.serializer} serializer turns into a string`);
  return carries.invalidDate || !Number.isNaN(value.getTime())
    ? undefined
    : refuse('Invalid Date', `is an invalid Date, which the ${carries.serializer} serializer cannot store`);
}

export function checkRegExp(value: RegExp): Refusal | undefined {
  // lastIndex is state, not value: no library keeps it.
  return value.lastIndex === 0 ? undefined : refuse('RegExp', 'is a RegExp with a non-zero lastIndex, which is not kept');
}

export function checkTypedArray(value: object, name: string, carries: CompiledCarries): Refusal | undefined {
  const { serializer, typedArrayBase: base } = carries;
  let why: string | undefined;
  if (base !== undefined && !(value instanceof base)) {
    why = `is a ${name} from another realm (a vm context or worker), which the ${serializer} serializer would not recognise`;
  } else if (!carries.typedArrays.has(name)) {
    why = `is a ${name}, which the ${serializer} serializer cannot bring back equal`;
  } else if (!carries.nonFiniteInTypedArrays && (name === 'Float32Array' || name === 'Float64Array')) {
    const element = (value as Float64Array).find((n) => !Number.isFinite(n));
    if (element !== undefined) why = `is a ${name} holding ${element}, which the ${serializer} serializer turns into 0`;
  }
  if (why === undefined) return undefined;
  const refusal = refuse(name, why);
  refusal.family = 'typed array';
  return refusal;
}

/**
 * An Error, all but its cause: a class the serializer carries, only message, stack, cause and a
 * `name` equal to the class's as own keys, none of them an accessor, and a cause only where kept.
 */
export function checkError(value: Error, proto: object, carries: CompiledCarries): Refusal | undefined {
  const { error: carried, serializer } = carries;
  const name = (proto as { name: string }).name;
  if (carried === false || (carried === 'base' && proto !== Error.prototype)) {
    return refuse(name, `is ${name === 'Error' ? 'an' : 'a'} ${name}, which the ${serializer} serializer cannot bring back equal`);
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
  return carried === 'base' && hasCause(value)
    ? refuse(name, `is an Error with a cause, which the ${serializer} serializer does not keep`)
    : undefined;
}

/** Decoders set `cause` even when there is none (new Error(m, { cause: undefined })): the same value. */
export function hasCause(value: Error): boolean {
  return Object.hasOwn(value, 'cause') && value.cause !== undefined;
}

/** A back reference to `ancestors[at]`: carried only when every object on the loop is a plain container. */
export function checkCycle(ancestors: readonly object[], at: number, carries: CompiledCarries): Refusal | undefined {
  const serializer = carries.serializer;
  if (!carries.references) {
    return refuse('cycle', `refers back to one of its own containers (a cycle), which the ${serializer} serializer cannot store`);
  }
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

/** Decoding msgpack: a primitive other than a bigint needs no look (null included). */
export function isSkippable(child: unknown): boolean {
  return typeof child !== 'object' ? typeof child !== 'bigint' : child === null;
}

/** A getter or setter: the encoder would run it again after the walk, and it may answer differently. */
export function refuseAccessor(): Refusal {
  return refuse(
    'accessor property',
    'is an accessor property (a getter or setter), which the serializer would call again after this check',
  );
}

/** Whether an array element is a getter; a setter alone reads undefined every time, so it is left alone. */
export function hasGetter(value: unknown[], index: number): boolean {
  return lookupGetter.call(value, index) !== undefined;
}

/** Checked before anything else: Object.getPrototypeOf and every read of a Proxy run its traps. */
export function refuseProxy(): Refusal {
  return refuse('Proxy', 'is a Proxy, whose traps could answer the serializer differently from this check');
}

export function refuseTooMany(limit: number, serializer: string): Refusal {
  return refuse(
    'too many values',
    `brings the session data past ${limit} values in all (a shared object counts each time it appears), the limit under the ${serializer} serializer`,
  );
}
