import { afterEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addExtension, Packr } from 'msgpackr';
import { jsonSerializer } from '../../serializers/json.js';
import { msgpackSerializer } from '../../serializers/msgpack.js';
import { superjsonSerializer } from '../../serializers/superjson.js';
import type { Serializer } from '../../src/serializer.js';

const utf8 = new TextEncoder();
const json = jsonSerializer();
const superjson = superjsonSerializer();
const msgpack = msgpackSerializer();
const all: Serializer[] = [json, superjson, msgpack];

function polluted(): boolean {
  const probe = {} as Record<string, unknown>;
  return probe.polluted !== undefined || probe.admin !== undefined || Object.getPrototypeOf(probe) !== Object.prototype;
}

afterEach(() => {
  expect(polluted()).toBe(false);
});

describe('superjsonSerializer().deserialize(bytes)', () => {
  it.each([
    ['a meta path through __proto__', { json: { a: '1' }, meta: { values: { '__proto__.polluted': ['Date'] } } }],
    ['a meta path through constructor.prototype', { json: { a: {} }, meta: { values: { 'a.constructor.prototype.polluted': ['Date'] } } }],
    [
      'a referential equality onto __proto__',
      { json: { a: { polluted: true }, b: {} }, meta: { referentialEqualities: { a: ['__proto__'] } } },
    ],
    ['a constructor key inside json', { json: { constructor: { prototype: { polluted: true } } } }],
    ['an unknown registered class', { json: { p: {} }, meta: { values: { p: [['class', 'Money']] } } }],
    ['an unknown custom transformer', { json: { p: 'x' }, meta: { values: { p: [['custom', 'Decimal']] } } }],
    ['an unknown typed array', { json: { p: [1] }, meta: { values: { p: [['typed-array', 'Function']] } } }],
    ['a payload with extra keys', { json: {}, meta: {}, extra: 1 }],
    ['plain JSON session data', { views: 1 }],
    ['an array', [1]],
  ])('throws on %s and pollutes nothing', (_label, payload) => {
    const text = JSON.stringify(payload).replace('"__proto__"', '"\\u005f_proto__"');
    expect(() => superjson.deserialize(utf8.encode(text))).toThrow();
  });
});

describe('superjsonSerializer().deserialize(bytes) with a __proto__ key inside json', () => {
  it('drops the key (superjson copies the tree) and leaves every prototype alone', () => {
    const text = JSON.stringify({ json: { user: JSON.parse('{"__proto__":{"admin":true},"name":"ann"}') as unknown } });
    const back = superjson.deserialize(utf8.encode(text)) as { user: Record<string, unknown> };
    expect(Object.getPrototypeOf(back.user)).toBe(Object.prototype);
    expect(Object.keys(back.user)).toEqual(['name']);
    expect(back.user.admin).toBeUndefined();
  });
});

describe('jsonSerializer().deserialize(bytes)', () => {
  it('reads superjson bytes as plain data (the envelope tag, not the JSON, tells them apart)', () => {
    const bytes = superjson.serialize({ at: new Date(0) });
    expect(json.deserialize(bytes)).toEqual({ json: { at: '1970-01-01T00:00:00.000Z' }, meta: { values: { at: ['Date'] }, v: 1 } });
  });
});

describe('msgpackSerializer().deserialize(bytes)', () => {
  const foreignPackr = new Packr({ structuredClone: true });

  it('renames a __proto__ key instead of setting a prototype', () => {
    const bytes = new Packr({ useRecords: false }).pack(JSON.parse('{"__proto__":{"polluted":true}}'));
    const back = msgpack.deserialize(bytes) as Map<string, unknown>;
    expect(back).toBeInstanceOf(Map);
    expect(back.get('__proto__')).toBeInstanceOf(Map);
    const record = msgpack.deserialize(new Packr().pack(JSON.parse('{"a":{"__proto__":{"polluted":true}}}'))) as { a: object };
    expect(Object.getPrototypeOf(record.a)).toBe(Object.prototype);
    expect(Object.keys(record.a)).toEqual(['__proto_']);
  });

  it('rejects an AggregateError, which it never writes', () => {
    expect(() => msgpack.deserialize(foreignPackr.pack({ e: new AggregateError([1], 'x') }))).toThrow(/AggregateError/);
  });

  it('rejects a Node Buffer (a msgpack bin), which it never writes', () => {
    expect(() => msgpack.deserialize(new Packr().pack({ b: Buffer.from([1]) }))).toThrow(/Buffer/);
  });

  it('rejects an Error extension naming a non-error global', () => {
    const error = Object.assign(new Error('x'), { name: 'constructor' });
    expect(() => msgpack.deserialize(foreignPackr.pack({ e: error }))).toThrow(/never writes/);
  });

  it('rejects values of an extension registered elsewhere in the process', () => {
    class Gadget {
      constructor(readonly id: number) {}
    }
    addExtension({ Class: Gadget, type: 0x31, write: (g: Gadget) => g.id, read: (id: number) => new Gadget(id) });
    const bytes = new Packr().pack({ g: new Gadget(7) });
    expect(() => msgpack.deserialize(bytes)).toThrow(/Gadget at `g`/);
  });

  it('rejects nesting past maxDepth that msgpackr itself would decode', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 150; i++) deep = [deep];
    expect(() => msgpack.deserialize(new Packr().pack(deep))).toThrow(/too deep/);
  });

  it.each([
    ['JSON bytes', utf8.encode('{"views":1}')],
    ['superjson bytes', superjson.serialize({ at: new Date(0) })],
    ['truncated bytes', msgpack.serialize({ views: 1, name: 'abc' }).subarray(0, 8)],
    ['trailing bytes', Uint8Array.from([...msgpack.serialize({ views: 1 }), 0x01])],
    ['an unknown extension', Uint8Array.from([0xd4, 0x55, 0x00])],
    ['empty input', new Uint8Array(0)],
  ])('throws on %s', (_label, bytes) => {
    expect(() => msgpack.deserialize(bytes)).toThrow();
  });
});

describe('Serializer#deserialize(bytes) on random input', () => {
  it.each(all.map((serializer) => [serializer.name, serializer] as const))(
    '%s throws or returns a value, and pollutes nothing',
    (_name, serializer) => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          try {
            serializer.deserialize(bytes);
          } catch {
            // Any throw is the contract: the middleware starts a fresh session.
          }
          return !polluted();
        }),
        { numRuns: 1000 },
      );
    },
  );

  it.each(all.map((serializer) => [serializer.name, serializer] as const))(
    '%s throws or pollutes nothing on mutated bytes of its own',
    (_name, serializer) => {
      const valid = serializer.serialize({ user: { name: 'Ann', roles: ['a', 'b'] }, n: 1 });
      fc.assert(
        fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), (index, byte) => {
          const bytes = Uint8Array.from(valid);
          bytes[index] = byte;
          try {
            serializer.deserialize(bytes);
          } catch {
            // Rejected: fine.
          }
          return !polluted();
        }),
        { numRuns: 500 },
      );
    },
  );
});

describe('jsonSerializer().deserialize(bytes) on any JSON text', () => {
  const deepOrHuge = fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc.integer({ min: 95, max: 110 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
    fc.constantFrom('[1e999]', '{"a":-1E400}', `[${'9'.repeat(320)}]`, '{"\\u005f_proto__":1}', '[1.5e308, 2e308]'),
  );

  it('returns only values that serialize accepts again, or throws', () => {
    fc.assert(
      fc.property(deepOrHuge, (text) => {
        let value: unknown;
        try {
          value = json.deserialize(utf8.encode(text));
        } catch {
          return true;
        }
        json.serialize(value);
        return true;
      }),
      { numRuns: 1500 },
    );
  });
});
