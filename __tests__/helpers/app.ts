/** Building Koa apps for tests, a MemoryStore that counts its calls, and cookie helpers. */

import Koa, { type Context } from 'koa';
import request from 'supertest';
import type { Response } from 'supertest';
import { session, type SessionOptions } from '../../src/index.js';
import type { RecordWrite, Store, StoredRecord } from '../../src/store.js';
import { MemoryStore } from '../../stores/memory.js';

/** Store operations, as counted by {@link CountingStore}. */
export type StoreOperation = 'get' | 'create' | 'update' | 'touch' | 'destroy';

/** A real MemoryStore that counts each call, so tests can say "no store I/O happened". */
export class CountingStore extends MemoryStore {
  readonly calls: Record<StoreOperation, number> = { get: 0, create: 0, update: 0, touch: 0, destroy: 0 };

  get total(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0);
  }

  reset(): void {
    for (const key of Object.keys(this.calls) as StoreOperation[]) this.calls[key] = 0;
  }

  override get(id: string): Promise<StoredRecord | undefined> {
    this.calls.get++;
    return super.get(id);
  }
  override create(id: string, record: RecordWrite): Promise<boolean> {
    this.calls.create++;
    return super.create(id, record);
  }
  override update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    this.calls.update++;
    return super.update(id, record, expectedVersion);
  }
  override touch(id: string, expires: number): Promise<boolean> {
    this.calls.touch++;
    return super.touch(id, expires);
  }
  override destroy(id: string): Promise<void> {
    this.calls.destroy++;
    return super.destroy(id);
  }
}

/** A route handler for {@link makeApp}: `ctx.path` picks the behaviour. */
export type Handler = (ctx: Context) => Promise<void> | void;

/** Stores made by tests, closed after each file so jest sees no open timers. */
const opened: Store[] = [];

/** Tracks a store for {@link closeStores}. */
export function track<S extends Store>(store: S): S {
  opened.push(store);
  return store;
}

/** Closes every tracked store; call from afterAll. */
export async function closeStores(): Promise<void> {
  await Promise.all(opened.splice(0).map((store) => store.close?.()));
}

/** A Koa app with `session(options)` in front of `routes` (matched on exact path; 404 otherwise). */
export function makeApp(
  options: SessionOptions,
  routes: Record<string, Handler>,
  keys: string[] | null = ['test-key-2026-0123456789abcdefghijklmnopqrstuv'],
): Koa {
  const app = new Koa();
  if (keys !== null) app.keys = keys;
  app.silent = true;
  app.use(session(options));
  app.use(async (ctx) => {
    const handler = routes[ctx.path];
    if (handler === undefined) return ctx.throw(404);
    await handler(ctx);
  });
  return app;
}

/** A tracked store (closed by {@link closeStores}) and an app with `session({ store })` over `routes`. */
export function appOn<S extends Store>(store: S, routes: Record<string, Handler>): { store: S; app: Koa } {
  return { store: track(store), app: makeApp({ store }, routes) };
}

/** The Set-Cookie lines of a response (always an array). */
export function setCookies(response: Response): string[] {
  const header = response.headers['set-cookie'] as string[] | string | undefined;
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [header];
}

/** The `name=value` pair of the first Set-Cookie line for `name`, ready for a Cookie header. */
export function cookiePair(response: Response, name = 'koa.sid'): string {
  const line = setCookies(response).find((l) => l.startsWith(`${name}=`));
  if (line === undefined) throw new Error(`response set no ${name} cookie: ${JSON.stringify(setCookies(response))}`);
  return line.slice(0, line.indexOf(';'));
}

/** The cookie's value alone. */
export function cookieValue(response: Response, name = 'koa.sid'): string {
  return cookiePair(response, name).slice(name.length + 1);
}

/** supertest's agent-free client for `app`. */
export function client(app: Koa): ReturnType<typeof request> {
  return request(app.callback());
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Collects what `app` reports through Koa's 'error' event, for a test to read. */
export function koaErrors(app: Koa): unknown[] {
  const errors: unknown[] = [];
  app.on('error', (error: unknown) => errors.push(error));
  return errors;
}
