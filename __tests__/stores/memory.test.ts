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

  it('keeps its own copy of the bytes it was given', async () => {
    const store = track(new MemoryStore());
    const id = digestId(generateId());
    const data = Uint8Array.of(1, 2, 3);
    await store.create(id, { data, expires: Date.now() + HOUR_MS });
    data[0] = 99;
    expect(Array.from((await store.get(id))!.data)).toEqual([1, 2, 3]);
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
