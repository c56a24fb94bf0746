/** Sessions counted through Koa by several clients while the cluster changes under them, and the checks that follow. */

import { expect } from '@jest/globals';
import type { Context } from 'koa';
import type request from 'supertest';
import { getSession, newSession, type SessionMiddleware } from '../../../src/index.js';
import type { Store } from '../../../src/store.js';
import { client as http, cookiePair, koaErrors, makeApp } from '../../helpers/app.js';

const WORKERS = 4;
const SESSIONS_PER_WORKER = 5;
/** How many owners the sessions share, when they have owners. */
const OWNERS = 3;

/** `/login?owner=` starts a session (owned, when asked) at 0 views; `/count` adds one and answers the count. */
const countingRoutes = {
  '/login': async (ctx: Context) => {
    const s = await newSession(ctx);
    s.set('views', 0);
    if (ctx.query.owner !== undefined) s.owner = String(ctx.query.owner);
    ctx.body = 'ok';
  },
  '/count': async (ctx: Context) => {
    const s = await getSession<{ views: number }>(ctx);
    s.set('views', (s.get('views') ?? 0) + 1);
    ctx.body = { views: s.get('views') };
  },
};

/** A request that did not answer 200 with the next count: what it answered, and the error behind a 500. */
type Failure = { session: number; status: number; body: unknown; error: string | undefined };

/** An app serving {@link countingRoutes} on `store`, and the errors it reports (the causes of its 500s). */
export interface CountingApp {
  http: ReturnType<typeof request>;
  errors: unknown[];
}

/** See {@link CountingApp}. */
export function countingApp(store: Store): CountingApp {
  const app = makeApp({ store }, countingRoutes);
  return { http: http(app), errors: koaErrors(app) };
}

/** An error and its causes, one line. */
function describeError(error: unknown): string | undefined {
  if (!(error instanceof Error)) return error === undefined ? undefined : String(error);
  const cause = describeError(error.cause);
  return cause === undefined ? error.message : `${error.message} (cause: ${cause})`;
}

/** Logged-in sessions, and the owners they belong to (none when `withOwners` is false). */
export interface Sessions {
  cookies: string[];
  owners: string[];
  /** Each session's count as its client last saw it. */
  views: number[];
}

/** Logs in WORKERS × SESSIONS_PER_WORKER sessions, spread over OWNERS owners when `withOwners`. */
export async function logIn({ http: app }: CountingApp, withOwners: boolean): Promise<Sessions> {
  // Owners' index keys sit under the test's own prefix, so plain names are the test's own too.
  const owners = withOwners ? Array.from({ length: OWNERS }, (_, i) => `user-${i}`) : [];
  const cookies: string[] = [];
  for (let i = 0; i < WORKERS * SESSIONS_PER_WORKER; i++) {
    const path = withOwners ? `/login?owner=${owners[i % OWNERS]}` : '/login';
    cookies.push(cookiePair(await app.get(path).expect(200)));
  }
  return { cookies, owners, views: cookies.map(() => 0) };
}

/**
 * Keeps WORKERS clients counting on `sessions` until `change` has settled (and for two rounds at
 * least), then resolves to what `change` resolved to, or rejects with its error once the clients
 * have stopped. Each client owns its sessions, so every answer has one right count; any other
 * answer is a failure, and the failures are checked to be none.
 */
export async function countWhile<T>({ http: app, errors }: CountingApp, sessions: Sessions, change: () => Promise<T>): Promise<T> {
  const failures: Failure[] = [];
  let changing = true;
  const worker = async (w: number): Promise<void> => {
    for (let round = 0; changing || round < 2; round++) {
      for (let i = w * SESSIONS_PER_WORKER; i < (w + 1) * SESSIONS_PER_WORKER; i++) {
        const response = await app.get('/count').set('Cookie', sessions.cookies[i]!);
        if (response.status === 200 && response.body.views === sessions.views[i]! + 1) sessions.views[i]!++;
        else failures.push({ session: i, status: response.status, body: response.body, error: describeError(errors.shift()) });
      }
    }
  };
  const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  const changed = change().finally(() => (changing = false));
  await Promise.allSettled([changed]);
  await load;
  const result = await changed;
  expect(failures).toEqual([]);
  return result;
}

/** Every session still loads with its last count, was counted through the change, and its owner lists it. */
export async function expectEverySessionKept({ http: app }: CountingApp, sessions: Sessions, lists: SessionMiddleware): Promise<void> {
  for (const [i, cookie] of sessions.cookies.entries()) {
    expect(sessions.views[i]).toBeGreaterThanOrEqual(2);
    await app
      .get('/count')
      .set('Cookie', cookie)
      .expect(200, { views: sessions.views[i]! + 1 });
    sessions.views[i]!++;
  }
  for (const [o, owner] of sessions.owners.entries()) {
    const listed = (await lists.listSessions(owner)).map((s) => s.data.views);
    const expected = sessions.views.filter((_, i) => i % sessions.owners.length === o);
    expect(listed.sort()).toEqual(expected.sort());
  }
}
