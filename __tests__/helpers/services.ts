/** Reaching the real PostgreSQL and Redis the tests run against, and what to do when they are down. */

import { createConnection } from 'node:net';

/** Where the tests find PostgreSQL; the machine's default when unset. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Where the tests find Redis; the machine's default when unset. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Where the tests find MySQL or MariaDB; the machine's default when unset. */
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** True when something accepts a TCP connection at `host:port` within `timeoutMs`. */
export function portAnswers(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function portOpen(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return portAnswers(hostname || '127.0.0.1', Number(port || defaultPort));
}

/**
 * True when the service answers. In CI (`CI=true`) an unreachable service throws, so the suite
 * fails instead of passing on skipped tests; elsewhere it warns once and the caller skips.
 */
async function reachable(service: string, url: string, defaultPort: number): Promise<boolean> {
  if (await portOpen(url, defaultPort)) return true;
  const message = `${service} is not reachable at ${url}`;
  if (process.env.CI === 'true') throw new Error(`${message}; CI needs it (start it as .ci/run does)`);
  console.warn(`${message}: skipping the tests that need it (set CI=true to make this a failure)`);
  return false;
}

/** See {@link reachable}. */
export const postgresReachable = (): Promise<boolean> => reachable('PostgreSQL', DATABASE_URL, 5432);
/** See {@link reachable}. */
export const redisReachable = (): Promise<boolean> => reachable('Redis', REDIS_URL, 6379);
/** See {@link reachable}. */
export const mysqlReachable = (): Promise<boolean> => reachable('MySQL/MariaDB', MYSQL_URL, 3306);
