/** RedisStore: sessions as Redis hashes with a millisecond TTL and a Lua compare-and-set on the version. */

import { debuglog } from 'node:util';
import type { Cluster, Redis } from 'ioredis';
import { SessionStoreError } from '../src/errors.js';
import {
  MAX_TIMER_MS,
  checkDuration,
  checkOptions,
  describeValue,
  optionError,
  wrongType,
  type ForeignOptions,
  type OptionRegistry,
} from '../src/option-checks.js';
import type { RecordWrite, Store, StoredRecord } from '../src/store.js';

/** An ioredis client: a single-node `Redis` (standalone or Sentinel) or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** Options for {@link RedisStore}: give exactly one of `client` and `url`. */
export interface RedisStoreOptions {
  /**
   * An ioredis client (`new Redis(...)` or `new Cluster(...)`). The store never closes it: it is
   * yours, and may be shared with the rest of the app. Every operation touches one key, so a
   * Cluster needs no hash tags. Its own settings bound the store's waits: ioredis sets no
   * `commandTimeout` by default, so give it one (and a `maxRetriesPerRequest`) for requests that
   * fail when Redis hangs instead of waiting with it.
   * @example new RedisStore({ client: new Redis(process.env.REDIS_URL) })
   */
  client?: RedisClient;
  /**
   * A Redis URL, for a client the store makes itself (ioredis is imported on first use, and
   * {@link RedisStore.close} quits it). Its waits are bounded by `connectTimeout` and
   * `commandTimeout`. Pass `client` instead to tune retries, TLS or Sentinel.
   * @example new RedisStore({ url: 'redis://127.0.0.1:6379/0' })
   */
  url?: string;
  /**
   * For the client made from `url`: the most ms to wait for a TCP connection to Redis (ioredis's
   * `connectTimeout`) before trying again. Only with `url`: a `client` keeps its own.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * For the client made from `url`: the most ms one command may wait for its answer, time spent
   * queued while the connection is down or not yet made included (ioredis's `commandTimeout`).
   * The request then fails with a `SessionStoreError` instead of waiting on a Redis that is hung,
   * down or unreachable. A command that timed out may still run later, once Redis answers again.
   * Only with `url`: a `client` keeps its own.
   * @default 5000
   */
  commandTimeout?: number;
  /**
   * Put in front of every key (after the client's own `keyPrefix`, if it has one), so sessions
   * sit apart from the app's other keys and several apps can share one database.
   * @default 'sess:'
   */
  prefix?: string;
}

const DEFAULT_PREFIX = 'sess:';
/** ioredis's own default is 10 s; it applies to the TCP connect only, commands are bounded apart. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/**
 * ioredis waits for ever on a hung Redis, and retries a command through 20 reconnections (over a
 * minute) on a dead one. Session commands touch one key: five seconds is a Redis in trouble.
 */
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
const debug = debuglog('koa-session-kit');

/** Spellings other session stores use, mapped to ours (STYLE 7: unknown keys throw with a hint). */
const FOREIGN_OPTIONS: ForeignOptions = {
  redis: '`client`',
  keyPrefix: '`prefix` (or the ioredis client option of that name)',
  ttl: '`maxAge` on session(): the TTL always follows the session expiry',
  disableTTL: '`maxAge` on session(): the TTL always follows the session expiry',
  disableTouch: '`rolling`/`touchAfter` on session()',
  pruneInterval: 'nothing: Redis removes each expired session itself (its TTL)',
};
/** One entry per option, so the compiler fails when an option is added to the type but not here. */
const OPTION_KEYS: OptionRegistry<RedisStoreOptions> = {
  client: true,
  url: true,
  prefix: true,
  connectTimeout: true,
  commandTimeout: true,
};

/*
 * Each session is one hash: d = the record bytes, e = expiry (ms since the epoch, as written),
 * v = version. The key's PEXPIREAT is the same expiry, so Redis drops it on time; the scripts also
 * compare `e` with the application's clock (ARGV now), so a record the app considers expired is
 * missing for every operation even when the Redis clock lags. One key per script: Cluster-safe.
 */

/** KEYS[1]; ARGV: data, expires, expireAtMs, now. Returns 1 when written, 0 when a live record holds the id. */
const CREATE_LUA = `
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) > tonumber(ARGV[4]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'e', ARGV[2], 'v', 1)
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1`;

/** KEYS[1]; ARGV: data, expires, expireAtMs, now, expectedVersion or ''. Returns the new version or nil. */
const UPDATE_LUA = `
local f = redis.call('HMGET', KEYS[1], 'e', 'v')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[4]) then return nil end
local v = tonumber(f[2])
if ARGV[5] ~= '' and v ~= tonumber(ARGV[5]) then return nil end
v = v + 1
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'e', ARGV[2], 'v', v)
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return v`;

/** KEYS[1]; ARGV: expires, expireAtMs, now. Moves the stored expiry and the TTL together; data untouched. */
const TOUCH_LUA = `
local e = redis.call('HGET', KEYS[1], 'e')
if not e or tonumber(e) <= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`;

/*
 * Commands registered with ioredis's defineCommand, which sends EVALSHA and falls back to EVAL on
 * NOSCRIPT (an empty script cache after SCRIPT FLUSH, a restart or a failover). The names carry
 * the format version so another release's scripts never collide with these on a shared client.
 */
const COMMANDS = {
  create: 'koaSessionKitV1Create',
  update: 'koaSessionKitV1Update',
  touch: 'koaSessionKitV1Touch',
} as const;

type Arg = string | Buffer;

/** The client as the store calls it: the commands it uses plus the scripts it defines. */
interface ScriptedClient {
  hmgetBuffer(key: string, ...fields: string[]): Promise<(Buffer | null)[]>;
  del(key: string): Promise<number>;
  readonly status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  koaSessionKitV1Create(key: string, ...args: Arg[]): Promise<number>;
  koaSessionKitV1Update(key: string, ...args: Arg[]): Promise<number | null>;
  koaSessionKitV1Touch(key: string, ...args: Arg[]): Promise<number>;
}

/** Registers the scripts and returns the typed view the store calls through. */
function prepare(client: RedisClient): ScriptedClient {
  client.defineCommand(COMMANDS.create, { numberOfKeys: 1, lua: CREATE_LUA });
  client.defineCommand(COMMANDS.update, { numberOfKeys: 1, lua: UPDATE_LUA });
  client.defineCommand(COMMANDS.touch, { numberOfKeys: 1, lua: TOUCH_LUA });
  // defineCommand adds the three methods at runtime; ioredis's types cannot know about them.
  return client as unknown as ScriptedClient;
}

function looksLikeIoredis(value: unknown): value is RedisClient {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { defineCommand?: unknown }).defineCommand === 'function' &&
    typeof (value as { hmgetBuffer?: unknown }).hmgetBuffer === 'function'
  );
}

function checkRedisOptions(options: RedisStoreOptions): void {
  checkOptions('RedisStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
  const { client, url, prefix } = options;
  if (client !== undefined && url !== undefined) throw optionError(TypeError, 'client', 'be omitted when `url` is given', 'both');
  if (client === undefined && url === undefined) {
    throw optionError(TypeError, 'client', 'be an ioredis client, or `url` a Redis URL', 'neither');
  }
  if (client !== undefined && !looksLikeIoredis(client)) throw wrongType('client', 'an ioredis client', client);
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    throw wrongType('url', 'a redis:// or rediss:// URL', url);
  }
  if (prefix !== undefined && typeof prefix !== 'string') throw wrongType('prefix', 'a string', prefix);
  for (const option of ['connectTimeout', 'commandTimeout'] as const) {
    const value = options[option];
    if (value === undefined) continue;
    if (client !== undefined) {
      throw optionError(TypeError, option, 'be omitted when `client` is given: set it on your ioredis client', describeValue(value));
    }
    checkDuration(option, value, MAX_TIMER_MS);
  }
}

/** Bytes as ioredis sends them verbatim: a Buffer view over the same memory, no copy. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A store for several processes or machines: each session is a Redis hash whose TTL is the
 * session's own expiry, to the millisecond. Creates, versioned updates and touches are single
 * Lua scripts, so they are atomic and cost one round trip; a destroyed session is never written
 * back by a late update. Data is stored as raw bytes.
 *
 * There is no `prune()`: Redis removes expired keys itself.
 */
export class RedisStore implements Store {
  readonly #prefix: string;
  readonly #url: string | undefined;
  readonly #connectTimeout: number;
  readonly #commandTimeout: number;
  #client: ScriptedClient | undefined;
  #connecting: Promise<ScriptedClient> | undefined;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    checkRedisOptions(options);
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#url = options.url;
    this.#connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#commandTimeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS;
    if (options.client !== undefined) this.#client = prepare(options.client);
  }

  /** The key prefix in use, e.g. for an admin script that counts sessions with SCAN. */
  get prefix(): string {
    return this.#prefix;
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const key = this.#prefix + id;
    const [data, expires, version] = await this.#run('get', (client) => client.hmgetBuffer(key, 'd', 'e', 'v'));
    if (data == null || expires == null || version == null) return undefined;
    const record = { data, expires: Number(expires.toString()), version: Number(version.toString()) };
    // The Redis clock may lag the app's; the app's clock decides, as in every other store.
    if (!(record.expires > Date.now())) return undefined;
    return record;
  }

  async create(id: string, record: RecordWrite): Promise<boolean> {
    const key = this.#prefix + id;
    const args = writeArgs(record);
    const created = await this.#run('create', (client) => client.koaSessionKitV1Create(key, ...args));
    return created === 1;
  }

  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const key = this.#prefix + id;
    const args = [...writeArgs(record), expectedVersion === undefined ? '' : String(expectedVersion)];
    const version = await this.#run('update', (client) => client.koaSessionKitV1Update(key, ...args));
    return version ?? undefined;
  }

  async touch(id: string, expires: number): Promise<boolean> {
    const key = this.#prefix + id;
    const args = [String(expires), String(Math.ceil(expires)), String(Date.now())];
    const touched = await this.#run('touch', (client) => client.koaSessionKitV1Touch(key, ...args));
    return touched === 1;
  }

  async destroy(id: string): Promise<void> {
    const key = this.#prefix + id;
    await this.#run('destroy', (client) => client.del(key));
  }

  /**
   * Quits the client the store made from `url` (later calls then reject); a client passed as
   * `client` is left open and the store keeps working on it.
   */
  async close(): Promise<void> {
    if (this.#url === undefined) return;
    this.#closed = true;
    const pending = this.#connecting;
    this.#connecting = undefined;
    this.#client = undefined;
    const client = await pending?.catch(() => undefined);
    if (client === undefined) return;
    // QUIT on a connection that is down would wait its commandTimeout in the offline queue.
    if (client.status !== 'ready') return client.disconnect();
    try {
      await client.quit();
    } catch {
      // quit fails when the connection drops meanwhile; disconnect still stops the reconnect loop.
      client.disconnect();
    }
  }

  /** Runs one Redis call, wrapping any failure with the operation and the prefix. */
  async #run<T>(operation: string, call: (client: ScriptedClient) => Promise<T>): Promise<T> {
    try {
      return await call(this.#client ?? (await this.#connect()));
    } catch (cause) {
      if (cause instanceof SessionStoreError) throw cause;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new SessionStoreError(`koa-session-kit: RedisStore could not ${operation} a session (prefix \`${this.#prefix}\`): ${reason}`, {
        operation,
        cause,
      });
    }
  }

  /** Makes the `url` client on first use: ioredis stays unloaded until a request needs it. */
  #connect(): Promise<ScriptedClient> {
    const url = this.#url;
    if (url === undefined || this.#closed) {
      return Promise.reject(new SessionStoreError('koa-session-kit: RedisStore is closed', { operation: 'connect' }));
    }
    this.#connecting ??= import('ioredis').then(
      ({ Redis: RedisClass }) => {
        const redis = new RedisClass(url, { connectTimeout: this.#connectTimeout, commandTimeout: this.#commandTimeout });
        // Failures reach callers as rejected commands; without a listener ioredis also prints each one.
        redis.on('error', (error: Error) => debug('RedisStore connection error: %s', error.message));
        const client = prepare(redis);
        // Only keep it if close() did not run while ioredis was loading.
        if (this.#connecting !== undefined) this.#client = client;
        return client;
      },
      (cause: unknown) => {
        this.#connecting = undefined;
        throw new SessionStoreError('koa-session-kit: install `ioredis` to use RedisStore with `url`', {
          operation: 'connect',
          cause,
        });
      },
    );
    return this.#connecting;
  }
}

/** ARGV shared by create and update: data, expiry as written, expiry for PEXPIREAT, the app's now. */
function writeArgs(record: RecordWrite): [Buffer, string, string, string] {
  // PEXPIREAT needs an integer; rounding up keeps the key at least as long as the record lives.
  return [asBuffer(record.data), String(record.expires), String(Math.ceil(record.expires)), String(Date.now())];
}
