/** RedisStore's driver for node-redis (the `redis` package, 5 or later): a `createClient()` client or a `createCluster()` cluster. */

import type { RedisArgument } from 'redis';
import { listenForErrors, type Emitter, type RedisDriver, type Reply } from './driver.js';
import type { Arg, Script } from './scripts.js';

/**
 * Replies as Buffers whatever the client's own `typeMapping`: node-redis decodes bulk strings as
 * UTF-8 text by default, which loses binary session data. 36 is `RESP_TYPES.BLOB_STRING` (`$`), a
 * protocol constant; importing it would load the driver (STYLE 3). Per-command options replace the
 * client's `typeMapping` as a whole, so a client that maps other types keeps its own elsewhere.
 */
const BUFFERS = { typeMapping: { 36: Buffer } } as const;

/** What the store uses of a node-redis client from `createClient()`. */
export interface NodeRedisClient extends Emitter {
  sendCommand(args: ReadonlyArray<RedisArgument>, options?: typeof BUFFERS): Promise<unknown>;
  /** Only a client has it (a pool's `sendCommand` looks the same): the marker `asNodeRedis` checks. */
  createPool(...args: never[]): unknown;
  readonly isOpen: boolean;
}

/** What the store uses of a node-redis cluster from `createCluster()`. */
export interface NodeRedisCluster extends Emitter {
  sendCommand(
    firstKey: RedisArgument | undefined,
    isReadonly: boolean | undefined,
    args: ReadonlyArray<RedisArgument>,
    options?: typeof BUFFERS,
  ): Promise<unknown>;
  /** Only a cluster has these: the markers `asNodeRedis` checks. */
  nodeClient(...args: never[]): unknown;
  getSlotMaster(...args: never[]): unknown;
  readonly isOpen: boolean;
}

/** Methods that tell node-redis's objects apart (each present since `redis` 5). */
type Marker = 'sendCommand' | 'withTypeMapping' | 'createPool' | 'scanIterator' | 'nodeClient' | 'getSlotMaster' | 'execute' | 'acquire';

/** A node-redis client or cluster, and which of the two. */
export type NodeRedisTarget = { kind: 'client'; client: NodeRedisClient } | { kind: 'cluster'; client: NodeRedisCluster };

function markers(value: object): (name: Marker) => boolean {
  const methods = value as Partial<Record<Marker, unknown>>;
  return (name) => typeof methods[name] === 'function';
}

/**
 * `value` as a node-redis client or cluster, or undefined. `withTypeMapping` is new in `redis` 5;
 * only a client can `createPool`, and only a cluster has `getSlotMaster` and `nodeClient`.
 */
export function asNodeRedis(value: object): NodeRedisTarget | undefined {
  const has = markers(value);
  if (!has('sendCommand') || !has('withTypeMapping')) return undefined;
  // The markers are what tells the two shapes apart; TypeScript cannot follow them.
  if (has('getSlotMaster') && has('nodeClient')) return { kind: 'cluster', client: value as NodeRedisCluster };
  if (has('createPool') && has('scanIterator')) return { kind: 'client', client: value as NodeRedisClient };
  return undefined;
}

/**
 * What to call a node-redis object the store does not take, for the TypeError (their classes are
 * all named `Class`, which would say nothing); undefined when it is none of them.
 */
export function nodeRedisMisfit(value: object): string | undefined {
  const has = markers(value);
  if (!has('sendCommand') || !has('withTypeMapping')) return undefined;
  if (has('execute')) return 'a node-redis pool from `createClientPool()`';
  if (has('acquire')) return 'a node-redis sentinel from `createSentinel()`';
  return 'a node-redis object of another kind';
}

/**
 * Whether an error is Redis's NOSCRIPT reply: the first word of an error reply is its code
 * (RESP spec, "Simple errors"), and node-redis keeps the reply's text as the message.
 */
function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/** Bulk replies as Buffers, and RESP3 sets (a `Set` where a typeMapping asks for one) as arrays. */
function asReply(value: unknown): Reply {
  if (value instanceof Set) return [...value].map(asReply);
  if (Array.isArray(value)) return value.map(asReply);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  // Integers are numbers, nil is null, bulk strings are Buffers (BUFFERS) in both RESP2 and RESP3.
  return value as Reply;
}

/**
 * Speaks the store's interface through `sendCommand`. Scripts go as EVALSHA and, when Redis does
 * not know them (a first use, SCRIPT FLUSH, a restart or a failover), once more as EVAL, which
 * also loads them: a client the app made cannot have them pre-registered (`scripts` is a
 * `createClient` option). On a cluster each command is routed by its one key.
 */
export function nodeRedisDriver(target: NodeRedisTarget): RedisDriver {
  const send =
    target.kind === 'cluster'
      ? (key: string, args: Arg[]) => target.client.sendCommand(key, false, args, BUFFERS)
      : (_key: string, args: Arg[]) => target.client.sendCommand(args, BUFFERS);
  const call = async (key: string, args: Arg[]): Promise<Reply> => asReply(await send(key, args));
  return {
    label: `node-redis ${target.kind}`,
    hmget: async (key, fields) => (await call(key, ['HMGET', key, ...fields])) as (Buffer | null)[],
    async run(script: Script, key, args) {
      try {
        return await call(key, ['EVALSHA', script.sha, '1', key, ...args]);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return call(key, ['EVAL', script.lua, '1', key, ...args]);
      }
    },
    members: async (key) => ((await call(key, ['SMEMBERS', key])) as Buffer[]).map((member) => member.toString('utf8')),
    remove: async (key, members) => void (await call(key, ['SREM', key, ...members])),
    onError: (listener) => listenForErrors(target.client, listener),
  };
}
