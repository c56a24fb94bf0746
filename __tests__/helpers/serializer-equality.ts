/** Strict deep equality for serializer round trips (prototypes, identity, holes), and the fast-check values to feed them. */

import fc from 'fast-check';

/** The normalisations a serializer documents; everything else must come back exactly. */
export interface RoundTripRules {
  /** A null-prototype object may come back as a plain one. */
  nullPrototypeBecomesPlain: boolean;
  /** An object property holding `undefined` may come back absent. */
  undefinedPropertyDropped: boolean;
  /** Shared references and cycles must keep their identity (false: copies are fine, cycles are never accepted). */
  keepsIdentity: boolean;
}

/**
 * True when `actual` is what `expected` should come back as: same prototypes, same own keys,
 * same Date times, Map/Set entries in order, typed-array contents, RegExp source and flags,
 * Error name/message/cause, array holes, and (with `keepsIdentity`) the same sharing of objects.
 * `-0` and `0` are treated as equal, as the issue allows.
 */
export function sameAfterRoundTrip(expected: unknown, actual: unknown, rules: RoundTripRules): boolean {
  return compare(expected, actual, rules, new Map());
}

function compare(a: unknown, b: unknown, rules: RoundTripRules, pairs: Map<object, object>): boolean {
  if (typeof a !== 'object' || a === null) {
    if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
    return Object.is(a, b);
  }
  if (typeof b !== 'object' || b === null) return false;
  const known = pairs.get(a);
  if (known !== undefined && rules.keepsIdentity) return known === b;
  pairs.set(a, b);
  const protoA = Object.getPrototypeOf(a) as object | null;
  const protoB = Object.getPrototypeOf(b) as object | null;
  const expectedProto = protoA === null && rules.nullPrototypeBecomesPlain ? Object.prototype : protoA;
  if (expectedProto !== protoB) return false;
  if (a instanceof ArrayBuffer) return compareList([...new Uint8Array(a)], [...new Uint8Array(b as ArrayBuffer)], rules, pairs);
  if (a instanceof DataView) {
    const vb = b as DataView;
    return compareList(
      [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)],
      [...new Uint8Array(vb.buffer, vb.byteOffset, vb.byteLength)],
      rules,
      pairs,
    );
  }
  if (a instanceof URL) return a.href === (b as URL).href;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (a instanceof RegExp)
    return a.source === (b as RegExp).source && a.flags === (b as RegExp).flags && (b as RegExp).lastIndex === a.lastIndex;
  if (a instanceof Map) return compareList([...a], [...(b as Map<unknown, unknown>)], rules, pairs);
  if (a instanceof Set) return compareList([...a], [...(b as Set<unknown>)], rules, pairs);
  if (ArrayBuffer.isView(a) && !(a instanceof DataView)) {
    return compareList([...(a as Uint8Array)], [...(b as Uint8Array)], rules, pairs);
  }
  if (a instanceof Error) {
    const eb = b as Error;
    // An absent cause and `cause: undefined` read the same (msgpackr always passes { cause }).
    return a.name === eb.name && a.message === eb.message && compare(a.cause, eb.cause, rules, pairs);
  }
  if (protoA !== Object.prototype && protoA !== null && protoA !== Array.prototype) {
    // A registered class instance or a boxed value: compare its own data below, plus the boxed primitive.
    if (typeof (a as { valueOf?: unknown }).valueOf === 'function' && !Object.is(a.valueOf(), (b as object).valueOf()) && a.valueOf() !== a)
      return false;
  }
  if (Array.isArray(a) && a.length !== (b as unknown[]).length) return false;
  const keysA = Reflect.ownKeys(a).filter(
    (key) => !(rules.undefinedPropertyDropped && !Array.isArray(a) && (a as Record<PropertyKey, unknown>)[key] === undefined),
  );
  const keysB = Reflect.ownKeys(b);
  if (keysA.length !== keysB.length) return false;
  for (const key of keysA) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!compare((a as Record<PropertyKey, unknown>)[key], (b as Record<PropertyKey, unknown>)[key], rules, pairs)) return false;
  }
  return true;
}

function compareList(a: unknown[], b: unknown[], rules: RoundTripRules, pairs: Map<object, object>): boolean {
  return a.length === b.length && a.every((value, i) => compare(value, b[i], rules, pairs));
}

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

/** Leaves beyond fc.anything's defaults: things every serializer must refuse or carry exactly. */
const extraLeaves = fc.oneof(
  fc.constant(() => 1),
  fc.string().map((description) => Symbol(description)),
  fc.tuple(fc.integer(), fc.integer()).map(([x, y]) => new Point(x, y)),
  fc.string({ unit: 'binary' }).map((source) => new RegExp(source.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'gu')),
  fc.string().map((message) => new TypeError(message)),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0),
  fc.constant(new Date(Number.NaN)),
  fc.constant('\ud800 lone'),
  fc
    .string()
    .map((key) => ({ ['__proto__']: key }) as Record<string, unknown>)
    .map((o) => JSON.parse(JSON.stringify(o)) as unknown),
);

/** fc.anything with dates, maps, sets, bigint, typed arrays, null-prototype objects, boxed values, sparse arrays, any UTF-16. */
export const anySessionValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.anything({
      withDate: true,
      withMap: true,
      withSet: true,
      withBigInt: true,
      withTypedArray: true,
      withNullPrototype: true,
      withBoxedValues: true,
      withSparseArray: true,
      withObjectString: true,
      stringUnit: 'binary',
      key: fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'a b', 'x')),
      maxDepth: 4,
    }),
  },
  { weight: 1, arbitrary: fc.array(fc.oneof(extraLeaves, fc.integer()), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string(), fc.oneof(extraLeaves, fc.date())) },
  {
    weight: 1,
    arbitrary: fc.anything({ maxDepth: 2, withMap: true, withSet: true }).map((inner) => {
      const shared = { inner };
      const self: Record<string, unknown> = { a: shared, b: shared };
      if (Array.isArray(inner)) inner.push(self);
      return self;
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom('object', 'array', 'map', 'set', 'error', 'class').map(cycleThrough) },
);

/** A value whose cycle passes through one container of `kind`. */
function cycleThrough(kind: string): unknown {
  const root: Record<string, unknown> = {};
  const containers: Record<string, () => unknown> = {
    object: () => ({ back: root }),
    array: () => [root],
    map: () => new Map([['back', root]]),
    set: () => new Set([root]),
    error: () => new Error('loop', { cause: root }),
    class: () => Object.assign(new Point(0, 0), { back: root }),
  };
  root.via = containers[kind]?.();
  return root;
}
