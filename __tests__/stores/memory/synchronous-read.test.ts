import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { getSession, SessionStoreError, type SessionEvent } from '../../../src/index.js';
import { digestId, generateId } from '../../../src/id.js';
import { readNow, synchronousRead, type StoredRecord } from '../../../src/store.js';
import { MemoryStore } from '../../../stores/memory.js';
import { appOn, client, closeStores, cookiePair, CountingStore, koaErrors, makeApp, track } from '../../helpers/app.js';

const HOUR_MS = 3_600_000;

const countRoute = {
  '/count': async (ctx: Context) => {
    const s = await getSession<{ n: number }>(ctx);
    s.set('n', (s.get('n') ?? 0) + 1);
    ctx.body = { n: s.get('n') };
  },
};

/** Reads synchronously, and counts which of its two reads the middleware used. */
class ReadsNowStore extends MemoryStore {
  gets = 0;
  readsNow = 0;
  failure: Error | undefined;

  override get(id: string): Promise<StoredRecord | undefined> {
    this.gets++;
    return super.get(id);
  }

  override [readNow](id: string): StoredRecord | undefined {
    this.readsNow++;
    if (this.failure !== undefined) throw this.failure;
    return super[readNow](id);
  }
}

describe("MemoryStore's synchronous read", () => {
  afterAll(closeStores);

  it('gives what get() resolves to: live, updated, touched, missing and expired records', async () => {
    const store = track(new MemoryStore());
    const [live, gone, expired] = [1, 2, 3].map(() => digestId(generateId())) as [string, string, string];
    await store.create(live, { data: Uint8Array.of(1, 2), expires: Date.now() + HOUR_MS, owner: 'u1' });
    await store.update(live, { data: Uint8Array.of(3), expires: Date.now() + HOUR_MS, owner: 'u1' }, 1);
    await store.touch(live, Date.now() + 2 * HOUR_MS);
    await store.create(expired, { data: Uint8Array.of(4), expires: Date.now() - 1 });
    for (const id of [live, gone, expired]) expect(store[readNow](id)).toEqual(await store.get(id));
    expect(store[readNow](live)).toMatchObject({ data: Uint8Array.of(3), version: 2, owner: 'u1' });
  });

  it('hands out a copy: changing the returned bytes leaves the stored record as it was', async () => {
    const store = track(new MemoryStore());
    const id = digestId(generateId());
    await store.create(id, { data: Uint8Array.of(7, 7), expires: Date.now() + HOUR_MS });
    (store[readNow](id) as StoredRecord).data.fill(0);
    expect((await store.get(id))?.data).toEqual(Uint8Array.of(7, 7));
  });

  it('is what the middleware loads from, and get() is not called', async () => {
    const { store, app } = appOn(new ReadsNowStore(), countRoute);
    const cookie = cookiePair(await client(app).get('/count').expect(200, { n: 1 }));
    await client(app).get('/count').set('Cookie', cookie).expect(200, { n: 2 });
    await client(app).get('/count').set('Cookie', cookie).expect(200, { n: 3 });
    expect({ readsNow: store.readsNow, gets: store.gets }).toEqual({ readsNow: 2, gets: 0 });
  });

  it('is passed over for a subclass that overrides get(): every load goes through its get()', async () => {
    const { store, app } = appOn(new CountingStore(), countRoute);
    expect(synchronousRead(store)).toBeUndefined();
    const cookie = cookiePair(await client(app).get('/count').expect(200, { n: 1 }));
    store.reset();
    for (let n = 2; n <= 4; n++) await client(app).get('/count').set('Cookie', cookie).expect(200, { n });
    expect(store.calls.get).toBe(3);
  });

  it('is passed over when get() is replaced on the instance', async () => {
    const store = track(new MemoryStore());
    let gets = 0;
    const original = store.get.bind(store);
    store.get = (id: string) => {
      gets++;
      return original(id);
    };
    expect(synchronousRead(store)).toBeUndefined();
    const app = makeApp({ store }, countRoute);
    const cookie = cookiePair(await client(app).get('/count').expect(200, { n: 1 }));
    await client(app).get('/count').set('Cookie', cookie).expect(200, { n: 2 });
    expect(gets).toBe(1);
  });

  it('failing, answers 500 with a SessionStoreError naming get() and keeping the cause, and emits store-error', async () => {
    const store = track(new ReadsNowStore());
    const events: SessionEvent[] = [];
    const app = makeApp({ store, onEvent: (event) => void events.push(event) }, countRoute);
    const errors = koaErrors(app);
    const cookie = cookiePair(await client(app).get('/count').expect(200, { n: 1 }));
    store.failure = new Error('the map went away');
    await client(app).get('/count').set('Cookie', cookie).expect(500, 'Internal Server Error');
    const error = errors.at(-1) as SessionStoreError;
    expect(error).toBeInstanceOf(SessionStoreError);
    expect(error.operation).toBe('get');
    expect(error.cause).toBe(store.failure);
    expect(events.filter((e) => e.type === 'store-error')).toEqual([expect.objectContaining({ operation: 'get', error })]);
    store.failure = undefined;
    await client(app).get('/count').set('Cookie', cookie).expect(200, { n: 2 });
  });
});
