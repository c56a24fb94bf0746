// Jest globalSetup: a Redis Cluster for __tests__/stores/redis-cluster, unless the caller gave one
// (REDIS_CLUSTER_NODES, as .ci/run does) or the run selects none of those files.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const script = new URL('./redis-cluster.sh', import.meta.url).pathname;
/** Three bounded waits of the script's own (30 s each) and some room. */
const START_TIMEOUT_MS = 120_000;

/** True when the run's path patterns leave at least one of the cluster test files in. */
async function selectsClusterTests(globalConfig) {
  const dir = join(globalConfig.rootDir, '__tests__', 'stores', 'redis-cluster');
  const patterns = globalConfig.testPathPatterns;
  if (!patterns.isSet()) return true;
  const matcher = patterns.toExecutor({ rootDir: globalConfig.rootDir });
  return (await readdir(dir)).some((file) => matcher.isMatch(join(dir, file)));
}

export default async function startRedisCluster(globalConfig) {
  if (process.env.REDIS_CLUSTER_NODES || !(await selectsClusterTests(globalConfig))) return;
  // The script's `stop` removes the directory, nodes-*.conf and logs with it.
  const dir = await mkdtemp(join(tmpdir(), 'koa-session-kit-redis-cluster-'));
  try {
    // Our pid: if jest dies before its globalTeardown, the script's watchdog stops the cluster.
    const { stdout } = await promisify(execFile)('bash', [script, 'start', dir, String(process.pid)], { timeout: START_TIMEOUT_MS });
    process.env.REDIS_CLUSTER_NODES = stdout.trim();
    globalThis.koaSessionKitClusterDir = dir;
  } catch (error) {
    const message = `could not start a Redis Cluster for the cluster tests: ${error.stderr || error.message}`;
    if (process.env.CI === 'true') throw new Error(`${message}\nCI needs it (.ci/run starts one with scripts/redis-cluster.sh)`);
    console.warn(`${message}\nskipping the tests that need it (set CI=true to make this a failure)`);
  }
}
