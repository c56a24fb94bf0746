import { afterAll, describe, expect, it } from '@jest/globals';
import { getSession, SessionStoreError, isSessionStoreError } from '../../src/index.js';
import type { RecordWrite, StoredRecord } from '../../src/store.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';

/** A real MemoryStore that can be switched into failing, like a backend that went away. */
class FlakyStore extends CountingStore {
  down = false;
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
    return super.update(id, record, expectedVersion);
  }
  override async create(id: string, record: RecordWrite): Promise<boolean> {
    this.#check();
    return super.create(id, record);
  }
}

describe('session() when the store fails', () => {
  afterAll(closeStores);
  const store = track(new FlakyStore());
  const errors: unknown[] = [];
  const app = makeApp(
    { store },
    {
      '/count': async (ctx) => {
        const s = await getSession<{ n: number }>(ctx);
        s.set('n', (s.get('n') ?? 0) + 1);
        ctx.body = { n: s.get('n') };
      },
      '/plain': (ctx) => void (ctx.body = 'still here'),
    },
  );
  app.on('error', (error) => errors.push(error));

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

  it('leaves routes that never call getSession unaffected', async () => {
    store.down = true;
    try {
      await client(app).get('/plain').set('Cookie', 'koa.sid=whatever').expect(200, 'still here');
    } finally {
      store.down = false;
    }
  });
});
