/** The Redis Cluster the cluster tests run on, the cluster clients RedisStore is tested with, and key clean-up. */

import { afterAll, beforeAll, describe } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RedisStore, type RedisStoreOptions } from '../../stores/redis.js';
import { uniquePrefix } from './redis-store.js';
import { portAnswers } from './services.js';

/** A node's address. */
export interface ClusterNode {
  host: string;
  port: number;
}

/** `host:port,host:port,...`, as scripts/redis-cluster.sh prints it, into addresses. */
function parseNodes(list: string): ClusterNode[] {
  return list
    .split(',')
    .filter((node) => node !== '')
    .map((node) => ({ host: node.slice(0, node.lastIndexOf(':')), port: Number(node.slice(node.lastIndexOf(':') + 1)) }));
}

/**
 * The shared cluster's nodes: .ci/run starts one for its three jest runs, and jest's globalSetup
 * (scripts/jest-global-setup.mjs) starts one for a run that was given none.
 */
const NODES = parseNodes(process.env.REDIS_CLUSTER_NODES ?? '');

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
export function ioredisCluster(nodes: ClusterNode[] = NODES): Cluster {
  const client = new Cluster(nodes, { slotsRefreshTimeout: 2_000, redisOptions: { connectTimeout: 2_000 } });
  // Reconnects are expected while a test moves slots; without a listener ioredis logs each one.
  client.on('error', () => undefined);
  return client;
}

/** A cluster client RedisStore is tested with, and how to let it go. */
export interface ClusterFlavour {
  /** Names the client in test titles, e.g. `ioredis Cluster`. */
  readonly name: string;
  /** A connected client on `nodes` (default: the shared cluster), ready for `new RedisStore({ client })`. */
  open(nodes?: ClusterNode[]): Promise<{ client: NonNullable<RedisStoreOptions['client']>; close(): Promise<void> }>;
}

/** Each cluster client RedisStore speaks; a test file runs its suites once per entry. */
export const clusterFlavours: readonly ClusterFlavour[] = [
  {
    name: 'ioredis Cluster',
    async open(nodes) {
      const client = ioredisCluster(nodes);
      await waitReady(client);
      return { client, close: () => client.quit().then(() => undefined) };
    },
  },
  {
    // node-redis follows MOVED (rediscovering the slots) and ASK (ASKING, then the command on the
    // importing node) itself, up to `maxCommandRedirections` (16).
    name: 'node-redis createCluster',
    async open(nodes = NODES) {
      const rootNodes = nodes.map(({ host, port }) => ({ url: `redis://${host}:${port}` }));
      const client = createCluster({ rootNodes, defaults: { socket: { connectTimeout: 2_000 } } });
      // node-redis throws an 'error' nobody listens for; nodes going away in a failover send some.
      client.on('error', () => undefined);
      await client.connect();
      return { client, close: () => client.close() };
    },
  },
];

/** How long a cluster client may take to load the slot table and connect. */
const READY_TIMEOUT_MS = 10_000;

/** Resolves once the client has loaded the slot table and connected; rejects after READY_TIMEOUT_MS. */
async function waitReady(client: Cluster): Promise<void> {
  if (client.status === 'ready') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('end', () => reject(new Error('the Redis Cluster client ended before it was ready')));
      timer = setTimeout(() => reject(new Error(`the Redis Cluster client was not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A prefix of its own inside a hash tag, `{test:<label>:<uuid>}:`, so every key of the store
 * shares one slot: for a test that moves that slot, or fails over its master. Apps keep hash tags
 * out of the prefix, so sessions spread over the masters (docs/stores/redis.md).
 */
export function taggedPrefix(label: string): string {
  return `{${uniquePrefix(label).slice(0, -1)}}:`;
}

/** A SCAN/KEYS pattern for every key under `prefix`, its glob characters escaped. */
export function keysUnder(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
}

/** Deletes every key under `prefix` on every master (SCAN per node; one DEL per key, as keys may sit in many slots). */
export async function deleteClusterKeys(admin: Cluster, prefix: string): Promise<void> {
  for (const node of admin.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', keysUnder(prefix), 'COUNT', 500);
      for (const key of keys) await admin.del(key);
      cursor = next;
    } while (cursor !== '0');
  }
}

/** The admin client of one describe block, and the prefixes whose keys it deletes afterwards. */
export interface ClusterAdmin {
  /** An ioredis Cluster client on the shared cluster; open only while the block's tests run. */
  readonly client: Cluster;
  /** Registers `prefix` so its keys are deleted after the block's tests; returns it. */
  track(prefix: string): string;
}

/**
 * Registers, in the calling describe block, an admin client opened before its tests, and after
 * them the deletion of every tracked prefix's keys and the client's quit.
 */
export function clusterAdmin(): ClusterAdmin {
  let client: Cluster | undefined;
  const prefixes: string[] = [];
  beforeAll(() => {
    client = ioredisCluster();
  });
  afterAll(async () => {
    if (client === undefined) return;
    for (const prefix of prefixes) await deleteClusterKeys(client, prefix);
    await client.quit();
  });
  return {
    get client() {
      if (client === undefined) throw new Error('clusterAdmin(): the admin client is open only while its describe block runs its tests');
      return client;
    },
    track(prefix) {
      prefixes.push(prefix);
      return prefix;
    },
  };
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

/** One node on a plain connection of its own, with its node id. */
export interface ClusterNodeConnection extends ClusterNode {
  id: string;
  redis: Redis;
}

/** Each node of the cluster on a plain connection of its own; `disconnect()` them after use. */
export async function nodeConnections(nodes: ClusterNode[] = NODES): Promise<ClusterNodeConnection[]> {
  return Promise.all(
    nodes.map(async ({ host, port }) => {
      const redis = new Redis({ host, port, connectTimeout: 2_000, maxRetriesPerRequest: 1 });
      return { id: String(await redis.cluster('MYID')), host, port, redis };
    }),
  );
}

/** What the nodes answered while a slot moved, summed over every node: redirections and retries. */
export async function redirections(nodes: { redis: Redis }[]): Promise<{ ask: number; moved: number; tryagain: number }> {
  const counts = { ask: 0, moved: 0, tryagain: 0 };
  for (const { redis } of nodes) {
    const info = await redis.info('errorstats');
    for (const kind of ['ask', 'moved', 'tryagain'] as const) {
      counts[kind] += Number(new RegExp(`^errorstat_${kind.toUpperCase()}:count=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    }
  }
  return counts;
}

/** How long a slot may take to move before the test gives up and puts it back. */
const MOVE_DEADLINE_MS = 20_000;

/**
 * Moves `slot` to another master the way `redis-cli --cluster reshard` does: IMPORTING on the
 * target, MIGRATING on the source, MIGRATE of its keys one at a time with `pauseMs` between them
 * (so requests meet the slot half moved, and get ASK), then SETSLOT NODE on every node (target
 * first, as the cluster spec asks). On failure the slot is made STABLE again on its old master.
 */
export async function moveSlot(slot: number, pauseMs: number): Promise<{ from: number; to: number; keys: number }> {
  const nodes = await nodeConnections();
  try {
    const ranges = await nodes[0]!.redis.cluster('SLOTS');
    const owner = ranges.find(([first, last]) => first <= slot && slot <= last)![2]![2];
    const source = nodes.find((node) => node.id === owner)!;
    const target = nodes.find((node) => node.id !== owner)!;
    await target.redis.cluster('SETSLOT', slot, 'IMPORTING', source.id);
    await source.redis.cluster('SETSLOT', slot, 'MIGRATING', target.id);
    let moved = 0;
    try {
      const deadline = Date.now() + MOVE_DEADLINE_MS;
      for (;;) {
        const [key] = (await source.redis.cluster('GETKEYSINSLOT', slot, 1)) as string[];
        if (key === undefined) break;
        if (Date.now() > deadline) throw new Error(`slot ${slot}: keys still on ${source.port} after ${MOVE_DEADLINE_MS} ms`);
        await source.redis.migrate(target.host, target.port, '', 0, 5_000, 'KEYS', key);
        moved++;
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    } catch (error) {
      for (const node of [source, target]) await node.redis.cluster('SETSLOT', slot, 'STABLE');
      throw error;
    }
    for (const node of [target, source, ...nodes.filter((n) => n !== source && n !== target)]) {
      await node.redis.cluster('SETSLOT', slot, 'NODE', target.id);
    }
    return { from: source.port, to: target.port, keys: moved };
  } finally {
    for (const node of nodes) node.redis.disconnect();
  }
}

const SCRIPT = new URL('../../scripts/redis-cluster.sh', import.meta.url).pathname;
/** The script bounds each of its waits (30 s); this bounds the whole start, six nodes included. */
const START_TIMEOUT_MS = 120_000;

/** A cluster of a test file's own, for what it may not do to the shared one (fail a master over). */
export interface OwnCluster {
  readonly nodes: ClusterNode[];
  /** Stops every node and removes its files; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Three masters with `replicas` replicas each, from scripts/redis-cluster.sh, on free ports of its
 * range. If this process dies before `stop()`, the script's watchdog stops the cluster.
 */
export async function startOwnCluster(replicas: number): Promise<OwnCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'koa-session-kit-redis-cluster-'));
  const env = { ...process.env, REDIS_CLUSTER_REPLICAS: String(replicas) };
  const args = [SCRIPT, 'start', dir, String(process.pid)];
  const { stdout } = await promisify(execFile)('bash', args, { env, timeout: START_TIMEOUT_MS });
  let stopped: Promise<unknown> | undefined;
  return {
    nodes: parseNodes(stdout.trim()),
    async stop() {
      stopped ??= promisify(execFile)('bash', [SCRIPT, 'stop', dir], { timeout: 30_000 });
      await stopped;
    },
  };
}
