import { afterAll, describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  digestId,
  generateId,
  getSession,
  newSession,
  session,
  SESSION_EVENT_TYPES,
  type SessionEvent,
  type SessionOptions,
} from '../../src/index.js';
import type { Store } from '../../src/store.js';
import { CookieStore } from '../../stores/cookie.js';
import { FileStore } from '../../stores/file.js';
import { MemoryStore } from '../../stores/memory.js';
import { MySQLStore } from '../../stores/mysql.js';
import { PostgresStore } from '../../stores/postgres.js';
import { RedisStore } from '../../stores/redis.js';
import { client, closeStores, cookiePair, cookieValue, makeApp, sleep, track, type Handler } from '../helpers/app.js';
import { removeTempDirs, tempDir } from '../helpers/file-store.js';
import * as mysqlHelpers from '../helpers/mysql-store.js';
import { describeWithPostgres, dropTable, testPool, uniqueTable } from '../helpers/postgres-store.js';

afterAll(async () => {
  await closeStores();
  await removeTempDirs();
});

/** Every event the app's subscriber heard, in order. */
function recorder(): { events: SessionEvent[]; onEvent: (event: SessionEvent) => void; of: (type: string) => SessionEvent[] } {
  const events: SessionEvent[] = [];
  return { events, onEvent: (event) => void events.push(event), of: (type) => events.filter((e) => e.type === type) };
}

/** The first event of `type`, failing the test when there is none. */
function only<T extends SessionEvent['type']>(events: SessionEvent[], type: T): Extract<SessionEvent, { type: T }> {
  const found = events.filter((e) => e.type === type);
  expect(found).toHaveLength(1);
  return found[0] as Extract<SessionEvent, { type: T }>;
}

/** Resolves with the first event of `type` (and matching `test`) the recorder hears, polling briefly. */
async function waitFor(
  seen: SessionEvent[],
  type: string,
  test: (event: SessionEvent) => boolean = () => true,
  timeoutMs = 5000,
): Promise<SessionEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = seen.find((e) => e.type === type && test(e));
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms; heard ${JSON.stringify(seen.map((e) => e.type))}`);
    await sleep(10);
  }
}

const routes: Record<string, Handler> = {
  '/login': async (ctx) => {
    (await getSession(ctx)).set('user', 'ada');
    ctx.body = 'in';
  },
  '/read': async (ctx) => {
    ctx.body = { user: (await getSession(ctx)).get('user') ?? null };
  },
  '/write': async (ctx) => {
    (await getSession(ctx)).set('n', Number(ctx.query.n ?? 1));
    ctx.body = 'ok';
  },
  '/relogin': async (ctx) => {
    (await newSession(ctx)).set('user', 'ada');
    ctx.body = 'moved';
  },
  '/regenerate': async (ctx) => {
    (await getSession(ctx)).regenerate();
    ctx.body = 'moved';
  },
  '/logout': async (ctx) => {
    (await getSession(ctx)).invalidate();
    ctx.body = 'out';
  },
};

function app(options: SessionOptions, keys?: string[] | null): { app: Koa; seen: ReturnType<typeof recorder> } {
  const seen = recorder();
  return { app: makeApp({ ...options, onEvent: seen.onEvent }, routes, keys), seen };
}

/** Logs in on `a`, checks it emitted one 'created', and clears what `seen` heard: the cookie and the new record's prefix. */
async function loggedIn(a: Koa, seen: ReturnType<typeof recorder>): Promise<{ cookie: string; record: string | undefined }> {
  const cookie = cookiePair(await client(a).get('/login'));
  const { record } = only(seen.events, 'created');
  seen.events.length = 0;
  return { cookie, record };
}

/** Logs in on `store` with a session that expires at once, and expects the next sweep to report it removed. */
async function expectPruneFinished(store: Store, name: string): Promise<void> {
  const { app: a, seen } = app({ store: track(store), maxAge: 20 });
  await client(a).get('/login').expect(200);
  await sleep(25);
  const finished = await waitFor(seen.events, 'prune-finished', (e) => e.type === 'prune-finished' && e.removed > 0);
  expect(finished).toEqual({ type: 'prune-finished', name: 'session', store: name, removed: 1 });
}

describe('lifecycle events over HTTP', () => {
  it('lists a closed set of event types', () => {
    expect(SESSION_EVENT_TYPES).toEqual([
      'created',
      'loaded',
      'saved',
      'regenerated',
      'invalidated',
      'expired',
      'rejected',
      'conflict-retried',
      'store-error',
      'sessions-revoked',
      'prune-finished',
      'prune-failed',
    ]);
  });

  it('created: a first save names the session and an 8-character record prefix', async () => {
    const { app: a, seen } = app({ store: track(new MemoryStore()) });
    await client(a).get('/login').expect(200);
    expect(seen.events).toEqual([{ type: 'created', name: 'session', record: expect.stringMatching(/^[\w-]{8}$/) }]);
  });

  it('loaded: a request with the cookie loads the same record; a cookie-less one emits nothing', async () => {
    const { app: a, seen } = app({ store: track(new MemoryStore()) });
    const { cookie, record } = await loggedIn(a, seen);
    await client(a).get('/read').expect(200, { user: null });
    expect(seen.events).toEqual([]);
    await client(a).get('/read').set('Cookie', cookie).expect(200, { user: 'ada' });
    expect(seen.events).toEqual([{ type: 'loaded', name: 'session', record }]);
  });

  it('saved: a data change is a write, a rolling expiry move is a touch', async () => {
    const { app: a, seen } = app({ store: track(new MemoryStore()), rolling: true, touchAfter: 0 });
    const { cookie, record } = await loggedIn(a, seen);
    await client(a).get('/write?n=2').set('Cookie', cookie).expect(200);
    expect(only(seen.events, 'saved')).toEqual({ type: 'saved', name: 'session', record, touched: false });
    seen.events.length = 0;
    await sleep(2);
    await client(a).get('/read').set('Cookie', cookie).expect(200);
    expect(only(seen.events, 'saved')).toEqual({ type: 'saved', name: 'session', record, touched: true });
  });

  it.each(['/relogin', '/regenerate'])('regenerated: %s moves the session to a new record and names the previous one', async (path) => {
    const { app: a, seen } = app({ store: track(new MemoryStore()) });
    const { cookie, record: previous } = await loggedIn(a, seen);
    const moved = cookiePair(await client(a).get(path).set('Cookie', cookie).expect(200));
    const regenerated = only(seen.events, 'regenerated');
    expect(regenerated).toEqual({ type: 'regenerated', name: 'session', record: expect.stringMatching(/^[\w-]{8}$/), previous });
    expect(regenerated.record).not.toBe(previous);
    expect(regenerated.record).toBe(digestId(moved.slice('koa.sid='.length).split('.')[0] as string).slice(0, 8));
  });

  it('invalidated: logging out names the destroyed record', async () => {
    const { app: a, seen } = app({ store: track(new MemoryStore()) });
    const { cookie, record } = await loggedIn(a, seen);
    await client(a).get('/logout').set('Cookie', cookie).expect(200);
    expect(seen.events).toEqual([
      { type: 'loaded', name: 'session', record },
      { type: 'invalidated', name: 'session', record },
    ]);
  });

  it('expired: a session saved before absoluteTimeout was tightened is found expired on load, and not also rejected', async () => {
    const store = track(new MemoryStore());
    // The record's own expiry follows the options it was saved under; the deploy after it is stricter.
    const before = app({ store });
    const cookie = cookiePair(await client(before.app).get('/login'));
    const { record } = only(before.seen.events, 'created');
    const { app: a, seen } = app({ store, absoluteTimeout: 30 });
    await sleep(40);
    await client(a).get('/read').set('Cookie', cookie).expect(200, { user: null });
    expect(seen.events).toEqual([{ type: 'expired', name: 'session', cause: 'absolute-timeout', record }]);
  });

  describe('rejected, with the reason as a code', () => {
    const keys = ['events-test-key-0123456789abcdefghijklmnop'];

    it.each([
      ['cookie-malformed', 'koa.sid=not-an-id.signature'],
      ['cookie-oversized', `koa.sid=${'a'.repeat(5000)}`],
      ['signature-missing', `koa.sid=${generateId()}`],
      ['signature-mismatch', `koa.sid=${generateId()}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`],
    ])('%s', async (reason, cookie) => {
      const { app: a, seen } = app({ store: track(new MemoryStore()) }, keys);
      await client(a).get('/read').set('Cookie', cookie).expect(200, { user: null });
      expect(seen.events).toEqual([{ type: 'rejected', name: 'session', reason }]);
    });

    it('unknown-id: a well-formed id the store does not hold carries its record prefix', async () => {
      const { app: a, seen } = app({ store: track(new MemoryStore()) }, null);
      const id = generateId();
      await client(a).get('/read').set('Cookie', `koa.sid=${id}`).expect(200, { user: null });
      expect(seen.events).toEqual([{ type: 'rejected', name: 'session', reason: 'unknown-id', record: digestId(id).slice(0, 8) }]);
    });

    it('record-undecodable: a record another format wrote', async () => {
      const store = track(new MemoryStore());
      const id = generateId();
      await store.create(digestId(id), { data: new TextEncoder().encode('not an envelope'), expires: Date.now() + 60_000 });
      const { app: a, seen } = app({ store }, null);
      await client(a).get('/read').set('Cookie', `koa.sid=${id}`).expect(200, { user: null });
      expect(seen.events).toEqual([{ type: 'rejected', name: 'session', reason: 'record-undecodable', record: digestId(id).slice(0, 8) }]);
    });

    it('seal-rejected: a sealed cookie that does not open', async () => {
      const { app: a, seen } = app({ store: new CookieStore({ keys }) });
      await client(a)
        .get('/read')
        .set('Cookie', `koa.sid=${'A'.repeat(80)}`)
        .expect(200, { user: null });
      expect(seen.events).toEqual([{ type: 'rejected', name: 'session', reason: 'seal-rejected' }]);
    });
  });

  it('conflict-retried: a write that lost a version race to another process is retried, then saved', async () => {
    const store = track(new MemoryStore());
    // Two middlewares on one store stand for two processes: neither queues behind the other.
    const other = app({ store }).app;
    const seen = recorder();
    const racing = makeApp(
      { store, onEvent: seen.onEvent },
      {
        ...routes,
        '/race': async (ctx) => {
          const own = await getSession(ctx);
          await client(other).get('/write?n=7').set('Cookie', ctx.get('Cookie')).expect(200);
          own.set('mine', true);
          ctx.body = 'raced';
        },
      },
    );
    const { cookie, record } = await loggedIn(racing, seen);
    await client(racing).get('/race').set('Cookie', cookie).expect(200);
    expect(seen.events).toEqual([
      { type: 'loaded', name: 'session', record },
      { type: 'conflict-retried', name: 'session', record, attempt: 1 },
      { type: 'saved', name: 'session', record, touched: false },
    ]);
  });

  it("sessions-revoked: revoking an owner's sessions, or one by its handle, says how many went", async () => {
    const seen = recorder();
    const sessions = session({ store: track(new MemoryStore()), onEvent: seen.onEvent });
    const a = new Koa();
    a.keys = ['events-test-key-0123456789abcdefghijklmnop'];
    a.use(sessions);
    a.use(async (ctx) => {
      const s = await getSession(ctx);
      s.owner = 'ada';
      s.set('device', ctx.path);
      ctx.body = 'in';
    });
    await client(a).get('/phone').expect(200);
    await client(a).get('/laptop').expect(200);
    const [first] = await sessions.listSessions('ada');
    seen.events.length = 0;
    expect(await sessions.revokeSession(first?.handle as string)).toBe(true);
    expect(await sessions.revokeSessions('ada')).toBe(1);
    expect(seen.events).toEqual([
      { type: 'sessions-revoked', name: 'session', owner: 'ada', revoked: 1, record: first?.handle.slice(0, 8) },
      { type: 'sessions-revoked', name: 'session', owner: 'ada', revoked: 1 },
    ]);
  });

  it('a subscriber that throws never breaks the request', async () => {
    const a = makeApp(
      {
        store: track(new MemoryStore()),
        onEvent: () => {
          throw new Error('subscriber bug');
        },
      },
      routes,
    );
    const cookie = cookiePair(await client(a).get('/login').expect(200));
    await client(a).get('/read').set('Cookie', cookie).expect(200, { user: 'ada' });
    const rejecting = makeApp({ store: track(new MemoryStore()), onEvent: async () => Promise.reject(new Error('async bug')) }, routes);
    await client(rejecting).get('/login').expect(200);
  });

  it('refuses an onEvent that is not a function', () => {
    expect(() => session({ onEvent: 'log' as unknown as () => void })).toThrow(/onEvent.*function/);
  });

  it('no event of a whole scenario carries the cookie value, the id or the full digest', async () => {
    const keys = ['events-test-key-0123456789abcdefghijklmnop'];
    const { app: a, seen } = app({ store: track(new MemoryStore()), rolling: true, touchAfter: 0 }, keys);
    const first = await client(a).get('/login');
    const values = [cookieValue(first)];
    let cookie = cookiePair(first);
    await client(a).get('/write?n=3').set('Cookie', cookie);
    await sleep(2);
    await client(a).get('/read').set('Cookie', cookie);
    const moved = await client(a).get('/relogin').set('Cookie', cookie);
    values.push(cookieValue(moved));
    cookie = cookiePair(moved);
    await client(a).get('/logout').set('Cookie', cookie);
    await client(a).get('/read').set('Cookie', cookie);
    await client(a)
      .get('/read')
      .set('Cookie', `koa.sid=${values[0]?.slice(0, -2)}xx`);
    expect(new Set(seen.events.map((e) => e.type))).toEqual(
      new Set(['created', 'loaded', 'saved', 'regenerated', 'invalidated', 'rejected']),
    );
    const secrets = values.flatMap((value) => {
      const id = value.split('.')[0] as string;
      return [value, id, digestId(id)];
    });
    for (const event of seen.events) {
      const text = JSON.stringify(event);
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});

describe('store-error over HTTP', () => {
  it('a store that fails a load and a commit: each failure is an event, and the request still fails', async () => {
    // Nothing listens on port 1: every query fails at once.
    const store = track(new PostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', pruneInterval: false }));
    const { app: a, seen } = app({ store }, null);
    await client(a).get('/login').expect(500);
    expect(only(seen.events, 'store-error')).toMatchObject({ type: 'store-error', name: 'session', operation: 'create' });
    seen.events.length = 0;
    const id = generateId();
    await client(a).get('/read').set('Cookie', `koa.sid=${id}`).expect(500);
    const failed = only(seen.events, 'store-error');
    expect(failed).toMatchObject({ operation: 'get', record: digestId(id).slice(0, 8) });
    expect((failed as { error: Error }).error.name).toBe('SessionStoreError');
  });

  it('a RedisStore made from a url reports its own connection errors, outside any request', async () => {
    const seen = recorder();
    const store = new RedisStore({ url: 'redis://127.0.0.1:1' });
    const sessions = session({ store, onEvent: seen.onEvent });
    // The first command makes the client; it waits in ioredis's offline queue while the client retries.
    void store.get(digestId(generateId())).catch(() => undefined);
    try {
      const event = await waitFor(seen.events, 'store-error');
      expect(event).toMatchObject({ type: 'store-error', name: 'session', store: 'RedisStore', operation: 'connection' });
      expect((event as { error: Error }).error.message).toMatch(/ECONNREFUSED/);
    } finally {
      await sessions.close();
    }
  });
});

describe('prune-finished and prune-failed, from the scheduled prune', () => {
  it('MemoryStore: the sweep reports how many expired records went', async () => {
    await expectPruneFinished(new MemoryStore({ pruneInterval: 30 }), 'MemoryStore');
  });

  it('FileStore: a prune that runs reports prune-finished; one that cannot read its directory reports prune-failed', async () => {
    const dir = await tempDir('events');
    const { app: a, seen } = app({ store: track(new FileStore({ dir, pruneInterval: 30 })) });
    await client(a).get('/login').expect(200);
    expect(await waitFor(seen.events, 'prune-finished')).toMatchObject({ name: 'session', store: 'FileStore', removed: 0 });

    const file = join(await tempDir('events-notadir'), 'plain-file');
    await writeFile(file, 'not a directory');
    const broken = app({ store: track(new FileStore({ dir: file, pruneInterval: 30 })) });
    const failed = await waitFor(broken.seen.events, 'prune-failed');
    expect(failed).toMatchObject({ type: 'prune-failed', name: 'session', store: 'FileStore' });
    expect((failed as { error: Error }).error.message).toMatch(/ENOTDIR/);
  });
});

describeWithPostgres('PostgresStore prune events', () => {
  it('reports prune-finished on a working table and prune-failed when the server is unreachable', async () => {
    const table = uniqueTable('events');
    const pool = testPool();
    try {
      await expectPruneFinished(new PostgresStore({ pool, table, pruneInterval: 40 }), 'PostgresStore');

      const down = app({
        store: track(new PostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', pruneInterval: 30 })),
      });
      expect(await waitFor(down.seen.events, 'prune-failed')).toMatchObject({
        type: 'prune-failed',
        name: 'session',
        store: 'PostgresStore',
      });
    } finally {
      await closeStores();
      await dropTable(pool, table);
      await pool.end();
    }
  });
});

mysqlHelpers.describeWithMySQL('MySQLStore prune events', () => {
  it('reports prune-finished with how many expired rows went', async () => {
    const table = mysqlHelpers.uniqueTable('events');
    const pool = mysqlHelpers.testPool();
    try {
      await expectPruneFinished(new MySQLStore({ pool, table, pruneInterval: 40 }), 'MySQLStore');
    } finally {
      await closeStores();
      await mysqlHelpers.dropTable(pool, table);
      await pool.end();
    }
  });
});
