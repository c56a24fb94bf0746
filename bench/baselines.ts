/**
 * The hand-written baselines the store issues ask for: a naive file store (issue 4) and the
 * PostgresStore statements issued through bare `pg` (issue 5). Same routes, same session data.
 */

import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Koa from 'koa';
import type { Context } from 'koa';
import { objectView, routes, type SessionView } from './handlers.js';
import { exported, loadEntry, SkipScenario, type BenchApp } from './package.js';

/** The slice of the `Store` contract the probe below drives. */
interface ProbedStore {
  create(id: string, record: { data: Uint8Array; expires: number }): Promise<unknown>;
  get(id: string): Promise<unknown>;
  update(id: string, record: { data: Uint8Array; expires: number }, version: number): Promise<unknown>;
  destroy(id: string): Promise<unknown>;
  close?(): Promise<void>;
}

const COOKIE = 'sid';
const DAY_MS = 86_400_000;

/** Each request's session, handed from the baseline middleware to the shared routes. */
function viewSlot(): { put(ctx: Context, view: SessionView): void; take(ctx: Context): Promise<SessionView> } {
  const views = new WeakMap<Context, SessionView>();
  return {
    put: (ctx, view) => void views.set(ctx, view),
    take: async (ctx) => views.get(ctx) ?? objectView({}),
  };
}

function cookieOptions(expires: number): { expires: Date; httpOnly: true; sameSite: 'lax'; signed: false } {
  return { expires: new Date(expires), httpOnly: true, sameSite: 'lax', signed: false };
}

/** The id in the request's cookie, or a new one (and its Set-Cookie) when there is none. */
function idFor(ctx: Context, known: string | undefined): string {
  if (known !== undefined) return known;
  const id = randomBytes(32).toString('base64url');
  ctx.cookies.set(COOKIE, id, cookieOptions(Date.now() + DAY_MS));
  return id;
}

/**
 * Issue 4's naive baseline: one JSON file per id, `readFile` then `writeFile`, no header, no
 * atomic rename, no fsync, no locking, no validation of the id. Fast, and unsafe in every way
 * FileStore is not.
 */
export function bareFileApp(app: Koa, dir: string): BenchApp {
  const fileOf = (id: string): string => join(dir, `${id}.json`);
  const slot = viewSlot();
  app.use(async (ctx, next) => {
    const id = ctx.cookies.get(COOKIE, { signed: false });
    let data: Record<string, unknown> | undefined;
    if (id !== undefined) {
      try {
        data = JSON.parse(await readFile(fileOf(id), 'utf8')) as Record<string, unknown>;
      } catch {
        data = undefined;
      }
    }
    const session = data ?? {};
    const before = JSON.stringify(session);
    slot.put(ctx, objectView(session));
    await next();
    const after = JSON.stringify(session);
    if (after === before) return;
    const target = idFor(ctx, data === undefined ? undefined : id);
    await writeFile(fileOf(target), after);
    // The kit re-sends the cookie with the moved expiry on every write; so does the baseline.
    if (data !== undefined) ctx.cookies.set(COOKIE, target, cookieOptions(Date.now() + DAY_MS));
  });
  app.use(routes(slot.take));
  return { app, close: () => rm(dir, { recursive: true, force: true }) };
}

/** PostgresStore's own SQL for the three operations a session request uses, as it sends them. */
interface StoreSql {
  table: string;
  get: string;
  create: string;
  update: string;
}

/**
 * Captures the statements PostgresStore sends (get, create, versioned update) by giving it a pool
 * that records each query, so the baseline issues exactly the same SQL and only the middleware
 * around it differs. The store also creates the baseline's table, with its own DDL. Skips the
 * scenario when the store is missing or its parameters no longer come in the order used here.
 */
async function storeStatements(pg: typeof import('pg'), connectionString: string, table: string): Promise<StoreSql> {
  const entry = 'koa-session-kit/stores/postgres';
  const PostgresStore = exported<new (options: Record<string, unknown>) => ProbedStore>(await loadEntry(entry), 'PostgresStore', entry);
  const pool = new pg.default.Pool({ connectionString, max: 1, connectionTimeoutMillis: 5000 });
  const seen: { text: string; values: unknown[] }[] = [];
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
  const store = new PostgresStore({ pool: recording, table, pruneInterval: false });
  const id = 'bench-probe-'.padEnd(43, '0');
  const data = Buffer.from('{}');
  const expires = Date.now() + DAY_MS;
  try {
    await store.create(id, { data, expires });
    await store.get(id);
    await store.update(id, { data, expires }, 1);
    await store.destroy(id);
  } finally {
    await store.close?.();
    await pool.end();
  }
  const [create, get, update] = seen.filter((query) => query.values[0] === id);
  const shaped = (query: { values: unknown[] } | undefined, length: number): boolean =>
    query !== undefined && query.values.length === length && (length < 3 || query.values[2] === expires);
  if (create === undefined || get === undefined || update === undefined || !shaped(create, 4) || !shaped(get, 2) || !shaped(update, 5)) {
    throw new SkipScenario(
      'PostgresStore sends its statements with other parameters than bench/baselines.ts expects ([id, now] for get, [id, data, expires, now(, version)] for writes)',
    );
  }
  return { table, get: get.text, create: create.text, update: update.text };
}

interface Row {
  data: Buffer;
  expires: number;
  version: number;
}

/**
 * Issue 5's baseline: PostgresStore's own SELECT and versioned UPDATE (or INSERT for a new session)
 * through a bare `pg.Pool` of pg's default size, JSON in `bytea`, the id in an unsigned cookie.
 */
export async function barePgApp(app: Koa, connectionString: string): Promise<BenchApp> {
  const pg = await import('pg');
  const sql = await storeStatements(pg, connectionString, `bench_bare_pg_${process.pid}`);
  const pool = new pg.default.Pool({ connectionString, connectionTimeoutMillis: 5000 });
  const slot = viewSlot();
  app.use(async (ctx, next) => {
    const id = ctx.cookies.get(COOKIE, { signed: false });
    const row = id === undefined ? undefined : (await pool.query<Row>(sql.get, [id, Date.now()])).rows[0];
    const session = row === undefined ? {} : (JSON.parse(row.data.toString('utf8')) as Record<string, unknown>);
    const before = JSON.stringify(session);
    slot.put(ctx, objectView(session));
    await next();
    const after = JSON.stringify(session);
    if (after === before) return;
    const expires = Date.now() + DAY_MS;
    if (row === undefined || id === undefined) {
      await pool.query(sql.create, [idFor(ctx, undefined), Buffer.from(after), expires, Date.now()]);
      return;
    }
    await pool.query(sql.update, [id, Buffer.from(after), expires, Date.now(), row.version]);
    ctx.cookies.set(COOKIE, id, cookieOptions(expires));
  });
  app.use(routes(slot.take));
  return {
    app,
    close: async () => {
      await pool.query(`DROP TABLE IF EXISTS "${sql.table}"`);
      await pool.end();
    },
  };
}
