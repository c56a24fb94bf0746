/** RedisStore: sessions as Redis hashes with a millisecond TTL and a Lua compare-and-set on the version, on ioredis or node-redis. */

import { debuglog } from 'node:util';
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
import { driverFor, type RedisClient } from './redis/clients.js';
import { replyNumber, replyText, type RedisDriver } from './redis/driver.js';
import { openIoredis, type OwnClient } from './redis/ioredis.js';
import { SCRIPTS, type Arg } from './redis/scripts.js';

export type { RedisClient } from './redis/clients.js';

/** Options for {@link RedisStore}: give exactly one of `client` and `url`. */
export interface RedisStoreOptions {
  /**
   * An ioredis client (`new Redis(...)` or `new Cluster(...)`), or a node-redis one (`redis` 5 or
   * later: `createClient(...)` or `createCluster(...)`, connected by you). The store never closes
   * it: it is yours, and may be shared with the rest of the app. Every command the store sends
   * touches one key, so a cluster needs no hash tag in the prefix. Its own settings bound the
   * store's waits (docs/stores/redis.md): ioredis sets no `commandTimeout` by default, and
   * node-redis's `commandOptions.timeout` does not cover a command already sent to a hung Redis
   * (give it `socket.socketTimeout`). While the store has an event sink (`session({ onEvent })`),
   * it listens for the client's `'error'` events and reports them; node-redis still needs a
   * listener of your own otherwise.
   * @example new RedisStore({ client: new Redis(process.env.REDIS_URL) })
   * @example new RedisStore({ client: await createClient({ url }).on('error', log).connect() })
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
   * Put in front of every key (after an ioredis client's own `keyPrefix`, if it has one), so
   * sessions sit apart from the app's other keys and several apps can share one database. On a
   * cluster, leave hash tags (`{…}`) out of it: they would put every session in one slot.
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

/** Checks the options and returns the driver for a given `client`. */
function checkRedisOptions(options: RedisStoreOptions): RedisDriver | undefined {
  checkOptions('RedisStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
  const { client, url, prefix } = options;
  if (client !== undefined && url !== undefined) throw optionError(TypeError, 'client', 'be omitted when `url` is given', 'both');
  if (client === undefined && url === undefined) {
    throw optionError(TypeError, 'client', 'be an ioredis or node-redis client, or `url` a Redis URL', 'neither');
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    throw wrongType('url', 'a redis:// or rediss:// URL', url);
  }
  if (prefix !== undefined && typeof prefix !== 'string') throw wrongType('prefix', 'a string', prefix);
  for (const option of ['connectTimeout', 'commandTimeout'] as const) {
    const value = options[option];
    if (value === undefined) continue;
    if (client !== undefined) {
      throw optionError(TypeError, option, 'be omitted when `client` is given: set it on your client', describeValue(value));
    }
    checkDuration(option, value, MAX_TIMER_MS);
  }
  return client === undefined ? undefined : driverFor(client);
}

/** Bytes as ioredis sends them verbatim: a Buffer view over the same memory, no copy. */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * A store for several processes or machines: each session is a Redis hash whose TTL is the
 * session's own expiry, to the millisecond. Creates, versioned updates, touches and destroys are
 * single Lua scripts on the session's key, so they are atomic and cost one round trip; a destroyed
 * session is never written back by a late update. Data is stored as raw bytes. Works on ioredis
 * and node-redis, standalone or cluster: every command touches one key. A session's owner is
 * indexed in a set per owner, kept in step by the order of its commands (see `redis/scripts.ts`).
 *
 * There is no `prune()`: Redis removes expired keys itself, owner sets included.
 */
export class RedisStore implements Store {
  readonly #prefix: string;
  readonly #url: string | undefined;
  readonly #connectTimeout: number;
  readonly #commandTimeout: number;
  /** The client the app passed, or the one made from `url` once it is made. */
  #driver: RedisDriver | undefined;
  #connecting: Promise<OwnClient> | undefined;
  #closed = false;
  #sink: StoreEventSink | undefined;
  /** Stops listening for a passed client's errors; set while there is a sink. */
  #unlisten: (() => void) | undefined;

  constructor(options: RedisStoreOptions) {
    this.#driver = checkRedisOptions(options);
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#url = options.url;
    this.#connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#commandTimeout = options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS;
  }

  /** The key prefix in use, e.g. for an admin script that counts sessions with SCAN. */
  get prefix(): string {
    return this.#prefix;
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const key = this.#prefix + id;
    const [data, expires, version, owner] = await this.#run('get', (redis) => redis.hmget(key, ['d', 'e', 'v', 'o']));
    if (data == null || expires == null || version == null) return undefined;
    const record: StoredRecord = { data, expires: Number(expires.toString()), version: Number(version.toString()) };
    // The Redis clock may lag the app's; the app's clock decides, as in every other store.
    if (!(record.expires > Date.now())) return undefined;
    if (owner != null) record.owner = owner.toString('utf8');
    return record;
  }

  /**
   * The record, then (when it has an owner) its id in the owner's set: a failure between the two
   * leaves a record whose create failed, so no cookie ever names it.
   */
  async create(id: string, record: RecordWrite): Promise<boolean> {
    const write = writeArgs(record);
    return this.#run('create', async (redis) => {
      const created = replyNumber(await redis.run(SCRIPTS.create, this.#prefix + id, write.args)) === 1;
      if (created && write.owner !== '') await this.#own(redis, write.owner, id, write.expireAt);
      return created;
    });
  }

  /**
   * The id into the new owner's set first, then the record: the set never misses a record that
   * names its owner. A set the record has left keeps the id until listing finds it gone, since
   * taking it out here could race a concurrent update that moves the record back.
   */
  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const write = writeArgs(record);
    const args = [...write.args, expectedVersion === undefined ? '' : String(expectedVersion)];
    return this.#run('update', async (redis) => {
      if (write.owner !== '') await this.#own(redis, write.owner, id, write.expireAt);
      const version = await redis.run(SCRIPTS.update, this.#prefix + id, args);
      return version === null ? undefined : replyNumber(version);
    });
  }

  /** The record's expiry, then its owner set's TTL (still at least the old expiry meanwhile). */
  async touch(id: string, expires: number): Promise<boolean> {
    const expireAt = Math.ceil(expires);
    const args = [String(expires), String(expireAt), String(Date.now())];
    return this.#run('touch', async (redis) => {
      const owner = await redis.run(SCRIPTS.touch, this.#prefix + id, args);
      if (owner === null) return false;
      const name = replyText(owner);
      if (name !== '') await this.#own(redis, name, id, expireAt);
      return true;
    });
  }

  /** The record, then its id in its owner's set. */
  async destroy(id: string): Promise<void> {
    await this.#run('destroy', async (redis) => {
      const owner = replyText(await redis.run(SCRIPTS.destroy, this.#prefix + id, []));
      if (owner !== '') await redis.remove(this.#ownerKey(owner), [id]);
    });
  }

  /**
   * The owner's live sessions: the set's ids, each checked against its record (several commands,
   * sent together). Ids whose record expired or went leave the set; a record that names another
   * owner is skipped.
   */
  async listOwned(owner: string): Promise<OwnedRecord[]> {
    checkOwner('owner', owner);
    const setKey = this.#ownerKey(owner);
    return this.#run('listOwned', async (redis) => {
      const ids = await redis.members(setKey);
      const now = Date.now();
      const rows = await Promise.all(ids.map((id) => redis.hmget(this.#prefix + id, ['d', 'e', 'o'])));
      const live: OwnedRecord[] = [];
      const gone: string[] = [];
      rows.forEach(([data, stored, holder], index) => {
        const id = ids[index]!;
        const expires = stored == null ? Number.NaN : Number(stored.toString());
        if (data == null || !(expires > now)) gone.push(id);
        else if (holder?.toString('utf8') === owner) live.push({ id, data, expires });
      });
      if (gone.length > 0) await redis.remove(setKey, gone);
      return live;
    });
  }

  /** Deletes each record of the set that still names the owner, but `except`; resolves to how many live ones went. */
  async destroyOwned(owner: string, except?: string): Promise<number> {
    checkOwner('owner', owner);
    const setKey = this.#ownerKey(owner);
    const args = [owner, String(Date.now())];
    return this.#run('destroyOwned', async (redis) => {
      const ids = (await redis.members(setKey)).filter((id) => id !== except);
      const outcomes = await Promise.all(ids.map((id) => redis.run(SCRIPTS.destroyIfOwned, this.#prefix + id, args)));
      const codes = outcomes.map(replyNumber);
      // 0: the record names someone else now, so its id stays in case it moves back (see update).
      const gone = ids.filter((_, index) => codes[index] !== 0);
      if (gone.length > 0) await redis.remove(setKey, gone);
      return codes.filter((code) => code === 1).length;
    });
  }

  /**
   * Where the store reports its client's connection errors (see `Store.setEventSink`): the client
   * made from `url` always, a client the app passed while a sink is set (the store then listens
   * for its `'error'` events, and stops on `setEventSink(undefined)` or `close()`).
   */
  setEventSink(sink: StoreEventSink | undefined): void {
    this.#sink = sink;
    if (this.#url !== undefined) return;
    if (sink === undefined) this.#stopListening();
    else this.#unlisten ??= this.#driver?.onError(this.#reportError);
  }

  /**
   * Quits the client the store made from `url` (later calls then reject); a client passed as
   * `client` is left open and the store keeps working on it, no longer listening for its errors.
   */
  async close(): Promise<void> {
    this.#stopListening();
    if (this.#url === undefined) return;
    this.#closed = true;
    const pending = this.#connecting;
    this.#connecting = undefined;
    this.#driver = undefined;
    const own = await pending?.catch(() => undefined);
    await own?.close();
  }

  readonly #reportError = (error: Error): void => {
    debug('RedisStore connection error: %s', error.message);
    this.#sink?.({ type: 'store-error', store: 'RedisStore', operation: 'connection', error });
  };

  #stopListening(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  #ownerKey(owner: string): string {
    return this.#prefix + OWNER_KEY + owner;
  }

  /** Puts `id` in the owner's set, which then lives at least until `expireAt`. */
  async #own(redis: RedisDriver, owner: string, id: string, expireAt: number): Promise<void> {
    await redis.run(SCRIPTS.own, this.#ownerKey(owner), [id, String(expireAt)]);
  }

  /** Runs one store operation, wrapping any failure with the operation and the prefix. */
  async #run<T>(operation: string, call: (redis: RedisDriver) => Promise<T>): Promise<T> {
    try {
      return await call(this.#driver ?? (await this.#connect()).driver);
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
  #connect(): Promise<OwnClient> {
    const url = this.#url;
    if (url === undefined || this.#closed) {
      return Promise.reject(new SessionStoreError('koa-session-kit: RedisStore is closed', { operation: 'connect' }));
    }
    const timeouts = { connectTimeout: this.#connectTimeout, commandTimeout: this.#commandTimeout };
    this.#connecting ??= openIoredis(url, timeouts, this.#reportError).then(
      (own) => {
        // Only keep it if close() did not run while ioredis was loading.
        if (this.#connecting !== undefined) this.#driver = own.driver;
        return own;
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

/** A record as the create and update scripts take it, its owner ('' for none) and its whole-ms expiry. */
function writeArgs(record: RecordWrite): { args: Arg[]; owner: string; expireAt: number } {
  if (record.owner !== undefined) checkOwner('owner', record.owner);
  const owner = record.owner ?? '';
  // PEXPIREAT needs an integer; rounding up keeps the key at least as long as the record lives.
  const expireAt = Math.ceil(record.expires);
  return { args: [asBuffer(record.data), String(record.expires), String(expireAt), String(Date.now()), owner], owner, expireAt };
}
