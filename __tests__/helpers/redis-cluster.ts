/** The Redis Cluster the cluster tests run on, the cluster clients RedisStore is tested with, and key clean-up. */

import { describe } from '@jest/globals';
import { Cluster } from 'ioredis';
import { RedisStore, type RedisStoreOptions } from '../../stores/redis.js';
import { uniquePrefix } from './redis-store.js';
import { portAnswers } from './services.js';

/**
 * The cluster's nodes, `host:port,host:port,...`: .ci/run starts one for its three jest runs, and
 * jest's globalSetup (scripts/jest-global-setup.mjs) starts one for a run that was given none.
 */
const NODES = (process.env.REDIS_CLUSTER_NODES ?? '')
  .split(',')
  .filter((node) => node !== '')
  .map((node) => ({ host: node.slice(0, node.lastIndexOf(':')), port: Number(node.slice(node.lastIndexOf(':') + 1)) }));

/** True when every node answers; in CI (`CI=true`) anything else is a failure, as in services.ts. */
async function clusterReachable(): Promise<boolean> {
  const down = [];
  for (const node of NODES) if (!(await portAnswers(node.host, node.port))) down.push(`${node.host}:${node.port}`);
  if (NODES.length > 0 && down.length === 0) return true;
  const message =
    NODES.length === 0
      ? 'no Redis Cluster was given (REDIS_CLUSTER_NODES is empty) and jest globalSetup started none'
      : `Redis Cluster nodes ${down.join(', ')} are not reachable`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI needs it (.ci/run starts one with scripts/redis-cluster.sh)`);
  console.warn(`${message}: skipping the Redis Cluster tests (set CI=true to make this a failure)`);
  return false;
}

/** `describe` when the cluster answers, else `describe.skip` (in CI a missing cluster fails instead). */
export const describeWithCluster: typeof describe.skip = (await clusterReachable()) ? describe : describe.skip;

/**
 * An ioredis Cluster client on the test cluster. ioredis follows MOVED (and refreshes its slot
 * table) and ASK (ASKING, then the command on the importing node) by itself, up to
 * `maxRedirections`; TRYAGAIN and CLUSTERDOWN are retried after a delay. Those are the client's
 * defaults, the ones an app gets, so the tests keep them.
 */
export function ioredisCluster(): Cluster {
  const client = new Cluster(NODES, { slotsRefreshTimeout: 2_000, redisOptions: { connectTimeout: 2_000 } });
  // Reconnects are expected while a test moves slots; without a listener ioredis logs each one.
  client.on('error', () => undefined);
  return client;
}

/** A cluster client RedisStore is tested with, and how to let it go. */
export interface ClusterFlavour {
  /** Names the client in test titles, e.g. `ioredis Cluster`. */
  readonly name: string;
  /** A connected client, ready for `new RedisStore({ client })`. */
  open(): Promise<{ client: NonNullable<RedisStoreOptions['client']>; close(): Promise<void> }>;
}

/** Each cluster client RedisStore speaks; a test file runs its suites once per entry. */
export const clusterFlavours: readonly ClusterFlavour[] = [
  {
    name: 'ioredis Cluster',
    async open() {
      const client = ioredisCluster();
      await waitReady(client);
      return { client, close: () => client.quit().then(() => undefined) };
    },
  },
];

/** Resolves once the client has loaded the slot table and connected. */
async function waitReady(client: Cluster): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('end', () => reject(new Error('the Redis Cluster client ended before it was ready')));
  });
}

/**
 * A prefix of its own inside a hash tag, `{test:<label>:<uuid>}:`, so every key of the store
 * shares one slot: what today's RedisStore needs on a cluster for its owner sets (stores/redis.ts).
 */
export function taggedPrefix(label: string): string {
  return `{${uniquePrefix(label).slice(0, -1)}}:`;
}

/** Deletes every key under `prefix` on every master (SCAN per node; one DEL per key, as keys may sit in many slots). */
export async function deleteClusterKeys(admin: Cluster, prefix: string): Promise<void> {
  for (const node of admin.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 500);
      for (const key of keys) await admin.del(key);
      cursor = next;
    } while (cursor !== '0');
  }
}

/**
 * A RedisStore under `prefix` on a client of `flavour`, made on the first `make()`; `cleanup()`
 * deletes the prefix's keys and closes the client. The shape the shared suites take.
 */
export function clusterTarget(flavour: ClusterFlavour, prefix: string): { make(): Promise<RedisStore>; cleanup(): Promise<void> } {
  let opened: Awaited<ReturnType<ClusterFlavour['open']>> | undefined;
  return {
    async make() {
      opened ??= await flavour.open();
      return new RedisStore({ client: opened.client, prefix });
    },
    async cleanup() {
      const admin = ioredisCluster();
      try {
        await waitReady(admin);
        await deleteClusterKeys(admin, prefix);
      } finally {
        await admin.quit();
        await opened?.close();
      }
    },
  };
}
