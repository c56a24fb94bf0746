/** What every SQL store shows under session() beyond the core suite: each serializer's bytes, and two app instances. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getSession } from '../../../src/index.js';
import type { Serializer } from '../../../src/serializer.js';
import type { SessionStore } from '../../../src/store.js';
import { jsonSerializer } from '../../../serializers/json.js';
import { msgpackSerializer } from '../../../serializers/msgpack.js';
import { superjsonSerializer } from '../../../serializers/superjson.js';
import { client as http, cookiePair, makeApp, type Handler } from '../../helpers/app.js';
import { itSharesOneSession } from './behaviour.js';

/** Registers a round trip of every serializer through the store's binary `column` type (e.g. `bytea`). */
export function describeEverySerializer(column: string, makeStore: () => SessionStore): void {
  describe(`every serializer through ${column}`, () => {
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

    it.each(cases)(`keeps what %s carries through ${column}, across requests`, async (_name, serializer, value, view) => {
      const app = http(
        makeApp(
          { store: makeStore(), serializer },
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
}

/** A store on a pool of its own, and how to end that pool. */
export interface PooledStore {
  readonly store: SessionStore;
  end(): Promise<void>;
}

/** Registers {@link itSharesOneSession} for two apps, each with a store on a pool of its own, serving `routes`. */
export function describeTwoAppInstances(makePooledStore: () => PooledStore, routes: Record<string, Handler>): void {
  describe('two app instances with a pool each', () => {
    let pooled: PooledStore[];
    let apps: ReturnType<typeof http>[];

    beforeAll(() => {
      pooled = [makePooledStore(), makePooledStore()];
      apps = pooled.map(({ store }) => http(makeApp({ store }, routes)));
    });
    afterAll(async () => {
      await Promise.all(pooled.map((each) => each.end()));
    });

    itSharesOneSession(() => apps);
  });
}
