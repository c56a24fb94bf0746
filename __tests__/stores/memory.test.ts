import { afterAll, describe, expect, it } from '@jest/globals';
import { digestId, generateId } from '../../src/id.js';
import { MemoryStore } from '../../stores/memory.js';
import { describeSessionBehaviour } from '../helpers/behaviour.js';
import { closeStores, sleep, track } from '../helpers/app.js';
import { describeStoreContract } from './contract.js';

describeStoreContract('MemoryStore', { make: async () => new MemoryStore() });
describeSessionBehaviour('MemoryStore', { make: async () => new MemoryStore(), serverSide: true });

const HOUR_MS = 3_600_000;
const record = (byte: number, expires = Date.now() + HOUR_MS) => ({ data: Uint8Array.of(byte), expires });

describe('new MemoryStore({ maxSessions })', () => {
  afterAll(closeStores);

  it('evicts the least recently used session past maxSessions', async () => {
    const store = track(new MemoryStore({ maxSessions: 3 }));
    const [a, b, c, d] = [1, 2, 3, 4].map(() => digestId(generateId())) as [string, string, string, string];
    await store.create(a, record(1));
    await store.create(b, record(2));
    await store.create(c, record(3));
    await store.get(a); // a is now the most recently used; b is the oldest
    await store.create(d, record(4));
    expect(store.size).toBe(3);
    expect(await store.get(b)).toBeUndefined();
    expect(await store.get(a)).toBeDefined();
    expect(await store.get(c)).toBeDefined();
    expect(await store.get(d)).toBeDefined();
  });

  it.each([
    ['a Uint8Array', () => Uint8Array.of(1, 2, 3)],
    ['a Buffer, whose slice() is a view', () => Buffer.from([1, 2, 3])],
    ['a view into a larger buffer', () => Buffer.from([0, 1, 2, 3, 0]).subarray(1, 4)],
  ])('keeps its own copy of the bytes it was given as %s, on create and on update', async (_, make) => {
    const store = track(new MemoryStore());
    const id = digestId(generateId());
    const data = make();
    await store.create(id, { data, expires: Date.now() + HOUR_MS });
    data[0] = 99;
    expect(Array.from((await store.get(id))!.data)).toEqual([1, 2, 3]);
    const next = make();
    await store.update(id, { data: next, expires: Date.now() + HOUR_MS });
    next[1] = 99;
    expect(Array.from((await store.get(id))!.data)).toEqual([1, 2, 3]);
  });

  it('gives every session used since the last eviction a second chance, then evicts the oldest', async () => {
    const store = track(new MemoryStore({ maxSessions: 3 }));
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(() => digestId(generateId())) as [string, string, string, string, string];
    await store.create(a, record(1));
    await store.create(b, record(2));
    await store.create(c, record(3));
    for (const id of [a, b, c]) await store.get(id); // all used: the eviction pass clears each, then takes the oldest
    await store.create(d, record(4));
    expect(store.size).toBe(3);
    expect(await store.get(a)).toBeUndefined();
    await store.update(b, record(22)); // b used again after the pass; c is now the one not used
    await store.create(e, record(5));
    expect(await store.get(c)).toBeUndefined();
    expect(await store.get(b)).toBeDefined();
    expect(await store.get(d)).toBeDefined();
    expect(await store.get(e)).toBeDefined();
  });

  it('sweeps expired sessions on its timer without being asked', async () => {
    const store = track(new MemoryStore({ sweepInterval: 50 }));
    for (let i = 0; i < 100; i++) await store.create(digestId(generateId()), record(i, Date.now() + 30));
    await store.create(digestId(generateId()), record(0));
    expect(store.size).toBe(101);
    await sleep(200);
    expect(store.size).toBe(1);
  });

  it('refuses a maxSessions or sweepInterval that is not a positive integer', () => {
    expect(() => new MemoryStore({ maxSessions: 0 })).toThrow(RangeError);
    expect(() => new MemoryStore({ maxSessions: 1.5 })).toThrow('koa-session-kit: `maxSessions` must be an integer (received 1.5)');
    expect(() => new MemoryStore({ sweepInterval: -1 })).toThrow(RangeError);
  });
});
