/**
 * The hand-written baselines the store issues ask for: a naive file store (issue 4), and each
 * database store's own statements through its bare driver (issues 5 and 15; the drivers are in
 * bare-drivers.ts). Same routes, same session data.
 */

import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Koa from 'koa';
import type { Context } from 'koa';
import { ObjectView, routes, type SessionView } from './handlers.js';
import type { BenchApp } from './package.js';

const COOKIE = 'sid';
const DAY_MS = 86_400_000;

/** Each request's session, handed from the baseline middleware to the shared routes. */
function viewSlot(): { put(ctx: Context, view: SessionView): void; take(ctx: Context): Promise<SessionView> } {
  const views = new WeakMap<Context, SessionView>();
  return {
    put: (ctx, view) => void views.set(ctx, view),
    take: async (ctx) => views.get(ctx) ?? new ObjectView({}),
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
    slot.put(ctx, new ObjectView(session));
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

/**
 * A store's three session operations as the bare driver sends them (bench/bare-drivers.ts): the
 * store's own statements or scripts, without the store around them. Data is the session as JSON.
 */
export interface BareDriver {
  /** The record under `id`, or undefined when there is none (or it expired, where the statement checks). */
  get(id: string): Promise<{ data: Buffer; version: number } | undefined>;
  create(id: string, data: Buffer, expires: number): Promise<unknown>;
  /** The versioned update: written only while the record still has `version`. */
  update(id: string, data: Buffer, expires: number, version: number): Promise<unknown>;
  /** Drops what the baseline made (its table, its keys) and ends the connection. */
  close(): Promise<void>;
}

/**
 * The baseline issues 5 and 15 ask for: a store's own statements through its bare driver, JSON in
 * a binary column (or hash field), the id in an unsigned cookie. One get per request with a
 * cookie; after the handler, a create for a new session or a versioned update for a changed one.
 */
export function bareDriverApp(app: Koa, driver: BareDriver): BenchApp {
  const slot = viewSlot();
  app.use(async (ctx, next) => {
    const id = ctx.cookies.get(COOKIE, { signed: false });
    const row = id === undefined ? undefined : await driver.get(id);
    const session = row === undefined ? {} : (JSON.parse(row.data.toString('utf8')) as Record<string, unknown>);
    const before = JSON.stringify(session);
    slot.put(ctx, new ObjectView(session));
    await next();
    const after = JSON.stringify(session);
    if (after === before) return;
    const expires = Date.now() + DAY_MS;
    if (row === undefined || id === undefined) {
      await driver.create(idFor(ctx, undefined), Buffer.from(after), expires);
      return;
    }
    await driver.update(id, Buffer.from(after), expires, row.version);
    ctx.cookies.set(COOKIE, id, cookieOptions(expires));
  });
  app.use(routes(slot.take));
  return { app, close: () => driver.close() };
}
