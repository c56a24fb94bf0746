import { describe, expect, it } from '@jest/globals';
import { runInNewContext } from 'node:vm';
import { msgpackSerializer } from '../../serializers/msgpack.js';
import { assertEqualOrRefused, refusalOf, roundTrip } from '../helpers/serializer-cases.js';
import { sameAfterRoundTrip } from '../helpers/serializer-equality.js';

const rules = { nullPrototypeBecomesPlain: true, undefinedPropertyDropped: false, keepsIdentity: true };
const msgpack = msgpackSerializer();

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

function expectSame(value: unknown, serializer = msgpack): unknown {
  const back = roundTrip(serializer, value);
  expect(sameAfterRoundTrip(value, back, rules)).toBe(true);
  return back;
}

describe('msgpackSerializer()', () => {
  it('is tagged msgpack and returns a plain Uint8Array, never a Buffer or base64', () => {
    expect(msgpack.name).toBe('msgpack');
    const bytes = msgpack.serialize({ a: 1 });
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect(bytes[0]).not.toBe('{'.charCodeAt(0));
  });

  it.each<[string, unknown]>([
    ['Dates, before 1970 and invalid ones too', { at: new Date(1_700_000_000_123), old: new Date(-1e13), bad: new Date(Number.NaN) }],
    [
      'Maps with object keys',
      {
        m: new Map<unknown, unknown>([
          [{ k: 1 }, 'a'],
          ['b', new Set([1])],
        ]),
        empty: new Map(),
      },
    ],
    ['Sets', { tags: new Set(['a', 2, null]) }],
    ['bigints of any size', { small: 1n, neg: -5n, u64: 2n ** 63n + 5n, huge: -(2n ** 200n) }],
    ['numbers as numbers', { big: 2 ** 53, n40: -(2 ** 40), f: 0.1, half: 1.5, max: Number.MAX_VALUE, tiny: Number.MIN_VALUE }],
    ['undefined, in objects and arrays', { a: undefined, list: [undefined, 1] }],
    ['NaN and the infinities', { n: Number.NaN, p: Number.POSITIVE_INFINITY, m: Number.NEGATIVE_INFINITY }],
    ['RegExps', { re: /a+\sb/giu }],
    [
      'Errors and built-in subclasses with their cause',
      { e: new TypeError('boom', { cause: { at: new Date(1) } }), r: new RangeError('r') },
    ],
    ['ArrayBuffers and DataViews', { buf: new Uint8Array([1, 2, 3]).buffer, dv: new DataView(new Uint8Array([9, 8]).buffer) }],
    ['keys named constructor and prototype', { constructor: { prototype: 1 } }],
    ['non-ASCII strings, long and short', { s: 'Zoë 😀', long: 'ü€😀'.repeat(500) }],
  ])('carries %s exactly', (_label, value) => {
    expectSame(value);
  });

  it('carries typed arrays of every kind, views included', () => {
    // jest gives tests its outer realm's Uint8Array but its own Float32Array & co.; msgpackr
    // recognises typed arrays of the outer realm, so these are made there (structuredClone is the
    // outer realm's) and compared by constructor name and contents.
    const arrays = [
      new Uint8Array([1, 255]),
      new Float32Array([Number.NaN, 1.5]),
      new Float64Array([-0, 1e300]),
      new BigInt64Array([-1n]),
      new BigUint64Array([2n ** 64n - 1n]),
      new Int8Array([-128]),
      new Uint8ClampedArray([7]),
      new Int16Array([-2]),
      new Uint16Array([2]),
      new Int32Array([-3]),
      new Uint32Array([3]),
      new Uint16Array(new ArrayBuffer(8), 2, 2),
    ].map((array) => structuredClone(array));
    const back = roundTrip(msgpack, { arrays }) as { arrays: typeof arrays };
    expect(back.arrays.map((array) => array.constructor.name)).toEqual(arrays.map((array) => array.constructor.name));
    back.arrays.forEach((array, i) => expect([...array]).toEqual([...(arrays[i] ?? [])]));
  });

  it('refuses a typed array from another realm, which msgpackr would pack as a plain object', () => {
    // A fresh vm context is a realm apart from both jest's test realm and msgpackr's.
    const foreign = runInNewContext('new Int32Array([1])') as Int32Array;
    expect(Object.getPrototypeOf(foreign)).not.toBe(Object.getPrototypeOf(structuredClone(foreign)));
    const error = refusalOf(msgpack, { list: [foreign] });
    expect([error.path, error.type, error.serializer]).toEqual(['list[0]', 'Int32Array', 'msgpack']);
    expect(error.message).toContain('another realm');
  });

  it('keeps cycles and shared references through objects, arrays, Maps and Sets', () => {
    const shared = { n: 1 };
    const map = new Map<string, unknown>();
    const set = new Set<unknown>();
    const value: Record<string, unknown> = { a: shared, b: [shared], map, set };
    value.self = value;
    map.set('me', map);
    set.add(set);
    const back = expectSame(value) as { self: unknown; a: object; b: object[]; map: Map<string, unknown>; set: Set<unknown> };
    expect(back.self).toBe(back);
    expect(back.b[0]).toBe(back.a);
    expect(back.map.get('me')).toBe(back.map);
    expect([...back.set][0]).toBe(back.set);
  });

  it('turns -0 into 0 and null-prototype objects into plain ones (documented)', () => {
    const back = roundTrip(msgpack, { z: -0, o: Object.create(null) as object }) as { z: number; o: object };
    expect(Object.is(back.z, 0)).toBe(true);
    expect(Object.getPrototypeOf(back.o)).toBe(Object.prototype);
  });

  it('decodes each message on its own (no record structures shared between calls)', () => {
    msgpack.serialize({ a: 1, b: 2 });
    const second = msgpack.serialize({ a: 3, b: 4 });
    expect(msgpackSerializer().deserialize(second)).toEqual({ a: 3, b: 4 });
  });

  const withProto = JSON.parse('{"user":{"__proto__":{"admin":true}}}') as unknown;
  const errorWithProp = Object.assign(new Error('x'), { status: 404 });
  it.each<[string, unknown, string, string, string | undefined]>([
    ['a lone surrogate (UTF-8 makes it U+FFFD)', { name: 'a\ud800' }, 'name', 'lone surrogate', 'jsonSerializer()'],
    ['a key with a lone surrogate', { o: { '\udc00': 1 } }, 'o["\\udc00"]', 'lone surrogate', 'jsonSerializer()'],
    ['a __proto__ key (msgpackr renames it)', withProto, 'user.__proto__', '__proto__ key', undefined],
    [
      'a URL (msgpackr makes it a string)',
      { home: new URL('https://example.com/') },
      'home',
      'URL',
      'superjsonSerializer({ instance }) with the class registered on that instance',
    ],
    [
      'a class instance (msgpackr makes it plain)',
      { p: [new Point(1, 2)] },
      'p[0]',
      'Point',
      'superjsonSerializer({ instance }) with the class registered on that instance',
    ],
    [
      'a Node Buffer (it comes back as a view)',
      { b: Buffer.from([1]) },
      'b',
      'Buffer',
      'superjsonSerializer({ instance }) with the class registered on that instance',
    ],
    ['a boxed primitive', { s: Object('x') as unknown }, 's', 'boxed String', undefined],
    ['a sparse array', { list: [, 1] }, 'list[0]', 'sparse array', undefined],
    ['a function', { m: new Map([['cb', () => 1]]) }, 'm.get("cb")', 'function', undefined],
    ['a symbol (msgpackr throws a bare Error)', { s: Symbol('x') }, 's', 'symbol', undefined],
    [
      'an AggregateError',
      { e: new AggregateError([], 'x') },
      'e',
      'AggregateError',
      'superjsonSerializer({ instance }) with the class registered on that instance',
    ],
    ['an Error with an extra property', { e: errorWithProp }, 'e', 'Error', undefined],
    ['a bad value in an Error cause', { e: new Error('x', { cause: () => 1 }) }, 'e.cause', 'function', undefined],
    ['a RegExp with a lastIndex', { re: Object.assign(/x/g, { lastIndex: 2 }) }, 're', 'RegExp', undefined],
  ])('refuses %s with its path', (_label, value, path, type, suggestion) => {
    const error = refusalOf(msgpack, value);
    expect([error.path, error.type, error.serializer]).toEqual([path, type, 'msgpack']);
    if (suggestion !== undefined) expect(error.suggestion).toBe(suggestion);
  });

  it('refuses nesting past maxDepth, counting Maps, Sets and arrays', () => {
    const serializer = msgpackSerializer({ maxDepth: 3 });
    expectSame({ m: new Map([['k', [1]]]) }, serializer);
    expect(refusalOf(serializer, { m: new Map([['k', [new Set()]]]) }).path).toBe('m.get("k")[0]');
  });

  it('rejects unknown options and a maxDepth out of range', () => {
    expect(() => msgpackSerializer({ structuredClone: false } as never)).toThrow(TypeError);
    expect(() => msgpackSerializer({ maxDepth: 1001 })).toThrow(RangeError);
    expect(() => msgpackSerializer({ maxDepth: 2.5 })).toThrow(TypeError);
  });

  it('either brings any value back equal or throws SerializationError (property)', () => {
    assertEqualOrRefused(msgpack, rules);
  });
});

describe('msgpackSerializer() depth limit', () => {
  it('refuses a Date nested past maxDepth, though Dates are carried and walked on a shorter path', () => {
    let deep: Record<string, unknown> = { at: new Date(0) };
    for (let i = 0; i < 3; i++) deep = { deep };
    expect(() => msgpackSerializer({ maxDepth: 4 }).serialize(deep)).toThrow('nests deeper than 4 levels');
    expect(() => msgpackSerializer({ maxDepth: 5 }).serialize(deep)).not.toThrow();
  });
});
