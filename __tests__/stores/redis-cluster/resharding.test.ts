/** session() on RedisStore while Redis Cluster moves the slot its sessions live in: no request fails, no update or session is lost. */

import { describe, expect, it } from '@jest/globals';
import { session } from '../../../src/index.js';
import { RedisStore } from '../../../stores/redis.js';
import {
  clusterAdmin,
  clusterFlavours,
  describeWithCluster,
  moveSlot,
  nodeConnections,
  redirections,
  taggedPrefix,
} from '../../helpers/redis-cluster.js';
import { countingApp, countWhile, expectEverySessionKept, logIn } from './under-load.js';

/** Between two keys' MIGRATE: long enough for requests to meet the slot half moved. */
const PAUSE_MS = 15;

describeWithCluster('session() on RedisStore while the cluster moves its slot', () => {
  for (const flavour of clusterFlavours) {
    describe(flavour.name, () => {
      const admin = clusterAdmin();

      /** Logs sessions in, moves their slot while four clients keep counting on them, then checks every count and list. */
      const serveWhileMoving = async (withOwners: boolean): Promise<void> => {
        const prefix = admin.track(taggedPrefix('cluster-move'));
        const slot = Number(await admin.client.cluster('KEYSLOT', prefix));
        const { client, close } = await flavour.open();
        const store = new RedisStore({ client, prefix });
        const app = countingApp(store);
        const nodes = await nodeConnections();
        try {
          const sessions = await logIn(app, withOwners);
          const before = await redirections(nodes);
          const moved = await countWhile(app, sessions, () => moveSlot(slot, PAUSE_MS));
          const after = await redirections(nodes);

          // Every session's keys (and the owners' index, whatever its layout) went, and arrived.
          expect(moved.keys).toBeGreaterThanOrEqual(sessions.cookies.length);
          const count = (port: number) => nodes.find((node) => node.port === port)!.redis.cluster('COUNTKEYSINSLOT', slot);
          expect(await count(moved.from)).toBe(0);
          expect(await count(moved.to)).toBe(moved.keys);
          // Requests met the slot half moved (ASK) and after (MOVED): the client followed both.
          expect(after.ask - before.ask).toBeGreaterThan(0);
          expect(after.moved - before.moved).toBeGreaterThan(0);
          await expectEverySessionKept(app, sessions, session({ store }));
        } finally {
          for (const node of nodes) node.redis.disconnect();
          await close();
        }
      };

      it('keeps serving sessions without an owner: every request answers 200 with the next count', () => serveWhileMoving(false));

      it('keeps serving sessions with owners, whose owner sets move too, and lists every one', () => serveWhileMoving(true));
    });
  }
});
