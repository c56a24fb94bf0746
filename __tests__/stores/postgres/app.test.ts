/** session() on PostgresStore through Koa: core behaviour, every serializer, two app instances, an outage. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import type pg from 'pg';
import { getSession } from '../../../src/index.js';
import type { Serializer } from '../../../src/serializer.js';
import { jsonSerializer } from '../../../serializers/json.js';
import { msgpackSerializer } from '../../../serializers/msgpack.js';
import { superjsonSerializer } from '../../../serializers/superjson.js';
import { PostgresStore } from '../../../stores/postgres.js';
import { client as http, cookiePair, cookieValue, makeApp, setCookies } from '../../helpers/app.js';
import { describeSessionBehaviour, itSharesOneSession, sessionRoutes } from '../shared/behaviour.js';
import {
  backendPids,
  describeWithPostgres,
  dropTable,
  scratchDatabase,
  type ScratchDatabase,
  terminateBackends,
  testPool,
  uniqueAppName,
  uniqueTable,
  waitFor,
} from '../../helpers/postgres-store.js';

const routes = {
  ...sessionRoutes,
  '/health': (ctx: Context) => {
    ctx.body = 'up'; // never touches the session
  },
};

describeWithPostgres('PostgresStore under session()', () => {
  const table = uniqueTable('app');
  let admin: pg.Pool;
  beforeAll(() => {
    admin = testPool({ max: 10 });
  });
  afterAll(async () => {
    await dropTable(admin, table);
    await admin.end();
  });

  describeSessionBehaviour('PostgresStore', {
    make: async () => new PostgresStore({ pool: admin, table, pruneInterval: false }),
    serverSide: true,
  });

  describe('every serializer through bytea', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => 255 - i);
    const cases: [string, Serializer, unknown, (value: unknown) => unknown][] = [
      ['json', jsonSerializer(), { name: 'ada', tags: ['x', 'ÿ', '😀'], n: -0.5 }, (v) => v],
      [
        'superjson',
        superjsonSerializer(),
        { at: new Date(Date.UTC(2030, 0, 2)), seen: new Map([['a', 1n]]) },
        (v) => {
          const { at, seen } = v as { at: Date; seen: Map<string, bigint> };
          return { at: at.toISOString(), seen: [...seen].map(([k, n]) => [k, n.toString()]) };
        },
      ],
      [
        'msgpack',
        msgpackSerializer(),
        { avatar: bytes, when: new Date(0) },
        (v) => {
          const { avatar, when } = v as { avatar: Uint8Array; when: Date };
          return { avatar: Array.from(avatar), when: when.getTime() };
        },
      ],
    ];

    it.each(cases)('keeps what %s carries through bytea, across requests', async (_name, serializer, value, view) => {
      const store = new PostgresStore({ pool: admin, table, pruneInterval: false });
      const app = http(
        makeApp(
          { store, serializer },
          {
            '/put': async (ctx) => {
              (await getSession(ctx)).set('value', value);
              ctx.body = 'ok';
            },
            '/get': async (ctx) => {
              ctx.body = { value: view((await getSession(ctx)).get('value')) };
            },
          },
        ),
      );
      const cookie = cookiePair(await app.get('/put').expect(200));
      const read = await app.get('/get').set('Cookie', cookie).expect(200);
      expect(read.body).toEqual({ value: JSON.parse(JSON.stringify(view(value))) });
    });
  });

  describe('two app instances with a pool each', () => {
    let pools: pg.Pool[];
    let apps: ReturnType<typeof http>[];

    beforeAll(() => {
      pools = [testPool({ max: 10 }), testPool({ max: 10 })];
      apps = pools.map((pool) => http(makeApp({ store: new PostgresStore({ pool, table, pruneInterval: false }) }, routes)));
    });
    afterAll(async () => {
      await Promise.all(pools.map((pool) => pool.end()));
    });

    itSharesOneSession(() => apps);
  });

  // In a database of its own, so refusing connections to it disturbs no other test file.
  describe('while the database is down', () => {
    const name = uniqueAppName('appdown');
    let database: ScratchDatabase;
    let pool: pg.Pool;

    beforeAll(async () => {
      database = await scratchDatabase(admin, 'appdown');
      pool = testPool({ connectionString: database.url(), application_name: name });
    });
    afterAll(async () => {
      await pool.end();
      await database.drop();
    });

    it('answers 500 on session routes without leaking the cause, then serves the same sessions once it is back', async () => {
      const app = http(makeApp({ store: new PostgresStore({ pool, pruneInterval: false }) }, routes));
      const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));
      await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });

      await database.refuse();
      await terminateBackends(admin, name);
      await waitFor('the pool to drop its dead connections', async () => pool.totalCount === 0);
      expect(await backendPids(admin, name)).toEqual([]);

      const failed = await app.get('/count').set('Cookie', cookie).expect(500);
      expect(failed.text).toBe('Internal Server Error');
      expect(setCookies(failed)).toEqual([]);
      await app.get('/count').expect(500); // a new visitor's first write fails too
      await app.get('/health').expect(200, 'up'); // routes without a session are untouched

      await database.allow();
      const back = await app.get('/count').set('Cookie', cookie).expect(200, { views: 3 });
      expect(cookieValue(back)).toBe(cookie.slice(cookie.indexOf('=') + 1)); // the same session, not a new one
      expect(cookieValue(await app.get('/count').expect(200, { views: 1 }))).not.toBe(cookie);
    });
  });
});
