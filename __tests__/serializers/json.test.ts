import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { jsonSerializer } from '../../serializers/json.js';
import { SerializationError } from '../../src/errors.js';
import { MAX_DEPTH } from '../../src/strict.js';
import { anySessionValue, sameAfterRoundTrip } from '../helpers/serializer-equality.js';

const json = jsonSerializer();
const utf8 = new TextEncoder();
const rules = { nullPrototypeBecomesPlain: true, undefinedPropertyDropped: true, keepsIdentity: false };

function roundTrip(value: unknown): unknown {
  return json.deserialize(json.serialize(value));
}

function refusal(value: unknown): SerializationError {
  try {
    json.serialize(value);
  } catch (error) {
    if (error instanceof SerializationError) return error;
    throw error;
  }
  throw new Error('expected a SerializationError, but the value was accepted');
}

function nested(levels: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let node = root;
  for (let i = 1; i < levels; i++) {
    const child: Record<string, unknown> = {};
    node.x = child;
    node = child;
  }
  return root;
}

describe('jsonSerializer()', () => {
  it('is tagged json and encodes UTF-8 JSON bytes', () => {
    expect(json.name).toBe('json');
    const bytes = json.serialize({ user: { name: 'Zoë' }, n: [1, 2.5, null, true] });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(bytes)).toBe('{"user":{"name":"Zoë"},"n":[1,2.5,null,true]}');
  });

  it('carries null, booleans, finite numbers, strings, arrays and plain objects exactly', () => {
    const value = { a: null, b: false, c: -12.5e300, d: '', e: 'ünï€😀', f: [[], {}, [1, 'x']], g: { h: { i: 0 } } };
    const back = roundTrip(value);
    expect(back).toStrictEqual(value);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('returns null-prototype objects as plain objects (documented)', () => {
    const value = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    const back = roundTrip({ inner: value }) as { inner: object };
    expect(Object.getPrototypeOf(back.inner)).toBe(Object.prototype);
    expect(back.inner).toStrictEqual({ a: 1 });
  });

  it('drops object properties whose value is undefined (documented)', () => {
    expect(roundTrip({ a: undefined, b: 1 })).toStrictEqual({ b: 1 });
  });

  it('turns -0 into 0 (documented)', () => {
    expect(Object.is((roundTrip({ z: -0 }) as { z: number }).z, 0)).toBe(true);
  });

  it('carries lone surrogates, which JSON.stringify escapes', () => {
    expect(roundTrip({ s: 'a\ud800b', '\udc00': 1 })).toStrictEqual({ s: 'a\ud800b', '\udc00': 1 });
  });

  it('carries keys named constructor and prototype as plain data', () => {
    const value = { constructor: { prototype: { x: 1 } } };
    const back = roundTrip(value);
    expect(sameAfterRoundTrip(value, back, rules)).toBe(true);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it(`accepts ${MAX_DEPTH} levels of nesting and refuses ${MAX_DEPTH + 1}`, () => {
    expect(roundTrip(nested(MAX_DEPTH))).toStrictEqual(nested(MAX_DEPTH));
    const error = refusal(nested(MAX_DEPTH + 1));
    expect(error.type).toBe('too deep');
    expect(error.path).toBe(Array.from({ length: MAX_DEPTH }, () => 'x').join('.'));
  });

  const cyclic: Record<string, unknown> = { list: [] };
  (cyclic.list as unknown[]).push({ back: cyclic });
  const withSymbolKey = { prefs: { [Symbol('secret')]: 1 } };
  const withProtoKey = JSON.parse('{"a":{"__proto__":{"admin":true}}}') as unknown;

  it.each<[string, unknown, string, string, string | undefined]>([
    ['a Date', { cart: { items: [1, 2, { addedAt: new Date(0) }] } }, 'cart.items[2].addedAt', 'Date', 'superjsonSerializer()'],
    ['a Map', { m: new Map([[1, 2]]) }, 'm', 'Map', 'superjsonSerializer()'],
    ['a Set', { tags: new Set(['a']) }, 'tags', 'Set', 'superjsonSerializer()'],
    ['a bigint', { id: 1n }, 'id', 'bigint', 'superjsonSerializer()'],
    ['NaN', { 'a b': { score: Number.NaN } }, '["a b"].score', 'NaN', 'superjsonSerializer()'],
    ['Infinity', { x: [Number.POSITIVE_INFINITY] }, 'x[0]', 'Infinity', 'superjsonSerializer()'],
    ['-Infinity', { x: Number.NEGATIVE_INFINITY }, 'x', '-Infinity', 'superjsonSerializer()'],
    ['a function', { onDone: () => 1 }, 'onDone', 'function', undefined],
    ['a symbol', { s: Symbol('s') }, 's', 'symbol', undefined],
    ['a symbol key', withSymbolKey, 'prefs[Symbol(secret)]', 'symbol key', undefined],
    [
      'a class instance',
      { when: new URL('https://example.com/') },
      'when',
      'URL',
      'superjsonSerializer({ instance }) with the class registered on that instance',
    ],
    ['a boxed primitive', { n: Object(3) as unknown }, 'n', 'boxed Number', undefined],
    ['a cycle', cyclic, 'list[0].back', 'cycle', 'superjsonSerializer()'],
    ['a __proto__ key', withProtoKey, 'a.__proto__', '__proto__ key', undefined],
    ['undefined inside an array', { list: [1, undefined] }, 'list[1]', 'undefined', 'superjsonSerializer()'],
    ['a hole in an array', { list: [1, , 3] }, 'list[1]', 'sparse array', undefined],
    ['a typed array', { bytes: new Uint8Array(2) }, 'bytes', 'Uint8Array', 'msgpackSerializer()'],
    ['a RegExp', { re: /x/ }, 're', 'RegExp', 'superjsonSerializer()'],
    ['an Error', { e: new Error('x') }, 'e', 'Error', 'msgpackSerializer()'],
    ['undefined as the whole session', undefined, '', 'undefined', 'superjsonSerializer()'],
  ])('refuses %s with its path, type and a serializer that carries it', (_label, value, path, type, suggestion) => {
    const error = refusal(value);
    expect(error.code).toBe('ERR_SESSION_SERIALIZATION');
    expect(error.path).toBe(path);
    expect(error.type).toBe(type);
    expect(error.serializer).toBe('json');
    expect(error.suggestion).toBe(suggestion);
    if (path !== '') expect(error.message).toContain(`\`${path}\``);
    if (suggestion !== undefined) expect(error.message).toContain(suggestion);
  });

  it('refuses an array with named properties, which JSON drops', () => {
    const list = Object.assign([1, 2], { total: 3 });
    expect(refusal({ list }).path).toBe('list');
  });

  it('refuses an array with a symbol-keyed property, which JSON drops too', () => {
    const list = Object.assign([1, 2], { [Symbol('meta')]: 3 });
    expect(refusal({ list }).path).toBe('list');
    expect(refusal({ list }).type).toBe('array with named properties');
  });

  it('refuses a non-enumerable property, which JSON skips', () => {
    const value = Object.defineProperty({}, 'hidden', { value: 1, enumerable: false });
    expect(refusal({ v: value }).path).toBe('v.hidden');
  });

  it('either brings any value back equal or throws SerializationError (property)', () => {
    fc.assert(
      fc.property(anySessionValue, (value) => {
        let bytes: Uint8Array;
        try {
          bytes = json.serialize(value);
        } catch (error) {
          return error instanceof SerializationError;
        }
        return sameAfterRoundTrip(value, json.deserialize(bytes), rules);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('jsonSerializer().deserialize(bytes)', () => {
  it.each([
    ['a top-level __proto__ key', '{"__proto__":{"polluted":true}}'],
    ['a nested __proto__ key', '{"a":[{"b":{"__proto__":{"polluted":true}}}]}'],
    ['an escaped __proto__ key', '{"\\u005f_proto__":{"polluted":true}}'],
  ])('rejects %s and pollutes nothing', (_label, text) => {
    expect(() => json.deserialize(utf8.encode(text))).toThrow(/jsonSerializer never writes \(__proto__ key at/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads constructor.prototype payloads as inert data', () => {
    const back = json.deserialize(utf8.encode('{"constructor":{"prototype":{"polluted":true}}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['a number that parses to Infinity', utf8.encode('{"a":[1e999]}')],
    ['nesting past maxDepth', utf8.encode(`${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}`)],
    ['invalid UTF-8', new Uint8Array([0xff, 0xfe, 0x7b])],
    ['msgpack bytes', new Uint8Array([0x81, 0xa1, 0x61, 0x01])],
    ['truncated JSON', utf8.encode('{"a":')],
    ['empty input', new Uint8Array(0)],
  ])('throws on %s', (_label, bytes) => {
    expect(() => json.deserialize(bytes)).toThrow();
  });
});
