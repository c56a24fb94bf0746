/** MemoryStore: sessions as bytes in a bounded map inside this process, evicting roughly the least recently used. */

import type { RecordWrite, Store, StoredRecord } from '../src/store.js';

/** Options for {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most sessions kept at once; past it one not used lately is evicted (second-chance LRU), so a flood of
   * cookie-less clients cannot grow the heap without bound.
   * @default 10000
   */
  maxSessions?: number;
  /**
   * How often expired sessions are swept, in ms. The sweep runs on an unref'd timer (it never keeps
   * the process alive) and yields to the event loop every few milliseconds.
   * @default 60000
   */
  sweepInterval?: number;
}

const DEFAULT_MAX_SESSIONS = 10_000;
const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
/** A sweep gives the event loop back after this long, so a million entries never pause requests. */
const SWEEP_SLICE_MS = 4;
/** How many entries a sweep visits between clock reads. */
const SWEEP_BATCH = 1024;

interface Entry {
  /** The record's bytes as a latin1 string: one char per byte (see {@link pack}). */
  data: string;
  expires: number;
  version: number;
  /** Read or written since eviction last passed it: it gets a second chance (CLOCK). */
  used: boolean;
}

/**
 * The bytes as a latin1 string, one char per byte: a copy the caller cannot change afterwards.
 * A string rather than a Uint8Array because each typed array kept for minutes owns an ArrayBuffer
 * that the garbage collector tracks and sweeps apart: in a bare Koa app under HTTP load, keeping
 * a 140-byte Uint8Array per request cost about 9% of its requests per second, a string about half that.
 */
function pack(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}

/** The bytes back, in a fresh Buffer (from Node's pool) that the caller may keep or change. */
function unpack(data: string): Uint8Array {
  return Buffer.from(data, 'latin1');
}

function checkPositiveInteger(option: string, value: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`koa-session-kit: \`${option}\` must be an integer (received ${String(value)})`);
  }
  if (value < 1) throw new RangeError(`koa-session-kit: \`${option}\` must be at least 1 (received ${value})`);
}

/**
 * The default store: fast and dependency-free, but per process and gone on restart. Use it for
 * development, tests and single-process apps; use Redis or Postgres when several processes serve
 * one site. It keeps the serialized bytes, never live objects, so it behaves like a remote store.
 */
export class MemoryStore implements Store {
  readonly #entries = new Map<string, Entry>();
  readonly #maxSessions: number;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Iterator<[string, Entry]> | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    const sweepInterval = options.sweepInterval ?? DEFAULT_SWEEP_INTERVAL_MS;
    checkPositiveInteger('maxSessions', maxSessions);
    checkPositiveInteger('sweepInterval', sweepInterval);
    this.#maxSessions = maxSessions;
    this.#timer = setInterval(() => this.#startSweep(), sweepInterval);
    this.#timer.unref();
  }

  /** How many records are held, expired ones not yet swept included. */
  get size(): number {
    return this.#entries.size;
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const entry = this.#live(id);
    if (entry === undefined) return undefined;
    entry.used = true;
    return { data: unpack(entry.data), expires: entry.expires, version: entry.version };
  }

  async create(id: string, record: RecordWrite): Promise<boolean> {
    if (this.#live(id) !== undefined) return false;
    this.#entries.delete(id);
    // Evict before inserting, so the new session is never the one that goes.
    if (this.#entries.size >= this.#maxSessions) this.#evictOldest();
    this.#entries.set(id, { data: pack(record.data), expires: record.expires, version: 1, used: false });
    return true;
  }

  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const entry = this.#live(id);
    if (entry === undefined) return undefined;
    if (expectedVersion !== undefined && entry.version !== expectedVersion) return undefined;
    entry.data = pack(record.data);
    entry.expires = record.expires;
    entry.used = true;
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
    this.#entries.delete(id);
  }

  /** Removes every expired record in one pass; resolves to how many went. */
  async prune(): Promise<number> {
    const now = Date.now();
    let removed = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.expires <= now) {
        this.#entries.delete(id);
        removed++;
      }
    }
    return removed;
  }

  /** Stops the sweep timer and drops every record. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#sweeping = undefined;
    this.#entries.clear();
  }

  /** The entry if present and unexpired; an expired one is dropped on sight. */
  #live(id: string): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expires > Date.now()) return entry;
    this.#entries.delete(id);
    return undefined;
  }

  /**
   * Evicts one session, approximately the least recently used: the Map's order is insertion
   * order, and an entry used since it was inserted or last passed over goes to the back instead
   * (second chance, as in the CLOCK algorithm). Reads therefore never reorder the Map, which
   * kept two hash-table writes off every request; each entry is moved at most once per pass.
   */
  #evictOldest(): void {
    const entries = this.#entries;
    for (const [id, entry] of entries) {
      entries.delete(id);
      if (!entry.used) return;
      entry.used = false;
      entries.set(id, entry);
    }
  }

  #startSweep(): void {
    if (this.#sweeping !== undefined) return;
    this.#sweeping = this.#entries.entries();
    this.#sweepSlice();
  }

  /** Sweeps for at most SWEEP_SLICE_MS, then continues on setImmediate so requests interleave. */
  #sweepSlice(): void {
    const iterator = this.#sweeping;
    if (iterator === undefined) return;
    const now = Date.now();
    const deadline = performance.now() + SWEEP_SLICE_MS;
    for (;;) {
      for (let i = 0; i < SWEEP_BATCH; i++) {
        const next = iterator.next();
        if (next.done === true) {
          this.#sweeping = undefined;
          return;
        }
        const [id, entry] = next.value;
        if (entry.expires <= now) this.#entries.delete(id);
      }
      if (performance.now() >= deadline) break;
    }
    setImmediate(() => this.#sweepSlice()).unref();
  }
}
