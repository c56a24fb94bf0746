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
import type { BenchApp } from './apps.js';

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

/*
 * The statements below are PostgresStore's get and versioned update (stores/postgres.ts), copied
 * as text so the baseline costs exactly the same round trips; only the middleware around them differs.
 */
const at = (param: string): string => `(timestamptz 'epoch' + ${param}::bigint * interval '1 millisecond')`;

function statements(table: string) {
  const t = `"${table}"`;
  return {
    ddl:
      `CREATE TABLE IF NOT EXISTS ${t} (id text COLLATE "C" PRIMARY KEY, data bytea NOT NULL, ` +
      `expires timestamptz NOT NULL, version integer NOT NULL, created timestamptz NOT NULL DEFAULT now());` +
      `CREATE INDEX IF NOT EXISTS "${table}_expires_idx" ON ${t} (expires)`,
    get: `SELECT data, round(extract(epoch FROM expires) * 1000)::float8 AS expires, version FROM ${t} WHERE id = $1 AND expires > ${at('$2')}`,
    create: `INSERT INTO ${t} (id, data, expires, version, created) VALUES ($1, $2, ${at('$3')}, 1, ${at('$4')})`,
    update:
      `UPDATE ${t} SET data = $2, expires = ${at('$3')}, version = version + 1 ` +
      `WHERE id = $1 AND expires > ${at('$4')} AND version = $5 RETURNING version`,
    drop: `DROP TABLE IF EXISTS ${t}`,
  };
}

interface Row {
  data: Buffer;
  expires: number;
  version: number;
}

/**
 * Issue 5's baseline: the same SELECT and versioned UPDATE (or INSERT for a new session) through a
 * bare `pg.Pool` of pg's default size, JSON in `bytea`, the id in an unsigned cookie.
 */
export async function barePgApp(app: Koa, connectionString: string): Promise<BenchApp> {
  const pg = await import('pg');
  const pool = new pg.default.Pool({ connectionString, connectionTimeoutMillis: 5000 });
  const sql = statements(`bench_bare_pg_${process.pid}`);
  await pool.query(sql.ddl);
  const slot = viewSlot();
  app.use(async (ctx, next) => {
    const id = ctx.cookies.get(COOKIE, { signed: false });
    const now = Date.now();
    const row = id === undefined ? undefined : (await pool.query<Row>(sql.get, [id, now])).rows[0];
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
      await pool.query(sql.drop);
      await pool.end();
    },
  };
}
