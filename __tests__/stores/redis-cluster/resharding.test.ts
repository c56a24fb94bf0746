/** session() on RedisStore while Redis Cluster moves the slot its sessions live in: no request fails, no update or session is lost. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import type { Cluster } from 'ioredis';
import { getSession, newSession, session, type SessionMiddleware } from '../../../src/index.js';
import { RedisStore } from '../../../stores/redis.js';
import { client as http, cookiePair, makeApp } from '../../helpers/app.js';
import {
  clusterFlavours,
  deleteClusterKeys,
  describeWithCluster,
  ioredisCluster,
  moveSlot,
  nodeConnections,
  redirections,
  taggedPrefix,
} from '../../helpers/redis-cluster.js';

const WORKERS = 4;
const SESSIONS_PER_WORKER = 5;
const OWNERS = 3;
/** Between two keys' MIGRATE: long enough for requests to meet the slot half moved. */
const PAUSE_MS = 15;

const routes = {
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

/** A request that did not answer 200 with the next count, and what it answered. */
type Failure = { session: number; status: number; body: unknown };

describeWithCluster('session() on RedisStore while the cluster moves its slot', () => {
  for (const flavour of clusterFlavours) {
    describe(flavour.name, () => {
      let admin: Cluster;
      const prefixes: string[] = [];
      beforeAll(() => {
        admin = ioredisCluster();
      });
      afterAll(async () => {
        for (const prefix of prefixes) await deleteClusterKeys(admin, prefix);
        await admin.quit();
      });

      /** Logs sessions in, moves their slot while four clients keep counting on them, then checks every count and list. */
      const serveWhileMoving = async (withOwners: boolean): Promise<void> => {
        const prefix = taggedPrefix('cluster-move');
        prefixes.push(prefix);
        const slot = Number(await admin.cluster('KEYSLOT', prefix));
        const { client, close } = await flavour.open();
        const sessions: SessionMiddleware = session({ store: new RedisStore({ client, prefix }), maxAge: 600_000 });
        const app = http(makeApp({ store: new RedisStore({ client, prefix }) }, routes));
        const nodes = await nodeConnections();
        try {
          // The prefix is the test's own, and so are the owners' index keys under it.
          const owners = Array.from({ length: OWNERS }, (_, i) => `user-${i}`);
          const ownerOf = (i: number): string | undefined => (withOwners ? owners[i % OWNERS] : undefined);
          const cookies: string[] = [];
          for (let i = 0; i < WORKERS * SESSIONS_PER_WORKER; i++) {
            const owner = ownerOf(i);
            cookies.push(cookiePair(await app.get(owner === undefined ? '/login' : `/login?owner=${owner}`).expect(200)));
          }
          const views = cookies.map(() => 0);
          const failures: Failure[] = [];
          let moving = true;
          // Each worker owns its sessions, so every answer has one right count.
          const worker = async (w: number): Promise<void> => {
            for (let round = 0; moving || round < 2; round++) {
              for (let i = w * SESSIONS_PER_WORKER; i < (w + 1) * SESSIONS_PER_WORKER; i++) {
                const response = await app.get('/count').set('Cookie', cookies[i]!);
                if (response.status === 200 && response.body.views === views[i]! + 1) views[i]!++;
                else failures.push({ session: i, status: response.status, body: response.body });
              }
            }
          };
          const before = await redirections(nodes);
          const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
          const move = moveSlot(slot, PAUSE_MS).finally(() => (moving = false));
          await Promise.allSettled([move]);
          await load;
          const moved = await move;
          const after = await redirections(nodes);

          expect(failures).toEqual([]);
          // Every session's keys (and the owners' index, whatever its layout) went, and arrived.
          expect(moved.keys).toBeGreaterThanOrEqual(cookies.length);
          const count = (port: number) => nodes.find((node) => node.port === port)!.redis.cluster('COUNTKEYSINSLOT', slot);
          expect(await count(moved.from)).toBe(0);
          expect(await count(moved.to)).toBe(moved.keys);
          // Requests met the slot half moved (ASK) and after (MOVED): ioredis followed both.
          expect(after.ask - before.ask).toBeGreaterThan(0);
          expect(after.moved - before.moved).toBeGreaterThan(0);
          for (const [i, cookie] of cookies.entries()) {
            expect(views[i]).toBeGreaterThanOrEqual(2);
            await app
              .get('/count')
              .set('Cookie', cookie)
              .expect(200, { views: views[i]! + 1 });
          }
          if (withOwners) {
            for (const [o, owner] of owners.entries()) {
              const listed = await sessions.listSessions(owner);
              expect(listed.map((s) => s.data.views).sort()).toEqual(
                cookies.flatMap((_, i) => (i % OWNERS === o ? [views[i]! + 1] : [])).sort(),
              );
            }
          }
        } finally {
          for (const node of nodes) node.redis.disconnect();
          await close();
        }
      };

      it('keeps serving sessions without an owner: every request answers 200 with the next count', () => serveWhileMoving(false));

      // Fails today (issue 15): once a record has moved, a request for it runs its script on the
      // importing node (ASK), and the script creates the owner's set there by name, undeclared,
      // while the old set still waits on the source; MIGRATE of that set then stops with BUSYKEY,
      // and the slot stays half moved. The redis-clients branch gives the store a cluster layout;
      // this becomes `it` when that lands.
      it.failing('keeps serving sessions with owners, whose owner sets move too, and lists every one', () => serveWhileMoving(true));
    });
  }
});
