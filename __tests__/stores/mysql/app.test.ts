/** session() on MySQLStore through Koa: core behaviour, a user's sessions, every serializer, two app instances. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type mysql from 'mysql2/promise';
import { getSession } from '../../../src/index.js';
import type { Serializer } from '../../../src/serializer.js';
import { jsonSerializer } from '../../../serializers/json.js';
import { msgpackSerializer } from '../../../serializers/msgpack.js';
import { superjsonSerializer } from '../../../serializers/superjson.js';
import { MySQLStore } from '../../../stores/mysql.js';
import { client as http, cookiePair, makeApp } from '../../helpers/app.js';
import { describeWithMySQL, dropTable, testPool, uniqueTable } from '../../helpers/mysql-store.js';
import { describeSessionBehaviour, itSharesOneSession, sessionRoutes } from '../shared/behaviour.js';
import { describeOwnerBehaviour } from '../shared/owners.js';

describeWithMySQL('MySQLStore under session()', () => {
  const table = uniqueTable('app');
  let admin: mysql.Pool;
  beforeAll(() => {
    admin = testPool({ connectionLimit: 10 });
  });
  afterAll(async () => {
    await dropTable(admin, table);
    await admin.end();
  });

  describeSessionBehaviour('MySQLStore', {
    make: async () => new MySQLStore({ pool: admin, table, pruneInterval: false }),
    serverSide: true,
  });

  const ownersTable = uniqueTable('appowners');
  describeOwnerBehaviour('MySQLStore', {
    make: async () => new MySQLStore({ pool: admin, table: ownersTable, pruneInterval: false }),
    cleanup: () => dropTable(admin, ownersTable),
  });

  describe('every serializer through LONGBLOB', () => {
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

    it.each(cases)('keeps what %s carries, across requests', async (_name, serializer, value, view) => {
      const store = new MySQLStore({ pool: admin, table, pruneInterval: false });
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
    let pools: mysql.Pool[];
    let apps: ReturnType<typeof http>[];

    beforeAll(() => {
      pools = [testPool({ connectionLimit: 10 }), testPool({ connectionLimit: 10 })];
      apps = pools.map((pool) => http(makeApp({ store: new MySQLStore({ pool, table, pruneInterval: false }) }, sessionRoutes)));
    });
    afterAll(async () => {
      await Promise.all(pools.map((pool) => pool.end()));
    });

    itSharesOneSession(() => apps);
  });
});
