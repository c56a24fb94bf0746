/** SQLiteStore: sessions as rows of one table in a SQLite file, with no server, shared by the processes of one machine. */

import { setTimeout as sleep } from 'node:timers/promises';
import { debuglog } from 'node:util';
import type BetterSqlite3 from 'better-sqlite3';
import { SessionStoreError } from '../src/errors.js';
import { PruneTimer } from '../src/prune-timer.js';
import type { OwnedRecord, RecordWrite, Store, StoredRecord, StoreEventSink } from '../src/store.js';
import { resolveSQLiteOptions, type SQLiteStoreOptions } from './sqlite/options.js';
import { PRUNE_BATCH_ROWS, createTableSql, quoteIdentifier, statementsSql, type Statements } from './sqlite/schema.js';

export type { SQLiteStoreOptions } from './sqlite/options.js';

const debug = debuglog('koa-session-kit');

/** The prepared statements, one per operation, made once the table exists. */
type Prepared = { readonly [K in keyof Statements]: BetterSqlite3.Statement };

/** A row as better-sqlite3 returns it: BLOBs as Buffer, REAL and INTEGER as number, NULL as null. */
interface Row {
  data: Buffer;
  expires: number;
  version: number;
  owner: string | null;
}

/**
 * Pauses between attempts while another connection holds the write lock, in ms: short at first
 * (a session write holds it for one short statement), then steady, like SQLite's own busy handler.
 */
const BUSY_STEPS_MS = [1, 2, 5, 10, 20, 50] as const;

/** Bytes as better-sqlite3 binds a BLOB: a Buffer over the same memory, no copy. */
const asBuffer = (data: Uint8Array): Buffer => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * A store for one machine with no database server: each session is a row of one table in a SQLite
 * file, so sessions survive restarts and deploys, and every process of the app (cluster workers,
 * a restarted server beside the old one) shares them through the file.
 *
 * The driver is better-sqlite3, an optional peer dependency imported on first use: version 12 on
 * Node 20 (the only one that runs there), 13 on Node 22 and 24. `node:sqlite` does not exist on
 * Node 20 and is still experimental where it does. On Node 24.19 and later, better-sqlite3 12 aborts
 * the process when a statement object is garbage-collected outside JavaScript (it uses Node's
 * `ObjectWrap`); 13 moved to N-API and does not.
 *
 * - Every operation is one statement, so each is its own transaction and no read-then-write spans
 *   two statements; a versioned update is a compare-and-set in its WHERE clause, and a destroyed
 *   session is never written back. The table is created in one `BEGIN IMMEDIATE` transaction, so
 *   processes starting at once cannot race on it.
 * - The file is in WAL mode: readers never wait for the writer, and one writer at a time holds the
 *   lock for one short statement. A connection that finds the lock taken retries on a timer, up to
 *   `busyTimeout`, so the event loop is never held waiting for another process (on a `database`
 *   you pass, only if you opened it with `timeout: 0`).
 * - better-sqlite3 is synchronous: each statement runs on the event loop, and nothing runs more than
 *   one at a time without yielding (prune deletes in batches, yielding between them).
 * - Its statements are prepared once and kept for the store's life; setup runs through `exec`,
 *   which makes no statement objects, so the store leaves none for the collector (see above).
 * - Expiry is by the application's clock; expired rows are invisible at once and deleted by {@link prune}.
 */
export class SQLiteStore implements Store {
  readonly #filename: string | undefined;
  readonly #given: BetterSqlite3.Database | undefined;
  readonly #table: string;
  readonly #busyTimeout: number;
  #ready: Promise<Prepared> | undefined;
  #owned: BetterSqlite3.Database | undefined;
  readonly #prunes: PruneTimer;
  #closed = false;

  constructor(options: SQLiteStoreOptions) {
    const resolved = resolveSQLiteOptions(options);
    this.#filename = resolved.filename;
    this.#given = resolved.database;
    this.#table = resolved.table;
    this.#busyTimeout = resolved.busyTimeout;
    const log = (error: unknown): void => debug('SQLiteStore: prune failed: %s', reason(error));
    this.#prunes = new PruneTimer('SQLiteStore', () => this.#pruneOnce(), resolved.pruneInterval, log);
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    // better-sqlite3 types rows as unknown: these are the columns the statement selects.
    const row = await this.#run('get', (s) => s.get.get({ id, now: Date.now() }) as Row | undefined);
    if (row === undefined) return undefined;
    return { data: row.data, expires: row.expires, version: row.version, owner: row.owner ?? undefined };
  }

  async create(id: string, record: RecordWrite): Promise<boolean> {
    const params = { id, data: asBuffer(record.data), expires: record.expires, owner: record.owner ?? null, now: Date.now() };
    return (await this.#run('create', (s) => s.create.run(params))).changes === 1;
  }

  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const params = { id, data: asBuffer(record.data), expires: record.expires, owner: record.owner ?? null, now: Date.now() };
    const row = await this.#run('update', (s) =>
      expectedVersion === undefined ? s.update.get(params) : s.updateAt.get({ ...params, version: expectedVersion }),
    );
    return (row as Pick<Row, 'version'> | undefined)?.version; // RETURNING version
  }

  async touch(id: string, expires: number): Promise<boolean> {
    return (await this.#run('touch', (s) => s.touch.run({ id, expires, now: Date.now() }))).changes === 1;
  }

  async destroy(id: string): Promise<void> {
    await this.#run('destroy', (s) => s.destroy.run({ id }));
  }

  /** The owner's unexpired records, through the table's owner index. */
  async listOwned(owner: string): Promise<OwnedRecord[]> {
    const rows = await this.#run('listOwned', (s) => s.listOwned.all({ owner, now: Date.now() }) as Pick<Row, 'data' | 'expires'>[]);
    return rows as (OwnedRecord & { data: Buffer })[]; // each row is exactly { id, data, expires }
  }

  /**
   * Removes the owner's records but `except` in one statement ("log out everywhere else") and
   * resolves to how many of them were live; the owner's expired rows go too.
   */
  async destroyOwned(owner: string, except?: string): Promise<number> {
    const rows = await this.#run('destroyOwned', (s) => s.destroyOwned.all({ owner, except: except ?? null, now: Date.now() }));
    return (rows as { live: number }[]).filter((row) => row.live === 1).length; // RETURNING … AS live: 0 or 1
  }

  /**
   * Deletes rows that expired by now, in batches of 500 with the event loop free between them, and
   * resolves to how many went. Concurrent calls on this instance share one run; other processes
   * pruning the same file at once only find less to delete.
   */
  prune(): Promise<number> {
    return this.#prunes.prune();
  }

  /** Where the scheduled prune reports (see `Store.setEventSink`). */
  setEventSink(sink: StoreEventSink | undefined): void {
    this.#prunes.setEventSink(sink);
  }

  /**
   * Stops the prune timer and closes the connection the store opened from `filename` (later calls
   * then reject). A `database` you passed is left open, and the store keeps working on it.
   */
  async close(): Promise<void> {
    await this.#prunes.stop();
    if (this.#filename === undefined || this.#closed) return;
    this.#closed = true;
    await this.#ready?.catch(() => undefined);
    this.#owned?.close();
    this.#owned = undefined;
  }

  async #pruneOnce(): Promise<number> {
    const now = Date.now();
    let removed = 0;
    let batch: number;
    do {
      batch = (await this.#run('prune', (s) => s.pruneBatch.run({ now }))).changes;
      removed += batch;
      // Yield, so requests waiting on the event loop run between batches.
      if (batch === PRUNE_BATCH_ROWS) await new Promise((resolve) => setImmediate(resolve));
    } while (batch === PRUNE_BATCH_ROWS);
    return removed;
  }

  /** Runs one statement on the ready connection, waiting out a held write lock, wrapping any failure. */
  async #run<R>(operation: string, statement: (s: Prepared) => R): Promise<R> {
    let prepared: Prepared;
    try {
      prepared = await this.#prepared(operation);
    } catch (error) {
      throw this.#wrap(operation, error);
    }
    return this.#whileBusy(operation, () => statement(prepared));
  }

  /**
   * Calls `attempt` until it does not fail with SQLITE_BUSY, pausing on a timer in between, for at
   * most `busyTimeout` ms. A statement that failed busy wrote nothing, so running it again is safe.
   */
  async #whileBusy<R>(operation: string, attempt: () => R, step = ''): Promise<R> {
    const deadline = performance.now() + this.#busyTimeout;
    for (let tries = 0; ; tries++) {
      try {
        return attempt();
      } catch (error) {
        const left = deadline - performance.now();
        if (!isBusy(error) || left <= 0) throw this.#wrap(operation, error, step, isBusy(error));
        const pause = BUSY_STEPS_MS[Math.min(tries, BUSY_STEPS_MS.length - 1)]!;
        // Jitter, so processes that collided once do not retry in step.
        await sleep(Math.min(left, pause * (0.5 + Math.random())));
      }
    }
  }

  /** The prepared statements, with the connection opened and the table created first (once; retried after a failure). */
  #prepared(operation: string): Promise<Prepared> {
    if (this.#closed) return Promise.reject(new SessionStoreError('koa-session-kit: SQLiteStore is closed', { operation }));
    this.#ready ??= this.#setUp(operation).catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async #setUp(operation: string): Promise<Prepared> {
    const db = this.#given ?? (await this.#open(operation));
    try {
      // Read-then-write (IF NOT EXISTS reads the schema): IMMEDIATE takes the write lock first, so a
      // second process creating the table at once waits instead of failing with SQLITE_BUSY_SNAPSHOT.
      const ddl = ['BEGIN IMMEDIATE', ...createTableSql(this.#table), 'COMMIT'].join(';\n');
      await this.#whileBusy(operation, () => execOrRollBack(db, ddl), ' while creating it');
      const sql = statementsSql(this.#table);
      const prepared = {} as Record<keyof Statements, BetterSqlite3.Statement>; // filled for every key just below
      for (const key of Object.keys(sql) as (keyof Statements)[]) prepared[key] = db.prepare(sql[key]); // its own keys
      // Only now: a failed setup closes its own connection, and the next call opens a new one.
      if (this.#given === undefined) this.#owned = db;
      return prepared;
    } catch (error) {
      if (this.#given === undefined) db.close();
      throw error;
    }
  }

  /** Opens `filename`: better-sqlite3 stays unloaded until a request needs it. */
  async #open(operation: string): Promise<BetterSqlite3.Database> {
    let Database: typeof BetterSqlite3;
    try {
      Database = (await import('better-sqlite3')).default;
    } catch (cause) {
      throw new SessionStoreError('koa-session-kit: install `better-sqlite3` to use SQLiteStore', { operation, cause });
    }
    // timeout 0: SQLite's busy handler would sleep on the event loop; #whileBusy waits on a timer instead.
    const db = new Database(this.#filename, { timeout: 0 });
    try {
      // The journal mode is kept in the file: once one process set it, this finds it set.
      await this.#whileBusy(operation, () => db.exec('PRAGMA journal_mode = WAL'), ' while switching it to WAL');
    } catch (error) {
      db.close();
      throw error;
    }
    // WAL is safe from corruption at NORMAL; a power cut may lose the last commits, never the file.
    db.exec('PRAGMA synchronous = NORMAL');
    return db;
  }

  #wrap(operation: string, error: unknown, step = '', busy = false): SessionStoreError {
    if (error instanceof SessionStoreError) return error;
    const where = `table ${quoteIdentifier(this.#table)}${this.#filename === undefined ? '' : ` in ${this.#filename}`}${step}`;
    const waited = this.#busyTimeout === 0 ? ' (busyTimeout is 0)' : ` for over ${this.#busyTimeout} ms (busyTimeout)`;
    const advice = busy ? `; another connection held the write lock${waited}` : '';
    const message = `koa-session-kit: SQLiteStore ${operation} failed on ${where}: ${reason(error)}${advice}`;
    return new SessionStoreError(message, { operation, cause: error });
  }
}

/** Runs `sql`, a transaction; rolls it back if a statement in it fails, so a retry starts clean. */
function execOrRollBack(db: BetterSqlite3.Database, sql: string): void {
  try {
    db.exec(sql);
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/** SQLITE_BUSY and its extended codes: the lock was taken, nothing was done, and trying again may succeed. */
function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code; // SqliteError carries SQLite's result code name
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * A driver error in one line, with its code when it has one. Read by shape, not `instanceof`:
 * better-sqlite3 makes its TypeErrors in the main realm, which a vm context (a test runner) does not share.
 */
function reason(error: unknown): string {
  const { message, code } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown };
  if (typeof message !== 'string') return String(error);
  return typeof code === 'string' ? `${message} (${code})` : message;
}
