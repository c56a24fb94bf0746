/** Builds the Koa app a scenario's server process runs: bare, koa-session 7, or koa-session-kit on some store. */

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Koa, { type Context } from 'koa';
import koaSession from 'koa-session';
import type { Redis } from 'ioredis';
import { bareRoutes, benchUser, ObjectView, routes, sizedUser, type BenchData, type SessionView } from './handlers.js';
import { bareMysql, barePg, bareRedis, bareSqlite, dropKeys } from './bare-drivers.js';
import { bareDriverApp, bareFileApp, type BareDriver } from './baselines.js';
import { floorApp } from './floor.js';
import { DATABASE_URL, exported, loadEntry, MYSQL_URL, REDIS_URL, scratchDir, SkipScenario, type BenchApp } from './package.js';
import type { AppSpec, BareDriverKind } from './scenarios.js';

/** Keys for the signed id cookie (kit) and koa-session's signed cookies: the same for both. */
export const APP_KEYS = ['bench-key-2026-0123456789abcdef0123456789', 'bench-key-older-0123456789abcdef01234567'];

/** A Koa app with {@link APP_KEYS}. */
export function newApp(): Koa {
  const app = new Koa();
  app.keys = APP_KEYS;
  return app;
}

/** Builds the app for `spec`; throws SkipScenario when a module it needs is missing or broken. */
export async function buildApp(spec: AppSpec): Promise<BenchApp> {
  switch (spec.kind) {
    case 'bare': {
      const app = newApp();
      app.use(bareRoutes());
      return { app, close: async () => {} };
    }
    case 'bare-middleware': {
      const app = newApp();
      // Awaits the handler and does nothing after it: the least any session middleware must do.
      app.use(async (_ctx, next) => {
        await next();
      });
      app.use(bareRoutes());
      return { app, close: async () => {} };
    }
    case 'koa-session':
      return koaSessionApp();
    case 'floor':
      return floorApp(newApp(), APP_KEYS);
    case 'kit':
      return kitApp(spec);
    case 'naive-file':
      return bareFileApp(newApp(), await scratchDir('naive-file'));
    case 'bare-pg':
    case 'bare-mysql':
    case 'bare-sqlite':
    case 'bare-redis':
      return bareDriverApp(newApp(), await bareDriver(spec.kind));
  }
}

function bareDriver(kind: BareDriverKind): Promise<BareDriver> {
  switch (kind) {
    case 'bare-pg':
      return barePg(DATABASE_URL);
    case 'bare-mysql':
      return bareMysql(MYSQL_URL);
    case 'bare-sqlite':
      return bareSqlite();
    case 'bare-redis':
      return bareRedis(REDIS_URL);
  }
}

/** koa-session 7 with an in-memory external store that keeps JSON text, as a remote store would. */
function koaSessionApp(): BenchApp {
  const app = newApp();
  const records = new Map<string, string>();
  const store = {
    async get(key: string): Promise<unknown> {
      const text = records.get(key);
      return text === undefined ? undefined : JSON.parse(text);
    },
    async set(key: string, value: unknown): Promise<void> {
      records.set(key, JSON.stringify(value));
    },
    async destroy(key: string): Promise<void> {
      records.delete(key);
    },
  };
  app.use(koaSession({ store, key: 'koa.sess', maxAge: 86_400_000 }, app));
  // koa-session puts `session` on the context without typing it on Koa's Context.
  app.use(routes(async (ctx) => new ObjectView((ctx as unknown as { session: Record<string, unknown> }).session)));
  return { app, close: async () => {} };
}

type Closable = { close?: () => Promise<void> };

/** The kit's Session as the handler's SessionView (a class for the reason {@link ObjectView} gives). */
class KitView implements SessionView {
  readonly #session: KitSession;

  constructor(session: KitSession) {
    this.#session = session;
  }

  get(key: 'views'): number | undefined {
    const value = this.#session.get(key);
    return typeof value === 'number' ? value : undefined;
  }

  set(key: 'views', value: number): void {
    this.#session.set(key, value);
  }

  hasUser(): boolean {
    return this.#session.has('user');
  }

  setUser(user: BenchData['user']): void {
    this.#session.set('user', user);
  }
}

/** The part of the kit's Session the handler uses. */
type KitSession = { get(k: string): unknown; set(k: string, v: unknown): unknown; has(k: string): boolean };

async function kitApp(spec: AppSpec): Promise<BenchApp> {
  const index = await loadEntry('koa-session-kit');
  const session = exported<(options?: Record<string, unknown>) => Koa.Middleware>(index, 'session', 'koa-session-kit');
  const getSession = exported<(ctx: Context) => Promise<KitSession>>(index, 'getSession', 'koa-session-kit');
  const serializer = await makeSerializer(spec.serializer ?? 'json');
  const { store, release } = await makeStore(spec.store ?? 'memory');
  const app = newApp();
  const newUser = spec.sessionBytes === undefined ? benchUser : sizedUser(spec.sessionBytes);
  if (spec.ctxSession === true) {
    app.use(session({ store, serializer, ctxSession: true }));
    // The same handler as koa-session's: plain property reads and writes on ctx.session.
    app.use(routes(async (ctx) => new ObjectView((ctx as unknown as { session: Record<string, unknown> }).session), newUser));
    return { app, close: () => closeStore(store, release) };
  }
  app.use(session({ store, serializer }));
  app.use(routes(async (ctx): Promise<SessionView> => new KitView(await getSession(ctx)), newUser));
  return { app, close: () => closeStore(store, release) };
}

async function closeStore(store: unknown, release: () => Promise<void>): Promise<void> {
  await (store as Closable).close?.();
  await release();
}

async function makeSerializer(name: 'json' | 'superjson' | 'msgpack'): Promise<unknown> {
  const entry = `koa-session-kit/serializers/${name}`;
  const factory = exported<() => unknown>(await loadEntry(entry), `${name}Serializer`, entry);
  return factory();
}

/** A kit store's constructor, as DESIGN.md documents it. */
export type StoreClass = new (options: Record<string, unknown>) => { close?: () => Promise<void> };

/** The class `name` exported by `koa-session-kit/stores/<module>`, or a skip saying why not. */
export async function storeClass(module: string, name: string): Promise<StoreClass> {
  const entry = `koa-session-kit/stores/${module}`;
  return exported<StoreClass>(await loadEntry(entry), name, entry);
}

/** The store for a scenario, made with the constructor options DESIGN.md names, and what to clean up after. */
async function makeStore(kind: NonNullable<AppSpec['store']>): Promise<{ store: unknown; release: () => Promise<void> }> {
  const nothing = async (): Promise<void> => {};
  switch (kind) {
    case 'memory': {
      const Store = await storeClass('memory', 'MemoryStore');
      return { store: new Store({}), release: nothing };
    }
    case 'file':
    case 'file-nofsync': {
      const Store = await storeClass('file', 'FileStore');
      const dir = await scratchDir(kind);
      const options = kind === 'file' ? { dir } : { dir, fsync: false };
      return { store: new Store(options), release: () => rm(dir, { recursive: true, force: true }) };
    }
    case 'postgres': {
      const Store = await storeClass('postgres', 'PostgresStore');
      const table = `bench_kit_sessions_${process.pid}`;
      const store = new Store({ connectionString: DATABASE_URL, table });
      return { store, release: () => dropPgTable(table) };
    }
    case 'mysql': {
      const Store = await storeClass('mysql', 'MySQLStore');
      const table = `bench_kit_sessions_${process.pid}`;
      const store = new Store({ uri: MYSQL_URL, table });
      return { store, release: () => dropMySQLTable(table) };
    }
    case 'sqlite': {
      const Store = await storeClass('sqlite', 'SQLiteStore');
      const dir = await scratchDir('sqlite');
      const store = new Store({ filename: join(dir, 'sessions.db') });
      return { store, release: () => rm(dir, { recursive: true, force: true }) };
    }
    case 'redis': {
      const Store = await storeClass('redis', 'RedisStore');
      const client = await connectRedis();
      const prefix = `bench:${process.pid}:`;
      const store = new Store({ client, prefix });
      return { store, release: () => dropKeys(client, prefix) };
    }
    case 'cookie': {
      const Store = await storeClass('cookie', 'CookieStore');
      return { store: new Store({ keys: ['bench-cookie-secret-0123456789abcdefghijklmnop'] }), release: nothing };
    }
  }
}

/** An ioredis client on REDIS_URL (`options` added to the bench's own), connected, or a skip when Redis does not answer. */
export async function connectRedis(options: { enableAutoPipelining?: boolean } = {}): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true, ...options });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new SkipScenario(`Redis is not reachable at ${REDIS_URL} (${String(error)})`);
  }
  return client;
}

/** Drops a table of this process from the bench's PostgreSQL. */
export async function dropPgTable(table: string): Promise<void> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS "${table}"`);
  } finally {
    await client.end();
  }
}

async function dropMySQLTable(table: string): Promise<void> {
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 5000 });
  try {
    await connection.query(`DROP TABLE IF EXISTS \`${table}\``);
  } finally {
    await connection.end();
  }
}
