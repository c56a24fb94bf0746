/** MemoryStore bounded by the bytes it holds as well as by count: large sessions evict old ones instead of growing the heap. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { SessionStoreError } from '../../../src/errors.js';
import { digestId, generateId } from '../../../src/id.js';
import { getSession } from '../../../src/index.js';
import { MemoryStore } from '../../../stores/memory.js';
import { closeStores, client as http, cookiePair, makeApp, track } from '../../helpers/app.js';

const HOUR_MS = 3_600_000;
const MiB = 1024 * 1024;
const freshId = (): string => digestId(generateId());
const bytes = (length: number, fill = 1) => ({ data: new Uint8Array(length).fill(fill), expires: Date.now() + HOUR_MS });

afterAll(closeStores);

describe('new MemoryStore({ maxTotalBytes })', () => {
  it('keeps the data it holds under 64 MiB by default, evicting the oldest sessions', async () => {
    const store = track(new MemoryStore());
    const ids = Array.from({ length: 80 }, freshId);
    for (const id of ids) await store.create(id, bytes(MiB));
    expect(store.bytes).toBeLessThanOrEqual(64 * MiB);
    expect(store.size).toBe(64);
    expect(await store.get(ids[0]!)).toBeUndefined();
    expect(await store.get(ids[79]!)).toBeDefined();
  });

  it('evicts the least recently used sessions until a new one fits', async () => {
    const store = track(new MemoryStore({ maxTotalBytes: 10_000 }));
    const [a, b, c, d] = [freshId(), freshId(), freshId(), freshId()];
    await store.create(a, bytes(4_000));
    await store.create(b, bytes(4_000));
    await store.get(a); // a used since: b is the one to go
    await store.create(c, bytes(2_000));
    expect(store.bytes).toBe(10_000);
    await store.create(d, bytes(3_000));
    expect(store.bytes).toBe(9_000);
    expect(await store.get(b)).toBeUndefined();
    for (const id of [a, c, d]) expect(await store.get(id)).toBeDefined();
  });

  it('makes room for an update that grows a session, never evicting the session being written', async () => {
    const store = track(new MemoryStore({ maxTotalBytes: 10_000 }));
    const [a, b, c] = [freshId(), freshId(), freshId()];
    await store.create(a, bytes(3_000));
    await store.create(b, bytes(3_000));
    await store.create(c, bytes(3_000));
    expect(await store.update(a, bytes(7_000, 7), 1)).toBe(2);
    expect(store.bytes).toBeLessThanOrEqual(10_000);
    expect((await store.get(a))!.data).toHaveLength(7_000);
    expect(await store.get(b)).toBeUndefined();
    expect(await store.get(c)).toBeDefined();
    // Shrinking gives the bytes back.
    expect(await store.update(a, bytes(1_000), 2)).toBe(3);
    expect(store.bytes).toBe(4_000);
  });

  it('refuses a session larger than maxTotalBytes with a SessionStoreError, evicting nothing', async () => {
    const store = track(new MemoryStore({ maxTotalBytes: 10_000 }));
    const kept = freshId();
    await store.create(kept, bytes(5_000));
    const error = await store.create(freshId(), bytes(10_001)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect(error).toMatchObject({
      operation: 'create',
      message: 'koa-session-kit: MemoryStore refused to create a session of 10001 bytes: more than `maxTotalBytes` (10000)',
    });
    await expect(store.update(kept, bytes(20_000), 1)).rejects.toMatchObject({ operation: 'update' });
    expect((await store.get(kept))!.data).toHaveLength(5_000);
    expect(store.bytes).toBe(5_000);
  });

  it('counts what destroy, expiry, prune and close give back', async () => {
    const store = track(new MemoryStore({ maxTotalBytes: 10_000, pruneInterval: false }));
    const [a, b, c] = [freshId(), freshId(), freshId()];
    await store.create(a, bytes(1_000));
    await store.create(b, { data: new Uint8Array(2_000), expires: Date.now() + 5 });
    await store.create(c, { data: new Uint8Array(3_000), expires: Date.now() + 5 });
    await store.destroy(a);
    await store.destroy(a);
    expect(store.bytes).toBe(5_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.get(b)).toBeUndefined(); // dropped on sight
    expect(store.bytes).toBe(3_000);
    expect(await store.prune()).toBe(1);
    expect(store.bytes).toBe(0);
    await store.create(a, bytes(1_000));
    await store.close();
    expect(store.bytes).toBe(0);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses maxTotalBytes: %p', (value) => {
    expect(() => new MemoryStore({ maxTotalBytes: value })).toThrow(/^koa-session-kit: `maxTotalBytes` must be/);
  });
});

describe('session() on a MemoryStore bounded by bytes', () => {
  it('keeps the heap bounded under large sessions: the newest stay, the oldest start fresh', async () => {
    const store = track(new MemoryStore({ maxTotalBytes: 256 * 1024 }));
    const routes = {
      '/fill': async (ctx: Context) => {
        const s = await getSession<{ blob: string; n: number }>(ctx);
        if (!s.has('blob')) s.set('blob', 'x'.repeat(32 * 1024)).set('n', Number(ctx.query.n));
        ctx.body = { n: s.get('n') };
      },
    };
    const app = http(makeApp({ store }, routes));
    const cookies: string[] = [];
    for (let n = 0; n < 20; n++) cookies.push(cookiePair(await app.get(`/fill?n=${n}`).expect(200, { n })));
    expect(store.bytes).toBeLessThanOrEqual(256 * 1024);
    await app.get('/fill?n=99').set('Cookie', cookies[19]!).expect(200, { n: 19 });
    await app.get('/fill?n=99').set('Cookie', cookies[0]!).expect(200, { n: 99 });
  });
});
