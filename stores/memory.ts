/** MemoryStore: sessions as bytes in bounded maps inside this process, evicting roughly the least recently used. */

import { SessionStoreError } from '../src/errors.js';
import { checkInteger, checkOptions, checkPruneInterval, type ForeignOptions, type OptionRegistry } from '../src/option-checks.js';
import { readNow, type OwnedRecord, type RecordWrite, type Store, type StoredRecord, type StoreEventSink } from '../src/store.js';

/** Options for {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most sessions kept at once; past it one not used lately is evicted (second-chance LRU), so a flood of
   * cookie-less clients cannot grow the heap without bound.
   * @default 10000
   */
  maxSessions?: number | undefined;
  /**
   * The most bytes of session data kept at once; past it the sessions not used lately are evicted
   * as for `maxSessions`, so a few large sessions cannot grow the heap without bound either. A
   * single session larger than this is refused with a `SessionStoreError`. Ids and bookkeeping
   * come on top, bounded by `maxSessions`.
   * @default 67108864 (64 MiB)
   */
  maxTotalBytes?: number | undefined;
  /**
   * How often, in ms, expired sessions are removed, on an unref'd timer (it never keeps the process
   * alive) that yields to the event loop every few milliseconds; `false` for no timer. Expired
   * sessions are never served either way, and one found on a read is dropped at once.
   * @default 60000 (one minute)
   */
  pruneInterval?: number | false | undefined;
}

/** One entry per option, so the compiler fails when an option is added to the type but not here. */
const OPTION_KEYS: OptionRegistry<MemoryStoreOptions> = { maxSessions: true, maxTotalBytes: true, pruneInterval: true };
/** Names other memory stores use, and ours. */
const FOREIGN_OPTIONS: ForeignOptions = {
  sweepInterval: '`pruneInterval` (ms, or false)',
  checkPeriod: '`pruneInterval` (ms, or false)',
  max: '`maxSessions`',
  ttl: '`maxAge` on session(): the record expiry always follows the session expiry',
};

const DEFAULT_MAX_SESSIONS = 10_000;
const DEFAULT_PRUNE_INTERVAL_MS = 60_000;
const DEFAULT_MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/**
 * A sweep gives the event loop back after this long. Slices overrun it while the GC is busy with a
 * large heap, so the slice is kept short (bench/studies/memory-scale.ts measures the longest pause).
 */
const SWEEP_SLICE_MS = 2;
/**
 * Entries per shard the store aims at. A Map rehashes all its entries when it grows or shrinks
 * past a power of two, and with hundreds of thousands of entries that one delete pauses every
 * request; shards of this size rehash quickly (bench/studies/memory-scale.ts).
 */
const SHARD_TARGET = 16_384;
const MAX_SHARDS = 256;
/** How many entries a sweep visits between clock reads. */
const SWEEP_BATCH = 256;

interface Entry {
  /** Its key, so a sweep can walk values() and allocate nothing per entry. */
  id: string;
  /** The record's bytes as a latin1 string: one char per byte (see {@link pack}). */
  data: string;
  expires: number;
  version: number;
  /** Read or written since eviction last passed it: it gets a second chance (CLOCK). */
  used: boolean;
  /** Whose session it is; indexed in `#owners`. */
  owner: string | undefined;
}

/**
 * The bytes as a latin1 string, one char per byte: a copy the caller cannot change afterwards.
 * A string rather than a Uint8Array because each typed array kept for minutes owns an ArrayBuffer
 * that the garbage collector tracks and sweeps apart: kept per request under HTTP load, typed
 * arrays cost a bare Koa app noticeably more of its requests per second than strings do.
 */
function pack(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}

/** The bytes back, in a fresh Buffer (from Node's pool) that the caller may keep or change. */
function unpack(data: string): Uint8Array {
  return Buffer.from(data, 'latin1');
}

/** A power of two, so a shard is picked with a mask; one shard (exact second-chance order) below SHARD_TARGET. */
function shardCountFor(maxSessions: number): number {
  return Math.min(MAX_SHARDS, 2 ** Math.ceil(Math.log2(Math.max(1, maxSessions / SHARD_TARGET))));
}

/**
 * The default store: fast and dependency-free, but per process and gone on restart. Use it for
 * development, tests and single-process apps; use Redis or Postgres when several processes serve
 * one site. It keeps the serialized bytes, never live objects, so it behaves like a remote store.
 */
export class MemoryStore implements Store {
  /** Records spread over shards by a hash of the id (see {@link SHARD_TARGET}). */
  readonly #shards: Map<string, Entry>[];
  readonly #mask: number;
  readonly #maxSessions: number;
  readonly #maxTotalBytes: number;
  #count = 0;
  /** Data bytes held: the sum of every entry's `data.length` (one char per byte). */
  #bytes = 0;
  /** The shard the next eviction starts from: evictions go round the shards, which fill evenly. */
  #evictFrom = 0;
  /** Owner -> ids of their records: the index listOwned and destroyOwned read. */
  readonly #owners = new Map<string, Set<string>>();
  #timer: NodeJS.Timeout | undefined;
  #sweeping: { shard: number; entries: Iterator<Entry>; removed: number } | undefined;
  #sink: StoreEventSink | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    checkOptions('MemoryStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
    const maxSessions = checkInteger('maxSessions', options.maxSessions ?? DEFAULT_MAX_SESSIONS, 1);
    const maxTotalBytes = checkInteger('maxTotalBytes', options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES, 1);
    const pruneInterval = checkPruneInterval(options.pruneInterval, DEFAULT_PRUNE_INTERVAL_MS);
    this.#maxSessions = maxSessions;
    this.#maxTotalBytes = maxTotalBytes;
    const shards = shardCountFor(maxSessions);
    this.#shards = Array.from({ length: shards }, () => new Map<string, Entry>());
    this.#mask = shards - 1;
    if (pruneInterval !== false) this.#timer = setInterval(() => this.#startSweep(), pruneInterval).unref();
  }

  /** How many records are held, expired ones not yet swept included. */
  get size(): number {
    return this.#count;
  }

  /** How many bytes of session data are held, expired records not yet swept included. */
  get bytes(): number {
    return this.#bytes;
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    return this[readNow](id);
  }

  /** `get` without the promise: the middleware loads from this store in the request's own tick. */
  [readNow](id: string): StoredRecord | undefined {
    const entry = this.#live(id);
    if (entry === undefined) return undefined;
    entry.used = true;
    return { data: unpack(entry.data), expires: entry.expires, version: entry.version, owner: entry.owner };
  }

  async create(id: string, record: RecordWrite): Promise<boolean> {
    if (this.#live(id) !== undefined) return false;
    this.#checkFits('create', record.data.length);
    // Evict before inserting, so the new session is never the one that goes.
    this.#makeRoom(record.data.length);
    const entry = { id, data: pack(record.data), expires: record.expires, version: 1, used: false, owner: record.owner };
    this.#insert(this.#shardOf(id), entry);
    return true;
  }

  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const entry = this.#live(id);
    if (entry === undefined) return undefined;
    if (expectedVersion !== undefined && entry.version !== expectedVersion) return undefined;
    this.#checkFits('update', record.data.length);
    const growth = record.data.length - entry.data.length;
    if (growth > 0 && this.#bytes + growth > this.#maxTotalBytes) {
      // Out of the maps while room is made, so eviction never picks the session being written.
      const shard = this.#shardOf(id);
      this.#drop(shard, entry);
      this.#makeRoom(record.data.length);
      entry.data = pack(record.data);
      this.#insert(shard, entry);
    } else {
      entry.data = pack(record.data);
      this.#bytes += growth;
    }
    entry.expires = record.expires;
    entry.used = true;
    if (record.owner !== entry.owner) {
      if (entry.owner !== undefined) this.#unindex(entry.owner, id);
      if (record.owner !== undefined) this.#index(record.owner, id);
      entry.owner = record.owner;
    }
    return ++entry.version;
  }

  async touch(id: string, expires: number): Promise<boolean> {
    const entry = this.#live(id);
    if (entry === undefined) return false;
    entry.expires = expires;
    entry.used = true;
    return true;
  }

  async destroy(id: string): Promise<void> {
    this.#remove(this.#shardOf(id), id);
  }

  /** The owner's unexpired records. */
  async listOwned(owner: string): Promise<OwnedRecord[]> {
    const ids = this.#owners.get(owner);
    if (ids === undefined) return [];
    const records: OwnedRecord[] = [];
    for (const id of [...ids]) {
      const entry = this.#live(id);
      if (entry !== undefined) records.push({ id, data: unpack(entry.data), expires: entry.expires });
    }
    return records;
  }

  /** Removes the owner's records but `except`; resolves to how many went. */
  async destroyOwned(owner: string, except?: string): Promise<number> {
    const ids = this.#owners.get(owner);
    if (ids === undefined) return 0;
    let removed = 0;
    for (const id of [...ids]) {
      if (id === except) continue;
      const live = this.#live(id) !== undefined;
      if (live && this.#remove(this.#shardOf(id), id)) removed++;
    }
    return removed;
  }

  /** Removes every expired record in one pass; resolves to how many went. */
  async prune(): Promise<number> {
    const now = Date.now();
    let removed = 0;
    for (const shard of this.#shards) {
      for (const entry of shard.values()) {
        if (entry.expires > now) continue;
        this.#drop(shard, entry);
        removed++;
      }
    }
    return removed;
  }

  /** Where the scheduled sweep reports `prune-finished` (see `Store.setEventSink`). */
  setEventSink(sink: StoreEventSink | undefined): void {
    this.#sink = sink;
  }

  /** Stops the sweep timer and drops every record. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sweeping = undefined;
    for (const shard of this.#shards) shard.clear();
    this.#owners.clear();
    this.#count = 0;
    this.#bytes = 0;
  }

  #index(owner: string, id: string): void {
    const ids = this.#owners.get(owner);
    if (ids === undefined) this.#owners.set(owner, new Set([id]));
    else ids.add(id);
  }

  #unindex(owner: string, id: string): void {
    const ids = this.#owners.get(owner);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.#owners.delete(owner);
  }

  /** FNV-1a over the id's last eight characters: digests are uniform anyway, and other ids vary at the end. */
  #shardOf(id: string): Map<string, Entry> {
    if (this.#mask === 0) return this.#shards[0] as Map<string, Entry>;
    let hash = 0x811c9dc5;
    for (let i = Math.max(0, id.length - 8); i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
    return this.#shards[(hash ^ (hash >>> 16)) & this.#mask] as Map<string, Entry>;
  }

  #remove(shard: Map<string, Entry>, id: string): boolean {
    const entry = shard.get(id);
    if (entry === undefined) return false;
    this.#drop(shard, entry);
    return true;
  }

  #drop(shard: Map<string, Entry>, entry: Entry): void {
    shard.delete(entry.id);
    this.#count--;
    this.#bytes -= entry.data.length;
    if (entry.owner !== undefined) this.#unindex(entry.owner, entry.id);
  }

  #insert(shard: Map<string, Entry>, entry: Entry): void {
    shard.set(entry.id, entry);
    this.#count++;
    this.#bytes += entry.data.length;
    if (entry.owner !== undefined) this.#index(entry.owner, entry.id);
  }

  #checkFits(operation: string, length: number): void {
    if (length <= this.#maxTotalBytes) return;
    throw new SessionStoreError(
      `koa-session-kit: MemoryStore refused to ${operation} a session of ${length} bytes: more than \`maxTotalBytes\` (${this.#maxTotalBytes})`,
      { operation },
    );
  }

  /** Evicts until one more session of `length` bytes fits both bounds. */
  #makeRoom(length: number): void {
    while (this.#count >= this.#maxSessions || this.#bytes + length > this.#maxTotalBytes) {
      if (!this.#evictOne()) return;
    }
  }

  /** The entry if present and unexpired; an expired one is dropped on sight. */
  #live(id: string): Entry | undefined {
    const shard = this.#shardOf(id);
    const entry = shard.get(id);
    if (entry === undefined) return undefined;
    if (entry.expires > Date.now()) return entry;
    this.#drop(shard, entry);
    return undefined;
  }

  /**
   * Evicts one session, approximately the least recently used. A shard's order is insertion
   * order, and an entry used since it was inserted or last passed over goes to the back instead
   * (second chance, as in the CLOCK algorithm), so reads never reorder a Map. With several
   * shards, evictions take turns among them.
   */
  #evictOne(): boolean {
    for (let tries = 0; tries < this.#shards.length; tries++) {
      const index = this.#evictFrom;
      this.#evictFrom = (index + 1) & this.#mask;
      const shard = this.#shards[index] as Map<string, Entry>;
      for (const [id, entry] of shard) {
        shard.delete(id);
        if (!entry.used) {
          this.#count--;
          this.#bytes -= entry.data.length;
          if (entry.owner !== undefined) this.#unindex(entry.owner, id);
          return true;
        }
        entry.used = false;
        shard.set(id, entry);
      }
    }
    return false;
  }

  #startSweep(): void {
    if (this.#sweeping !== undefined) return;
    this.#sweeping = { shard: 0, entries: (this.#shards[0] as Map<string, Entry>).values(), removed: 0 };
    this.#sweepSlice();
  }

  /** Sweeps for at most SWEEP_SLICE_MS, then continues on setImmediate so requests interleave. */
  #sweepSlice(): void {
    const sweeping = this.#sweeping;
    if (sweeping === undefined) return;
    const now = Date.now();
    const deadline = performance.now() + SWEEP_SLICE_MS;
    for (;;) {
      for (let i = 0; i < SWEEP_BATCH; i++) {
        const next = sweeping.entries.next();
        if (next.done === true) {
          if (++sweeping.shard === this.#shards.length) {
            this.#sweeping = undefined;
            this.#sink?.({ type: 'prune-finished', store: 'MemoryStore', removed: sweeping.removed });
            return;
          }
          sweeping.entries = (this.#shards[sweeping.shard] as Map<string, Entry>).values();
          continue;
        }
        const entry = next.value;
        if (entry.expires <= now) {
          this.#drop(this.#shards[sweeping.shard] as Map<string, Entry>, entry);
          sweeping.removed++;
        }
      }
      if (performance.now() >= deadline) break;
    }
    setImmediate(() => this.#sweepSlice()).unref();
  }
}
