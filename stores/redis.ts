/** RedisStore: sessions as Redis hashes with a millisecond TTL and a Lua compare-and-set on the version. */

import { debuglog } from 'node:util';
import type { Cluster, Redis } from 'ioredis';
import { SessionStoreError } from '../src/errors.js';
import {
  checkDuration,
  checkOptions,
  checkOwner,
  describeValue,
  MAX_TIMER_MS,
  optionError,
  wrongType,
  type ForeignOptions,
  type OptionRegistry,
} from '../src/option-checks.js';
import type { OwnedRecord, RecordWrite, Store, StoredRecord, StoreEventSink } from '../src/store.js';
import { prepare, type ScriptedClient } from './redis/scripts.js';

/** An ioredis client: a single-node `Redis` (standalone or Sentinel) or a `Cluster`. */
export type RedisClient = Redis | Cluster;

/** Options for {@link RedisStore}: give exactly one of `client` and `url`. */
export interface RedisStoreOptions {
  /**
   * An ioredis client (`new Redis(...)` or `new Cluster(...)`). The store never closes it: it is
   * yours, and may be shared with the rest of the app. A session without an owner touches one key,
   * so a Cluster needs no hash tags; with owners (`session.owner`), each script also touches the
   * owner's set of ids, so on a Cluster give a prefix with a hash tag (`prefix: '{sess}:'`). Its
   * own settings bound the store's waits: ioredis sets no `commandTimeout` by default, so give it
   * one (and a `maxRetriesPerRequest`) for requests that fail when Redis hangs instead of waiting with it.
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
 * minute) on a dead one. Session commands are one script each: five seconds is a Redis in trouble.
 */
const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
/** An owner is a user id: room for any, not for data smuggled in as one (the middleware checks the same). */
/** Where an owner's set of session ids lives, after the prefix (see `redis/scripts.ts`). */
const OWNER_KEY = 'owner:';
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
 * session's own expiry, to the millisecond. Creates, versioned updates, touches and destroys are
 * single Lua scripts, so they are atomic and cost one round trip; a destroyed session is never
 * written back by a late update. Data is stored as raw bytes. A session's owner is indexed in a
 * set per owner, kept in the same scripts (see `redis/scripts.ts`).
 *
 * There is no `prune()`: Redis removes expired keys itself, owner sets included.
 */
export class RedisStore implements Store {
  readonly #prefix: string;
  readonly #url: string | undefined;
  readonly #connectTimeout: number;
  readonly #commandTimeout: number;
  #client: ScriptedClient | undefined;
  #connecting: Promise<ScriptedClient> | undefined;
  #closed = false;
  #sink: StoreEventSink | undefined;

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
    const [data, expires, version, owner] = await this.#run('get', (client) => client.hmgetBuffer(key, 'd', 'e', 'v', 'o'));
    if (data == null || expires == null || version == null) return undefined;
    const record: StoredRecord = { data, expires: Number(expires.toString()), version: Number(version.toString()) };
    // The Redis clock may lag the app's; the app's clock decides, as in every other store.
    if (!(record.expires > Date.now())) return undefined;
    if (owner != null) record.owner = owner.toString('utf8');
    return record;
  }

  async create(id: string, record: RecordWrite): Promise<boolean> {
    const key = this.#prefix + id;
    const args = writeArgs(id, record);
    const created = await this.#run('create', (client) => client.koaSessionKitV2Create(key, ...args));
    return created === 1;
  }

  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const key = this.#prefix + id;
    const args = [...writeArgs(id, record), expectedVersion === undefined ? '' : String(expectedVersion)];
    const version = await this.#run('update', (client) => client.koaSessionKitV2Update(key, ...args));
    return version ?? undefined;
  }

  async touch(id: string, expires: number): Promise<boolean> {
    const key = this.#prefix + id;
    const args = [id, String(expires), String(Math.ceil(expires)), String(Date.now())];
    const touched = await this.#run('touch', (client) => client.koaSessionKitV2Touch(key, ...args));
    return touched === 1;
  }

  async destroy(id: string): Promise<void> {
    const key = this.#prefix + id;
    await this.#run('destroy', (client) => client.koaSessionKitV2Destroy(key, id));
  }

  /** The owner's live sessions, from the owner's set; ids whose record expired or went leave the set. One script. */
  async listOwned(owner: string): Promise<OwnedRecord[]> {
    checkOwner('owner', owner);
    const suffix = OWNER_KEY + owner;
    const args = [suffix, owner, String(Date.now())];
    const rows = await this.#run('listOwned', (client) => client.koaSessionKitV2ListOwnedBuffer(this.#prefix + suffix, ...args));
    return rows.map(([id, data, expires]) => ({ id: id.toString('latin1'), data, expires: Number(expires.toString()) }));
  }

  /** Deletes the owner's sessions but `except`, and their set entries, in one script; resolves to how many live ones went. */
  async destroyOwned(owner: string, except?: string): Promise<number> {
    checkOwner('owner', owner);
    const suffix = OWNER_KEY + owner;
    const args = [suffix, owner, String(Date.now()), except ?? ''];
    return this.#run('destroyOwned', (client) => client.koaSessionKitV2DestroyOwned(this.#prefix + suffix, ...args));
  }

  /** Where the client made from `url` reports its connection errors (see `Store.setEventSink`). */
  setEventSink(sink: StoreEventSink | undefined): void {
    this.#sink = sink;
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
        redis.on('error', (error: Error) => {
          debug('RedisStore connection error: %s', error.message);
          this.#sink?.({ type: 'store-error', store: 'RedisStore', operation: 'connection', error });
        });
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

/** ARGV shared by create and update: id, data, expiry as written, expiry for PEXPIREAT, the app's now, owner or ''. */
function writeArgs(id: string, record: RecordWrite): [string, Buffer, string, string, string, string] {
  const owner = record.owner ?? '';
  if (record.owner !== undefined) checkOwner('owner', record.owner);
  // PEXPIREAT needs an integer; rounding up keeps the key at least as long as the record lives.
  return [id, asBuffer(record.data), String(record.expires), String(Math.ceil(record.expires)), String(Date.now()), owner];
}

/** A TypeError (the caller's mistake) for what no user id looks like. */
