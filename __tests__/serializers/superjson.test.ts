import { describe, expect, it } from '@jest/globals';
import { SuperJSON } from 'superjson';
import { superjsonSerializer } from '../../serializers/superjson.js';
import { assertEqualOrRefused, refusalOf, roundTrip } from '../helpers/serializer-cases.js';
import { sameAfterRoundTrip } from '../helpers/serializer-equality.js';

const rules = { nullPrototypeBecomesPlain: true, undefinedPropertyDropped: false, keepsIdentity: true };
const superjson = superjsonSerializer();

class Money {
  constructor(
    public amount: number,
    public currency: string,
  ) {}
}

class Decimal {
  constructor(readonly text: string) {}
}

function expectSame(value: unknown, serializer = superjson): unknown {
  const back = roundTrip(serializer, value);
  expect(sameAfterRoundTrip(value, back, rules)).toBe(true);
  return back;
}

describe('superjsonSerializer()', () => {
  it('is tagged superjson and writes superjson JSON as UTF-8', () => {
    expect(superjson.name).toBe('superjson');
    const text = new TextDecoder().decode(superjson.serialize({ at: new Date(0) }));
    expect(JSON.parse(text)).toEqual({ json: { at: '1970-01-01T00:00:00.000Z' }, meta: { values: { at: ['Date'] }, v: 1 } });
  });

  it.each<[string, unknown]>([
    ['Dates', { user: { lastSeen: new Date(1_700_000_000_123) }, dates: [new Date(-1), new Date(8.64e15)] }],
    [
      'Maps with object keys',
      {
        m: new Map<unknown, unknown>([
          [{ k: 1 }, 'a'],
          ['b', new Set([1])],
        ]),
      },
    ],
    ['Sets', { tags: new Set(['a', 'b', 3]) }],
    ['bigints', { id: 12345678901234567890n, neg: -1n }],
    ['undefined, in objects and arrays', { a: undefined, list: [undefined, 1] }],
    ['NaN, the infinities and -0', { n: Number.NaN, p: Number.POSITIVE_INFINITY, m: Number.NEGATIVE_INFINITY, z: -0 }],
    ['RegExps', { re: /a+b/giu }],
    ['an Error', { e: new Error('boom') }],
    ['typed arrays of numbers', { u8: new Uint8Array([1, 255]), f64: new Float64Array([1.5, -0]), i32: new Int32Array([-7]) }],
    ['URLs', { home: new URL('https://example.com/a?b=1#c') }],
    ['lone surrogates', { s: '\ud800', '\udfff': 1 }],
  ])('carries %s exactly', (_label, value) => {
    expectSame(value);
  });

  it('carries undefined as the whole value', () => {
    expect(roundTrip(superjson, undefined)).toBeUndefined();
  });

  it('keeps -0 as -0', () => {
    expect(Object.is((roundTrip(superjson, { z: -0 }) as { z: number }).z, -0)).toBe(true);
  });

  it('keeps cycles and shared references', () => {
    const shared = { n: 1 };
    const value: Record<string, unknown> = { a: shared, b: [shared] };
    value.self = value;
    const back = expectSame(value) as { a: object; b: object[]; self: unknown };
    expect(back.self).toBe(back);
    expect(back.b[0]).toBe(back.a);
  });

  it('returns null-prototype objects as plain objects (documented)', () => {
    const back = roundTrip(superjson, { o: Object.assign(Object.create(null) as object, { a: 1 }) }) as { o: object };
    expect(Object.getPrototypeOf(back.o)).toBe(Object.prototype);
  });

  it('carries classes registered on the given instance, with their prototype', () => {
    const instance = new SuperJSON();
    instance.registerClass(Money, 'Money');
    const serializer = superjsonSerializer({ instance });
    const back = expectSame({ price: new Money(5, 'EUR') }, serializer) as { price: Money };
    expect(back.price).toBeInstanceOf(Money);
  });

  it('carries values of a custom transformer registered on the given instance', () => {
    const instance = new SuperJSON();
    instance.registerCustom<Decimal, string>(
      { isApplicable: (v): v is Decimal => v instanceof Decimal, serialize: (v) => v.text, deserialize: (v) => new Decimal(v) },
      'Decimal',
    );
    const back = roundTrip(superjsonSerializer({ instance }), { total: new Decimal('1.10') }) as { total: Decimal };
    expect(back.total).toBeInstanceOf(Decimal);
    expect(back.total.text).toBe('1.10');
  });

  it('does not see classes registered on the global SuperJSON or on another instance', () => {
    SuperJSON.registerClass(Money, 'GlobalMoney');
    const other = new SuperJSON();
    other.registerClass(Money, 'Money');
    const error = refusalOf(superjsonSerializer(), { price: new Money(1, 'EUR') });
    expect(error.path).toBe('price');
    expect(error.type).toBe('Money');
    expect(error.suggestion).toContain('registered');
  });

  it('refuses a registered class instance with properties outside its allowProps', () => {
    const instance = new SuperJSON();
    instance.registerClass(Money, { identifier: 'Money', allowProps: ['amount'] });
    expect(refusalOf(superjsonSerializer({ instance }), { price: new Money(1, 'EUR') }).path).toBe('price');
  });

  it('refuses a subclass of a registered class', () => {
    class Coins extends Money {}
    const instance = new SuperJSON();
    instance.registerClass(Money, 'Money');
    expect(refusalOf(superjsonSerializer({ instance }), { c: new Coins(1, 'EUR') }).type).toBe('Coins');
  });

  const withProto = JSON.parse('{"a":{"__proto__":{"x":1}}}') as unknown;
  it.each<[string, unknown, string, string, string | undefined]>([
    ['a function', { cart: { onAdd: () => 1 } }, 'cart.onAdd', 'function', undefined],
    ['a symbol (superjson drops it)', { s: Symbol('x') }, 's', 'symbol', undefined],
    ['an invalid Date (superjson makes it null)', { d: new Date(Number.NaN) }, 'd', 'Invalid Date', 'msgpackSerializer()'],
    ['a BigInt64Array (superjson throws)', { b: new BigInt64Array(1) }, 'b', 'BigInt64Array', 'msgpackSerializer()'],
    [
      'a Float64Array holding NaN (superjson makes it 0)',
      { f: new Float64Array([1, Number.NaN]) },
      'f',
      'Float64Array',
      'msgpackSerializer()',
    ],
    ['a TypeError (it comes back as Error)', { e: new TypeError('x') }, 'e', 'TypeError', 'msgpackSerializer()'],
    ['an Error with a cause', { e: new Error('x', { cause: new Date(0) }) }, 'e', 'Error', 'msgpackSerializer()'],
    [
      'an unregistered class instance',
      { items: [new Money(1, 'EUR')] },
      'items[0]',
      'Money',
      'a SuperJSON instance with the class registered (superjsonSerializer({ instance }))',
    ],
    ['a boxed primitive', { b: Object(true) as unknown }, 'b', 'boxed Boolean', undefined],
    ['a sparse array (superjson makes holes null)', { list: [1, , 2] }, 'list[1]', 'sparse array', undefined],
    ['a __proto__ key', withProto, 'a.__proto__', '__proto__ key', undefined],
    ['a constructor key', { user: { constructor: 'x' } }, 'user.constructor', 'constructor key', undefined],
    ['a prototype key', { m: new Map([['k', { prototype: 1 }]]) }, 'm.get("k").prototype', 'prototype key', undefined],
    ['a symbol inside a Set', { s: new Set([1, Symbol('x')]) }, 's[Set member 1]', 'symbol', undefined],
    ['an ArrayBuffer (superjson makes it {})', { b: new ArrayBuffer(1) }, 'b', 'ArrayBuffer', 'msgpackSerializer()'],
  ])('refuses %s with its path', (_label, value, path, type, suggestion) => {
    const error = refusalOf(superjson, value);
    expect([error.path, error.type, error.serializer, error.suggestion]).toEqual([path, type, 'superjson', suggestion]);
  });

  it('refuses nesting past maxDepth', () => {
    const serializer = superjsonSerializer({ maxDepth: 3 });
    expectSame({ a: { b: { c: 1 } } }, serializer);
    expect(refusalOf(serializer, { a: { b: { c: {} } } }).path).toBe('a.b.c');
  });

  it('rejects options it does not know and an instance that is not SuperJSON', () => {
    expect(() => superjsonSerializer({ instanse: new SuperJSON() } as never)).toThrow(
      /`instanse` is not a serializer option; did you mean `instance`\?/,
    );
    expect(() => superjsonSerializer({ instance: {} as SuperJSON })).toThrow(TypeError);
    expect(() => superjsonSerializer({ maxDepth: 0 })).toThrow(RangeError);
  });

  it('either brings any value back equal or throws SerializationError (property)', () => {
    assertEqualOrRefused(superjson, rules);
  });
});

describe('superjsonSerializer() reading what it wrote', () => {
  it('encodes an Error it decoded again (superjson adds an own name and cause: undefined)', () => {
    const once = roundTrip(superjson, { e: new Error('boom') });
    const twice = roundTrip(superjson, once) as { e: Error };
    expect(twice.e).toBeInstanceOf(Error);
    expect(twice.e.message).toBe('boom');
  });

  it('rejects stored bytes that decode to an invalid Date', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ json: { at: 'garbage' }, meta: { values: { at: ['Date'] } } }));
    expect(() => superjson.deserialize(bytes)).toThrow(/Invalid Date at `at`/);
  });
});
