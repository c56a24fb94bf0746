/** Which Redis client the app passed to RedisStore, told apart by the client object itself. */

import type { Cluster, Redis } from 'ioredis';
import { describeValue, optionError } from '../../src/option-checks.js';
import type { RedisDriver } from './driver.js';
import { ioredisDriver, isIoredis } from './ioredis.js';
import { asNodeRedis, nodeRedisDriver, nodeRedisMisfit, type NodeRedisClient, type NodeRedisCluster } from './node-redis.js';

/**
 * A client RedisStore accepts: an ioredis `Redis` (standalone or Sentinel) or `Cluster`, or a
 * node-redis (`redis` 5 or later) client from `createClient()` or cluster from `createCluster()`.
 */
export type RedisClient = Redis | Cluster | NodeRedisClient | NodeRedisCluster;

/** What the TypeError for anything else says is accepted. */
const ACCEPTED =
  'an ioredis client (`new Redis()` or `new Cluster()`) or a node-redis client (`createClient()` or `createCluster()` of `redis` 5 or later)';

/** The driver for `client`; a TypeError naming what was passed when it is neither library's client. */
export function driverFor(client: unknown): RedisDriver {
  if (typeof client !== 'object' || client === null) throw optionError(TypeError, 'client', `be ${ACCEPTED}`, describeValue(client));
  if (isIoredis(client)) return ioredisDriver(client);
  const nodeRedis = asNodeRedis(client);
  if (nodeRedis !== undefined) return nodeRedisDriver(nodeRedis);
  throw optionError(TypeError, 'client', `be ${ACCEPTED}`, nodeRedisMisfit(client) ?? describeValue(client));
}
