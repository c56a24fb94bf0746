/** session() on RedisStore while a Redis Cluster master hands over to its replica: no request fails, no update or session is lost. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { session } from '../../../src/index.js';
import { RedisStore } from '../../../stores/redis.js';
import {
  clusterFlavours,
  describeWithCluster,
  nodeConnections,
  redirections,
  startOwnCluster,
  taggedPrefix,
  type ClusterNodeConnection,
  type OwnCluster,
} from '../../helpers/redis-cluster.js';
import { countingApp, countWhile, expectEverySessionKept, logIn } from './under-load.js';

/** Six nodes start and sync their replicas in a few seconds; this leaves room on a busy machine. */
const START_MS = 60_000;
/** Redis drops a manual failover that has not completed in this long (CLUSTER_MF_TIMEOUT). */
const MANUAL_FAILOVER_MS = 5_000;
/** How long the whole handover may take, a failover asked again included. */
const FAILOVER_MS = 30_000;
/** Per test: the handover and the requests around it. */
const TEST_MS = FAILOVER_MS + 20_000;

/** True when `node`, by its own account, is a master serving `slot` (CLUSTER NODES, its `myself` line). */
async function servesSlot(node: ClusterNodeConnection, slot: number): Promise<boolean> {
  const nodesLines = String(await node.redis.cluster('NODES')).split('\n');
  const fields = nodesLines.find((line) => line.includes('myself'))!.split(' ');
  if (!fields[2]!.split(',').includes('master')) return false;
  return fields.slice(8).some((range) => {
    const [first, last = first] = range.split('-').map(Number);
    return first! <= slot && slot <= last!;
  });
}

/** The role a node gives itself: `master` or `slave`. */
async function roleOf(node: ClusterNodeConnection): Promise<string> {
  return /^role:(\w+)/m.exec(await node.redis.info('replication'))![1]!;
}

/**
 * Fails the master of the slot of `prefix` over to its replica with CLUSTER FAILOVER (the manual,
 * coordinated kind: the master stops writes until the replica has caught up, so nothing
 * acknowledged is lost), and resolves once the two have swapped roles, each by its own account.
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
    // Asked of the nodes themselves: another node's table may still show an earlier test's failover half learnt.
    let master: ClusterNodeConnection | undefined;
    let replica: ClusterNodeConnection | undefined;
    await until('no master with a replica in sync', async () => {
      for (const node of nodes) if (await servesSlot(node, slot)) master = node;
      const [line] = master === undefined ? [] : ((await master.redis.cluster('REPLICAS', master.id)) as string[]);
      replica = nodes.find((node) => line !== undefined && node.id === line.split(' ')[0]);
      // A replica that was the master a moment ago may still be syncing with its new master.
      return replica !== undefined && /^master_link_status:up/m.test(await replica.redis.info('replication'));
    });
    const [from, to] = [master!, replica!];
    // The masters vote for one replica of a shard per two node timeouts, so a failover soon after
    // another on the same shard can go unanswered and be dropped: then it is asked again.
    let asked = 0;
    await until(`${to.port} and ${from.port} still not swapped`, async () => {
      if (Date.now() - asked > MANUAL_FAILOVER_MS) {
        await to.redis.cluster('FAILOVER');
        asked = Date.now();
      }
      return (await roleOf(to)) === 'master' && (await roleOf(from)) === 'slave';
    });
    return { from: from.port, to: to.port };
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
            const app = countingApp(store);
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
