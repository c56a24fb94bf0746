/**
 * The apps of the store side-by-side (`npm run bench:stores`): koa-session 7 on an external store
 * against the kit on its own store of the same backend, both answering the same two routes.
 */

import type { Context, Middleware } from 'koa';
import koaSession from 'koa-session';
import type { KoaRedisStore } from 'koa-redis';
import { connectRedis, dropPgTable, newApp, storeClass, type StoreClass } from '../apps.js';
import { benchUser } from '../handlers.js';
import { DATABASE_URL, exported, loadEntry, REDIS_URL, SkipScenario, type BenchApp } from '../package.js';

/** Which app a side-by-side server runs. */
export type SideId = 'koa-redis' | 'kit-redis' | 'kit-redis-autopipe' | 'koa-pg' | 'kit-pg';

/** A session as the routes use it, whichever library holds it. */
interface Access {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  keys(): Iterable<string>;
}

/**
 * koa-session's plain-object session as an {@link Access}. A class, made per request, for the
 * reason bench/handlers.ts's `ObjectView` gives: arrow functions in a literal would each cost an
 * `Object.defineProperty` under tsx, charged to koa-session's side.
 */
class PlainAccess implements Access {
  readonly #data: Record<string, unknown>;

  constructor(data: Record<string, unknown>) {
    this.#data = data;
  }

  get(key: string): unknown {
    return this.#data[key];
  }

  set(key: string, value: unknown): void {
    this.#data[key] = value;
  }

  keys(): Iterable<string> {
    return Object.keys(this.#data);
  }
}

/** The cookie that names the load client a request comes from; each client bumps its own counter. */
export const CLIENT_COOKIE = 'bench.client';
const COUNTER = /^c\d+$/;

/**
 * `/bump` reads the session and bumps the counter of the client that sent it (`c<n>`), adding the
 * user record on a first visit; `/counters` only reads: the sum of every client's counter. A lost
 * update shows as a sum below the number of bumps the server answered with a 2xx.
 */
function routes(open: (ctx: Context) => Promise<Access>): Middleware {
  return async function routes(ctx: Context): Promise<void> {
    if (ctx.path === '/bump') {
      const session = await open(ctx);
      const key = `c${Number(ctx.cookies.get(CLIENT_COOKIE, { signed: false }) ?? 0)}`;
      const value = Number(session.get(key) ?? 0) + 1;
      session.set(key, value);
      if (session.get('user') === undefined) session.set('user', benchUser());
      ctx.body = { value };
    } else if (ctx.path === '/counters') {
      const session = await open(ctx);
      let sum = 0;
      for (const key of session.keys()) if (COUNTER.test(key)) sum += Number(session.get(key));
      ctx.body = { sum };
    } else {
      ctx.status = 404;
    }
  };
}

/** Keys and tables of this process only, so runs beside other work never meet theirs. */
const OWN = `bench-sbs:${process.pid}:`;

/**
 * Builds the app for `side`; throws SkipScenario when its service or a module is missing.
 * `onRetry` hears each write the kit tried again after losing a version race.
 */
export async function buildSide(side: SideId, onRetry: () => void): Promise<BenchApp> {
  switch (side) {
    case 'koa-redis':
      return koaSessionApp(await koaRedisStore());
    case 'koa-pg':
      return koaSessionApp(await koaPgStore());
    case 'kit-redis':
    case 'kit-redis-autopipe':
      return kitApp(await kitRedisStore(side === 'kit-redis-autopipe'), onRetry);
    case 'kit-pg':
      return kitApp(await kitPgStore(), onRetry);
  }
}

/** koa-session's external store contract, and what to release at the end. */
interface ExternalStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, maxAge: number): Promise<void>;
  destroy(key: string): Promise<void>;
  release(): Promise<void>;
}

function koaSessionApp(store: ExternalStore): BenchApp {
  const app = newApp();
  app.use(koaSession({ store, key: 'koa.sess', maxAge: 86_400_000, prefix: `${OWN}ks:` }, app));
  app.use(
    // koa-session puts `session` on the context without typing it on Koa's Context.
    routes(async (ctx) => new PlainAccess((ctx as unknown as { session: Record<string, unknown> }).session)),
  );
  return { app, close: () => store.release() };
}

/** koa-redis 4 as its README shows it: a client of its own from a URL, JSON values with a TTL. */
async function koaRedisStore(): Promise<ExternalStore> {
  const { default: redisStore } = await import('koa-redis');
  const store = redisStore({ url: REDIS_URL });
  await ready(store);
  return {
    get: (key) => store.get(key),
    set: (key, value, maxAge) => store.set(key, value, maxAge),
    destroy: (key) => store.destroy(key),
    release: async () => {
      await dropKeys(`${OWN}*`);
      await store.client.quit();
    },
  };
}

async function ready(store: KoaRedisStore): Promise<void> {
  if (store.client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SkipScenario(`Redis is not reachable at ${REDIS_URL}`)), 5000);
    store.client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Deletes this process's keys through a client of its own (never a flush: the Redis is shared). */
async function dropKeys(pattern: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await client.quit();
}

type Closable = InstanceType<StoreClass>;

async function kitRedisStore(autoPipelining: boolean): Promise<{ store: Closable; release: () => Promise<void> }> {
  const Store = await storeClass('redis', 'RedisStore');
  const client = await connectRedis({ enableAutoPipelining: autoPipelining });
  const store = new Store({ client, prefix: `${OWN}kit:` });
  return {
    store,
    release: async () => {
      await dropKeys(`${OWN}*`);
      await client.quit();
    },
  };
}

async function kitPgStore(): Promise<{ store: Closable; release: () => Promise<void> }> {
  const Store = await storeClass('postgres', 'PostgresStore');
  const table = `bench_sbs_kit_${process.pid}`;
  const store = new Store({ connectionString: DATABASE_URL, table });
  return { store, release: () => dropPgTable(table) };
}

async function kitApp({ store, release }: { store: Closable; release: () => Promise<void> }, onRetry: () => void): Promise<BenchApp> {
  const index = await loadEntry('koa-session-kit');
  const session = exported<(options?: Record<string, unknown>) => Middleware>(index, 'session', 'koa-session-kit');
  const getSession = exported<(ctx: Context) => Promise<Access>>(index, 'getSession', 'koa-session-kit');
  const app = newApp();
  app.use(session({ store, onEvent: (event: { type: string }) => event.type === 'conflict-retried' && onRetry() }));
  app.use(routes(getSession));
  return {
    app,
    close: async () => {
      await store.close?.();
      await release();
    },
  };
}

/** Statements PostgresStore sends, with the values of each in the order it sends them. */
interface Captured {
  text: string;
  values: unknown[];
}

/**
 * koa-session's external store on bare `pg`, issuing PostgresStore's own statements (captured from
 * the store on a table of its own): its SELECT for get, its unversioned UPDATE for set, and its
 * INSERT when the UPDATE found no row. koa-session has no version to check, which is the point.
 */
async function koaPgStore(): Promise<ExternalStore> {
  const pg = await import('pg');
  const table = `bench_sbs_koa_${process.pid}`;
  const sql = await capture(pg, table);
  const pool = new pg.default.Pool({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  type Row = { data: Buffer };
  return {
    async get(key) {
      const row = (await pool.query<Row>(sql.get, [key, Date.now()])).rows[0];
      return row === undefined ? undefined : JSON.parse(row.data.toString('utf8'));
    },
    async set(key, value, maxAge) {
      const values = [key, Buffer.from(JSON.stringify(value)), Date.now() + maxAge, Date.now(), null];
      if ((await pool.query(sql.update, values)).rowCount === 0) await pool.query(sql.create, values);
    },
    async destroy(key) {
      await pool.query(sql.destroy, [key]);
    },
    async release() {
      await pool.query(`DROP TABLE IF EXISTS "${table}"`);
      await pool.end();
    },
  };
}

/** Runs PostgresStore once on a recording pool and keeps the statement of each operation. */
async function capture(pg: typeof import('pg'), table: string): Promise<Record<'get' | 'create' | 'update' | 'destroy', string>> {
  const Store = (await storeClass('postgres', 'PostgresStore')) as unknown as new (options: Record<string, unknown>) => {
    create(id: string, record: { data: Uint8Array; expires: number }): Promise<unknown>;
    get(id: string): Promise<unknown>;
    update(id: string, record: { data: Uint8Array; expires: number }): Promise<unknown>;
    destroy(id: string): Promise<unknown>;
  };
  const pool = new pg.default.Pool({ connectionString: DATABASE_URL, max: 1, connectionTimeoutMillis: 5000 });
  const seen: Captured[] = [];
  const recording = new Proxy(pool, {
    get(target, property) {
      if (property === 'query') {
        return (text: string, values?: unknown[]) => {
          if (values !== undefined) seen.push({ text, values });
          return target.query(text, values);
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const store = new Store({ pool: recording, table, pruneInterval: false });
  const id = 'bench-probe-'.padEnd(43, '0');
  const record = { data: Buffer.from('{}'), expires: Date.now() + 86_400_000 };
  try {
    await store.create(id, record);
    await store.get(id);
    await store.update(id, record);
    await store.destroy(id);
  } finally {
    await pool.end();
  }
  const [create, get, update, destroy] = seen.filter((query) => query.values[0] === id);
  const shaped = (query: Captured | undefined, length: number): query is Captured => query?.values.length === length;
  if (!shaped(create, 5) || !shaped(get, 2) || !shaped(update, 5) || !shaped(destroy, 1)) {
    throw new SkipScenario(
      'PostgresStore sends its statements with other parameters than bench/stores/apps.ts expects ([id, now] for get, [id, data, expires, now, owner] for writes)',
    );
  }
  return { get: get.text, create: create.text, update: update.text, destroy: destroy.text };
}
