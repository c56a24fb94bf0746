/** MySQLStore: sessions as rows of one MySQL or MariaDB table, one statement and one round trip per operation. */

import { debuglog } from 'node:util';
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { driverReason, SessionStoreError } from '../src/errors.js';
import {
  checkBoolean,
  checkOptions,
  checkOwner,
  checkPoolOrString,
  checkPruneInterval,
  optionError,
  wrongType,
  type ForeignOptions,
  type OptionRegistry,
} from '../src/option-checks.js';
import { Once } from '../src/once.js';
import { PruneTimer } from '../src/prune-timer.js';
import type { OwnedRecord, RecordWrite, Store, StoredRecord, StoreEventSink } from '../src/store.js';
import { checkTimeouts, createPool, resolveTimeouts, withConnection, type MySQLTimeouts } from './mysql/connection.js';
import { DEFAULT_TABLE, PRUNE_BATCH_ROWS, checkTable, quoteTable, statements, type Statements } from './mysql/sql.js';

export type { MySQLTimeouts } from './mysql/connection.js';
export { createSessionTableSql } from './mysql/sql.js';

const debug = debuglog('koa-session-kit');

/** Options for {@link MySQLStore}: give exactly one of `pool` and `uri`. */
export interface MySQLStoreOptions extends MySQLTimeouts {
  /**
   * A `mysql2/promise` pool (mysql2 3). The store never ends it: it is yours and may be shared with
   * the rest of the app. For a callback pool, pass `pool.promise()`.
   * @example new MySQLStore({ pool: mysql.createPool({ uri: 'mysql://app:secret@db.internal/app', connectTimeout: 5000 }) })
   */
  pool?: Pool;
  /**
   * A connection URI, for a pool the store makes itself: `mysql2` is imported on first use, the
   * handshake is bounded ({@link MySQLTimeouts.connectTimeout}), mysql2's other pool defaults apply
   * (10 connections), options in the URI's query string win, and {@link MySQLStore.close} ends it.
   * Pass `pool` to tune anything else.
   * @example new MySQLStore({ uri: 'mysql://app:secret@db.internal:3306/app' })
   */
  uri?: string;
  /**
   * The table's name, backquoted as an identifier (any characters but NUL and those beyond U+FFFF,
   * no trailing space, at most 64 characters), in the connection's default database.
   * @default 'koa_sessions'
   */
  table?: string;
  /**
   * Create the table and its indexes on first use (`CREATE TABLE IF NOT EXISTS`, safe for several
   * instances starting at once). Turn off when you migrate by hand with {@link createSessionTableSql},
   * or when the app's user may not run DDL.
   * @default true
   */
  createTable?: boolean;
  /**
   * How often, in ms, to delete expired rows on an unref'd timer (it never keeps the process alive);
   * `false` for none, e.g. when a scheduled job calls {@link MySQLStore.prune}. Several instances
   * may share the table: a named lock (`GET_LOCK`) lets one prune at a time.
   * @default 900000 (15 minutes)
   */
  pruneInterval?: number | false;
}

const DEFAULT_PRUNE_INTERVAL_MS = 15 * 60_000;

/** Spellings other session stores use (express-mysql-session, connect-session-sequelize), mapped to ours. */
const FOREIGN_OPTIONS: ForeignOptions = {
  connectionString: '`uri`',
  url: '`uri`',
  host: '`uri` (mysql://user:password@host:port/database) or `pool`',
  database: '`uri` (mysql://user:password@host:port/database) or `pool`',
  tableName: '`table`',
  schema: '`table` (the columns are fixed)',
  createDatabaseTable: '`createTable`',
  clearExpired: '`pruneInterval` (false for none)',
  checkExpirationInterval: '`pruneInterval`',
  expiration: '`maxAge` on session(): the row expiry always follows the session expiry',
  ttl: '`maxAge` on session(): the row expiry always follows the session expiry',
  connectionLimit: '`pool` (make it with the limit you want)',
};
/** One entry per option, so the compiler fails when an option is added to the type but not here. */
const OPTION_KEYS: OptionRegistry<MySQLStoreOptions> = {
  pool: true,
  uri: true,
  table: true,
  createTable: true,
  pruneInterval: true,
  connectTimeout: true,
  commandTimeout: true,
};

/** Checks every option; returns the prune interval to use. */
function checkMySQLOptions(options: MySQLStoreOptions): number | false {
  checkOptions('MySQLStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
  const { pool, uri, table, createTable } = options;
  checkPoolOrString(pool, 'uri', uri, 'a mysql2/promise pool', 'a connection URI');
  if (pool !== undefined) checkPool(pool);
  checkTimeouts(options, pool === undefined);
  if (table !== undefined) checkTable(table);
  if (createTable !== undefined) checkBoolean('createTable', createTable);
  return checkPruneInterval(options.pruneInterval, DEFAULT_PRUNE_INTERVAL_MS);
}

function checkPool(value: unknown): void {
  const candidate = value as { getConnection?: unknown; promise?: unknown; pool?: unknown } | null; // a shape check only
  if (typeof candidate?.getConnection === 'function' && typeof candidate.promise === 'function' && candidate.pool === undefined) {
    throw optionError(TypeError, 'pool', 'be a mysql2/promise pool: pass `pool.promise()`', 'a callback pool');
  }
  if (typeof candidate?.getConnection !== 'function') throw wrongType('pool', 'a mysql2/promise pool', value);
}

/**
 * mysql2 binds a Buffer as a BLOB parameter, but any other Uint8Array as a string in the connection's
 * character set, which a server may convert on the way into a binary column (mysql2's note in
 * `encode_parameter.js`); a view, not a copy.
 */
function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The owner column's value: bytes, so the server compares them exactly; NULL for none; a TypeError
 * (the caller's mistake) for what no user id looks like.
 */
function ownerBytes(owner: string | undefined): Buffer | null {
  return owner === undefined ? null : Buffer.from(checkOwner('owner', owner), 'utf8');
}

/** What the statements bind. */
type Value = string | number | Buffer | null;

type SessionRow = RowDataPacket & { data: Buffer; expires: number; version: number; owner: Buffer | null };
type OwnedRow = RowDataPacket & { id: string; data: Buffer; expires: number };

/**
 * A store for several processes or machines sharing one MySQL or MariaDB database, through mysql2:
 * each session is a row (LONGBLOB data, the expiry as the app's milliseconds, an integer version,
 * an owner). Every operation is one statement; a versioned update is a compare-and-set in its WHERE
 * clause, and a destroyed session is never written back by a late update. Expired rows are
 * invisible at once and deleted by {@link prune}.
 */
export class MySQLStore implements Store {
  readonly #given: Pool | undefined;
  readonly #uri: string | undefined;
  readonly #timeouts: Required<MySQLTimeouts>;
  /** The table's name as given (the prune lock's name is derived from it). */
  readonly #name: string;
  /** The same, backquoted, as statements and messages show it. */
  readonly #table: string;
  readonly #sql: Statements;
  #owned: Promise<Pool> | undefined;
  /** Creating the table, done once it is known to exist (or `createTable` is off). */
  readonly #tableCreated: Once;
  readonly #prunes: PruneTimer;
  #closed = false;

  constructor(options: MySQLStoreOptions) {
    const interval = checkMySQLOptions(options);
    const table = options.table ?? DEFAULT_TABLE;
    this.#given = options.pool;
    this.#uri = options.uri;
    this.#timeouts = resolveTimeouts(options);
    this.#name = table;
    this.#table = quoteTable(table);
    this.#sql = statements(table);
    this.#tableCreated = new Once(options.createTable ?? true);
    const log = (error: unknown): void => debug('MySQLStore: prune failed: %s', driverReason(error));
    this.#prunes = new PruneTimer('MySQLStore', () => this.#pruneOnce(), interval, log);
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const [row] = await this.#rows<SessionRow>('get', this.#sql.get, [id, Date.now()]);
    if (row === undefined) return undefined;
    const record: StoredRecord = { data: row.data, expires: row.expires, version: row.version };
    if (row.owner !== null) record.owner = row.owner.toString('utf8');
    return record;
  }

  async create(id: string, record: RecordWrite): Promise<boolean> {
    const values = [id, asBuffer(record.data), record.expires, Date.now(), ownerBytes(record.owner)];
    const { affectedRows, insertId } = await this.#write('create', this.#sql.create, values);
    // Inserted (1) or an expired row replaced (2); a live row refused sets the insert id (see sql.ts).
    return affectedRows > 0 && insertId === 0;
  }

  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const values: Value[] = [asBuffer(record.data), record.expires, ownerBytes(record.owner), id, Date.now()];
    if (expectedVersion !== undefined) values.push(expectedVersion);
    const sql = expectedVersion === undefined ? this.#sql.update : this.#sql.updateAt;
    const { insertId } = await this.#write('update', sql, values);
    return insertId > 0 ? insertId : undefined;
  }

  async touch(id: string, expires: number): Promise<boolean> {
    return (await this.#write('touch', this.#sql.touch, [expires, id, Date.now()])).insertId > 0;
  }

  async destroy(id: string): Promise<void> {
    await this.#write('destroy', this.#sql.destroy, [id]);
  }

  /** The owner's unexpired sessions, through the owner index. */
  async listOwned(owner: string): Promise<OwnedRecord[]> {
    const rows = await this.#rows<OwnedRow>('listOwned', this.#sql.listOwned, [ownerBytes(owner), Date.now()]);
    return rows.map(({ id, data, expires }) => ({ id, data, expires }));
  }

  /** Deletes the owner's live sessions but `except` in one statement; resolves to how many went. */
  async destroyOwned(owner: string, except?: string): Promise<number> {
    const values = [ownerBytes(owner), except ?? null, Date.now()];
    return (await this.#write('destroyOwned', this.#sql.destroyOwned, values)).affectedRows;
  }

  /**
   * Deletes rows that expired by now, in batches of 1000, and resolves to how many went. Only one
   * instance prunes a table at a time: the others get 0 at once (a named lock, `GET_LOCK`, taken
   * and released on one connection). Concurrent calls on this instance share one run.
   */
  prune(): Promise<number> {
    return this.#prunes.prune();
  }

  /** Where the scheduled prune reports (see `Store.setEventSink`). */
  setEventSink(sink: StoreEventSink | undefined): void {
    this.#prunes.setEventSink(sink);
  }

  /**
   * Stops the prune timer and ends the pool made from `uri` (later calls then reject). A `pool` you
   * passed is left open, and the store keeps working on it.
   */
  async close(): Promise<void> {
    await this.#prunes.stop();
    if (this.#uri === undefined || this.#closed) return;
    this.#closed = true;
    const owned = await this.#owned?.catch(() => undefined);
    this.#owned = undefined;
    await owned?.end();
  }

  async #pruneOnce(): Promise<number> {
    const now = Date.now();
    return this.#on('prune', async (connection, rearm) => {
      const [locks] = await connection.query<(RowDataPacket & { locked: number | null })[]>(this.#sql.tryLock, [this.#name]);
      if (locks[0]?.locked !== 1) return 0;
      let removed = 0;
      try {
        let batch: number;
        do {
          rearm();
          [{ affectedRows: batch }] = await connection.query<ResultSetHeader>(this.#sql.pruneBatch, [now]);
          removed += batch;
        } while (batch === PRUNE_BATCH_ROWS);
      } finally {
        rearm();
        await connection.query(this.#sql.unlock, [this.#name]);
      }
      return removed;
    });
  }

  /** Runs one SELECT, wrapping any failure with the operation and the table. */
  async #rows<R extends RowDataPacket>(operation: string, sql: string, values: Value[]): Promise<R[]> {
    return this.#on(operation, async (connection) => (await connection.execute<R[]>(sql, values))[0]);
  }

  /** Runs one data-changing statement and gives its OK packet. */
  async #write(operation: string, sql: string, values: Value[]): Promise<ResultSetHeader> {
    return this.#on(operation, async (connection) => (await connection.execute<ResultSetHeader>(sql, values))[0]);
  }

  /** Work on one connection of a ready pool, bounded by `commandTimeout`, any failure wrapped. */
  async #on<T>(operation: string, work: (connection: PoolConnection, rearm: () => void) => Promise<T>): Promise<T> {
    try {
      const pool = await this.#ready(operation);
      return await withConnection(pool, this.#timeouts.commandTimeout, work);
    } catch (error) {
      throw this.#wrap(operation, error);
    }
  }

  /** The pool, with the table created if that is still to do (once; retried after a failure). */
  async #ready(operation: string): Promise<Pool> {
    const pool = this.#given ?? (await this.#ownedPool(operation));
    const create = (connection: PoolConnection): Promise<unknown> => connection.query(this.#sql.createTable);
    await this.#tableCreated.run(
      () => withConnection(pool, this.#timeouts.commandTimeout, create),
      (error) => this.#wrap(operation, error, ' while creating it'),
    );
    return pool;
  }

  /** Makes the `uri` pool on first use: mysql2 stays unloaded until a request needs it. */
  #ownedPool(operation: string): Promise<Pool> {
    const uri = this.#uri;
    if (uri === undefined || this.#closed) {
      return Promise.reject(new SessionStoreError('koa-session-kit: MySQLStore is closed', { operation }));
    }
    this.#owned ??= import('mysql2/promise').then(
      (mysql) => createPool(mysql, uri, this.#timeouts),
      (cause: unknown) => {
        this.#owned = undefined;
        throw new SessionStoreError('koa-session-kit: install `mysql2` to use MySQLStore with `uri`', { operation, cause });
      },
    );
    return this.#owned;
  }

  #wrap(operation: string, error: unknown, step = ''): SessionStoreError {
    if (error instanceof SessionStoreError) return error;
    const message = `koa-session-kit: MySQLStore ${operation} failed on table ${this.#table}${step}: ${driverReason(error)}`;
    return new SessionStoreError(message, { operation, cause: error });
  }
}
