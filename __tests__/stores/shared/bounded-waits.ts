/** A store on a server of the test's own that hangs or dies: requests fail with SessionStoreError within its timeouts, then recover. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { SessionStoreError } from '../../../src/errors.js';
import { getSession } from '../../../src/index.js';
import type { Store } from '../../../src/store.js';
import { client as http, cookiePair, koaErrors, makeApp } from '../../helpers/app.js';
import type { OwnServer } from '../../helpers/own-server.js';

/** Generous: two cores shared with other work can delay a timer by a second or more. */
const SLACK_MS = 4_000;

export interface Timeouts {
  connectTimeout?: number;
  commandTimeout?: number;
}

export interface BoundedWaitsTarget {
  /** The describe title, e.g. `new RedisStore({ url }) when its Redis hangs or dies`. */
  title: string;
  /** How the test names the server in prose: `the database`, `Redis`. */
  server: string;
  /** False when the server binaries are missing: the tests are skipped, or thrown on in CI. */
  available: boolean;
  start: () => Promise<OwnServer>;
  open: (url: string, timeouts: Timeouts) => Store & { close(): Promise<void> };
  /** The default command timeout the store applies to the client it makes. */
  defaultCommandTimeoutMs: number;
  /** The driver's message for a command that timed out, the SessionStoreError's cause. */
  timeoutMessage: string;
  /** A hang before the first connection: the timeouts given, the bound and the option that sets it. */
  hungFirst: { timeouts: Timeouts; withinMs: number; within: keyof Timeouts };
  /** A dead server: how fast the request must fail, and how the test name says so. */
  dead: { withinMs: number; when: string };
}

const routes = {
  '/count': async (ctx: Context) => {
    const s = await getSession<{ views: number }>(ctx);
    s.set('views', (s.get('views') ?? 0) + 1);
    ctx.body = { views: s.get('views') };
  },
};

/** An app on `store` whose errors (Koa's 'error' events) the test can read. */
function appOn(store: Store): { app: ReturnType<typeof http>; errors: unknown[] } {
  const koa = makeApp({ store }, routes);
  return { app: http(koa), errors: koaErrors(koa) };
}

/** Sends `/count` and says how it ended and how long it took. */
async function timed(app: ReturnType<typeof http>, cookie?: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const request = app.get('/count');
  if (cookie !== undefined) request.set('Cookie', cookie);
  const { status } = await request;
  return { status, ms: performance.now() - started };
}

/** Registers the hung/dead-server tests for one store, on a server `target.start` starts for them alone. */
export function describeBoundedWaits(target: BoundedWaitsTarget): void {
  const describeWithServer = target.available ? describe : describe.skip;
  describeWithServer(target.title, () => {
    let server: OwnServer;
    const stores: Array<{ close(): Promise<void> }> = [];
    const store = (timeouts: Timeouts = {}): Store => {
      const made = target.open(server.url, timeouts);
      stores.push(made);
      return made;
    };

    beforeAll(async () => {
      server = await target.start();
    }, 60_000);

    afterAll(async () => {
      server.resume();
      await Promise.all(stores.map((made) => made.close()));
      await server.dispose();
    }, 30_000);

    it(`answers 500 with a SessionStoreError after the default command timeout while ${target.server} is hung, and 200 once it resumes`, async () => {
      const { app, errors } = appOn(store());
      const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
      server.hang();
      let outcome;
      try {
        outcome = await timed(app, cookie);
      } finally {
        server.resume();
      }
      expect(outcome.status).toBe(500);
      expect(outcome.ms).toBeGreaterThanOrEqual(target.defaultCommandTimeoutMs - 100);
      expect(outcome.ms).toBeLessThan(target.defaultCommandTimeoutMs + SLACK_MS);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(SessionStoreError);
      expect(errors[0]).toMatchObject({ operation: 'get', cause: { message: target.timeoutMessage } });
      await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
    }, 20_000);

    it(`answers 500 within ${target.hungFirst.within} when ${target.server} is hung before the store first connects, and 200 once it resumes`, async () => {
      const { app, errors } = appOn(store(target.hungFirst.timeouts));
      server.hang();
      let outcome;
      try {
        outcome = await timed(app);
      } finally {
        server.resume();
      }
      expect(outcome.status).toBe(500);
      expect(outcome.ms).toBeLessThan(target.hungFirst.withinMs + SLACK_MS);
      expect(errors[0]).toBeInstanceOf(SessionStoreError);
      await app.get('/count').expect(200, { views: 1 });
    }, 20_000);

    it(`answers 500 with a SessionStoreError ${target.dead.when}`, async () => {
      const { app, errors } = appOn(store());
      const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
      await server.stop();
      const outcome = await timed(app, cookie);
      expect(outcome.status).toBe(500);
      expect(outcome.ms).toBeLessThan(target.dead.withinMs + SLACK_MS);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(SessionStoreError);
    }, 20_000);
  });
}

/**
 * Whether the binaries to start a server of the test's own are there: false (with a warning)
 * when they are not, but a throw in CI, which must run these tests.
 */
export function ownServerAvailable(available: boolean, missing: string, ciNeeds: string, skipping: string): boolean {
  if (available) return true;
  if (process.env.CI === 'true') throw new Error(`${missing}; CI needs ${ciNeeds}`);
  console.warn(`${missing}: skipping the ${skipping}`);
  return false;
}
