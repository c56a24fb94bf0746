// Jest globalTeardown: stops the Redis Cluster jest-global-setup.mjs started, if it started one.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const script = new URL('./redis-cluster.sh', import.meta.url).pathname;
/** Each node gets SHUTDOWN and then at most 5 s before SIGKILL (the script's own deadline). */
const STOP_TIMEOUT_MS = 30_000;

export default async function stopRedisCluster() {
  const dir = globalThis.koaSessionKitClusterDir;
  if (dir === undefined) return;
  delete process.env.REDIS_CLUSTER_NODES;
  await promisify(execFile)('bash', [script, 'stop', dir], { timeout: STOP_TIMEOUT_MS });
}
