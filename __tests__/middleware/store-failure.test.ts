import { afterAll, describe, expect, it } from '@jest/globals';
import { getSession, SessionStoreError, isSessionStoreError } from '../../src/index.js';
import type { RecordWrite, StoredRecord } from '../../src/store.js';
import { appOn, client, closeStores, cookiePair, CountingStore, koaErrors, makeApp, setCookies, track } from '../helpers/app.js';

/** A real MemoryStore that can be switched into failing, like a backend that went away. */
class FlakyStore extends CountingStore {
  down = false;
  /** Reads work, writes fail: a replica that lost its primary. */
  writesDown = false;
  readonly failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
  #check(): void {
    if (this.down) throw this.failure;
  }
  override async get(id: string): Promise<StoredRecord | undefined> {
    this.#check();
    return super.get(id);
  }
  override async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    this.#check();
    if (this.writesDown) throw this.failure;
    return super.update(id, record, expectedVersion);
  }
  override async create(id: string, record: RecordWrite): Promise<boolean> {
    this.#check();
    return super.create(id, record);
  }
}

describe('session() when the store fails', () => {
  afterAll(closeStores);
  const { store, app } = appOn(new FlakyStore(), {
    '/count': async (ctx) => {
      const s = await getSession<{ n: number }>(ctx);
      s.set('n', (s.get('n') ?? 0) + 1);
      ctx.body = { n: s.get('n') };
    },
    '/plain': (ctx) => void (ctx.body = 'still here'),
  });
  const errors = koaErrors(app);

  it('answers 500 with a SessionStoreError that keeps the driver error as cause, and loses nothing', async () => {
    const cookie = cookiePair(await client(app).get('/count').expect(200, { n: 1 }));
    store.down = true;
    const res = await client(app).get('/count').set('Cookie', cookie).expect(500, 'Internal Server Error');
    expect(setCookies(res)).toEqual([]);
    await client(app).get('/count').expect(500); // a new session cannot be created either
    const error = errors.at(-1);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect(isSessionStoreError(error)).toBe(true);
    expect((error as SessionStoreError).cause).toBe(store.failure);
    expect((error as SessionStoreError).operation).toBe('create');
    expect((error as Error).message).toMatch(/store create\(\) failed .*ECONNREFUSED/);
    expect(JSON.stringify(error)).not.toMatch(/ctx|request/);

    store.down = false;
    await client(app).get('/count').set('Cookie', cookie).expect(200, { n: 2 });
  });

  it('answers 500 when only the write fails, naming update() and the record, and keeps the stored session', async () => {
    const cookie = cookiePair(await client(app).get('/count').expect(200, { n: 1 }));
    store.writesDown = true;
    const res = await client(app).get('/count').set('Cookie', cookie).expect(500);
    store.writesDown = false;
    expect(setCookies(res)).toEqual([]);
    const error = errors.at(-1) as SessionStoreError;
    expect(error.operation).toBe('update');
    expect(error.cause).toBe(store.failure);
    expect(error.message).toMatch(
      /^koa-session-kit: store update\(\) failed for session .{8}… \(connect ECONNREFUSED .*\); the stored session was left as it was$/,
    );
    await client(app).get('/count').set('Cookie', cookie).expect(200, { n: 2 });
  });

  it('gives up with a SessionStoreError after a store refuses three fresh ids in a row', async () => {
    class RefusingStore extends CountingStore {
      override async create(): Promise<boolean> {
        this.calls.create++;
        return false;
      }
    }
    const refusing = track(new RefusingStore());
    const failing = makeApp({ store: refusing }, { '/': async (ctx) => void (await getSession(ctx)).set('a', 1) });
    const seen = koaErrors(failing);
    await client(failing).get('/').expect(500);
    expect(refusing.calls.create).toBe(3);
    expect(seen[0]).toBeInstanceOf(SessionStoreError);
    expect((seen[0] as Error).message).toMatch(/refused three fresh random ids; check that its create\(\) returns true on success/);
  });

  it('leaves routes that never call getSession unaffected', async () => {
    store.down = true;
    try {
      await client(app).get('/plain').set('Cookie', 'koa.sid=whatever').expect(200, 'still here');
    } finally {
      store.down = false;
    }
  });
});
