/** session() on RedisStore while a Redis Cluster master hands over to its replica: no request fails, no update or session is lost. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { session } from '../../../src/index.js';
import { RedisStore } from '../../../stores/redis.js';
import { client as http, makeApp } from '../../helpers/app.js';
import {
  clusterFlavours,
  describeWithCluster,
  nodeConnections,
  redirections,
  startOwnCluster,
  taggedPrefix,
  type OwnCluster,
} from '../../helpers/redis-cluster.js';
import { countingRoutes, countWhile, expectEverySessionKept, logIn } from './under-load.js';

/** Six nodes start and sync their replicas in a few seconds; this leaves room on a busy machine. */
const START_MS = 60_000;
/** Redis drops a manual failover that has not completed in this long (CLUSTER_MF_TIMEOUT). */
const MANUAL_FAILOVER_MS = 5_000;
/** How long the whole handover may take, a failover asked again included. */
const FAILOVER_MS = 30_000;
/** Per test: the handover and the requests around it. */
const TEST_MS = FAILOVER_MS + 20_000;

/**
 * Fails the master of the slot of `prefix` over to its replica with CLUSTER FAILOVER (the manual,
 * coordinated kind: the master stops writes until the replica has caught up, so nothing
 * acknowledged is lost), and resolves once every node names the replica as the slot's master.
 */
async function failOver(cluster: OwnCluster, prefix: string): Promise<{ from: number; to: number }> {
  const nodes = await nodeConnections(cluster.nodes);
  try {
    const slot = Number(await nodes[0]!.redis.cluster('KEYSLOT', prefix));
    const deadline = Date.now() + FAILOVER_MS;
    const until = async (what: string, done: () => Promise<boolean>): Promise<void> => {
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`slot ${slot}: ${what} after ${FAILOVER_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const masterOf = async (node: (typeof nodes)[number]): Promise<number> => {
      const ranges = await node.redis.cluster('SLOTS');
      return Number(ranges.find(([first, last]) => first <= slot && slot <= last)![2]![1]);
    };
    const from = await masterOf(nodes[0]!);
    const master = nodes.find((node) => node.port === from)!;
    const [replicaLine] = (await master.redis.cluster('REPLICAS', master.id)) as string[];
    const replica = nodes.find((node) => node.id === replicaLine!.split(' ')[0])!;
    const replication = async (): Promise<string> => replica.redis.info('replication');
    // A replica that was the master a moment ago (an earlier test's failover) may still be syncing.
    await until(`replica ${replica.port} still not in sync`, async () => /^master_link_status:up/m.test(await replication()));
    // The masters vote for one replica of a shard per two node timeouts, so a failover soon after
    // another on the same shard can go unanswered and be dropped: then it is asked again.
    let asked = 0;
    await until(`replica ${replica.port} still not master`, async () => {
      if (Date.now() - asked > MANUAL_FAILOVER_MS) {
        await replica.redis.cluster('FAILOVER');
        asked = Date.now();
      }
      return /^role:master/m.test(await replication());
    });
    for (const node of nodes) await until(`node ${node.port} still names ${from}`, async () => (await masterOf(node)) === replica.port);
    return { from, to: replica.port };
  } finally {
    for (const node of nodes) node.redis.disconnect();
  }
}

describeWithCluster('session() on RedisStore while a master fails over to its replica', () => {
  let cluster: OwnCluster;
  beforeAll(async () => {
    cluster = await startOwnCluster(1);
  }, START_MS);
  afterAll(() => cluster?.stop());

  for (const flavour of clusterFlavours) {
    describe(flavour.name, () => {
      it.each([
        ['sessions without an owner', false],
        ['sessions with owners', true],
      ])(
        'keeps serving %s through CLUSTER FAILOVER: every request answers 200 with the next count',
        async (_, withOwners) => {
          const prefix = taggedPrefix('cluster-failover');
          const { client, close } = await flavour.open(cluster.nodes);
          const nodes = await nodeConnections(cluster.nodes);
          try {
            const store = new RedisStore({ client, prefix });
            const app = http(makeApp({ store }, countingRoutes));
            const sessions = await logIn(app, withOwners);
            const before = await redirections(nodes);
            const { from, to } = await countWhile(app, sessions, () => failOver(cluster, prefix));
            expect(to).not.toBe(from);
            // The old master, a replica now, sent the client on with MOVED, and the client followed.
            expect((await redirections(nodes)).moved - before.moved).toBeGreaterThan(0);
            await expectEverySessionKept(app, sessions, session({ store }));
          } finally {
            for (const node of nodes) node.redis.disconnect();
            await close();
          }
        },
        TEST_MS,
      );
    });
  }
});
