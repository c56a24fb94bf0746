/** PostgresStore: sessions as rows of one PostgreSQL table, one statement and one round trip per operation. */

import { debuglog } from 'node:util';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { driverReason, SessionStoreError } from '../src/errors.js';
import {
  checkBoolean,
  checkOptions,
  checkOwner,
  checkPoolOrString,
  checkPruneInterval,
  wrongType,
  type ForeignOptions,
  type OptionRegistry,
} from '../src/option-checks.js';
import { Once } from '../src/once.js';
import { PruneTimer } from '../src/prune-timer.js';
import type { OwnedRecord, RecordWrite, Store, StoredRecord, StoreEventSink } from '../src/store.js';
import { checkTimeouts, createPool, resolveTimeouts, type PostgresTimeouts } from './postgres/connection.js';
import { checkIdentifier, DEFAULT_TABLE, qualifiedName, statements, type SessionTableName } from './postgres/sql.js';

export type { PostgresTimeouts } from './postgres/connection.js';
export { createSessionTableSql, type SessionTableName } from './postgres/sql.js';

const debug = debuglog('koa-session-kit');

/** Options for {@link PostgresStore}: give exactly one of `pool` and `connectionString`. */
export interface PostgresStoreOptions extends PostgresTimeouts {
  /**
   * A `pg.Pool` (node-postgres 8). The store never ends it: it is yours, may be shared with the
   * rest of the app, and should have an `error` listener. Its own timeouts bound the store's waits
   * (pg's defaults wait for ever): give it `connectionTimeoutMillis`, `query_timeout` and `statement_timeout`.
   * @example new PostgresStore({ pool: new pg.Pool({ connectionString, connectionTimeoutMillis: 5000, query_timeout: 5000 }) })
   */
  pool?: Pool;
  /**
   * A connection string, for a pool the store makes itself: `pg` is imported on first use, every
   * wait is bounded ({@link PostgresTimeouts.connectTimeout}, {@link PostgresTimeouts.commandTimeout}),
   * the pool names itself `koa-session-kit` (an `application_name` in the string wins), and
   * {@link PostgresStore.close} ends it. Pass `pool` to tune anything else.
   * @example new PostgresStore({ connectionString: process.env.DATABASE_URL })
   */
  connectionString?: string;
  /**
   * The table's name, quoted as an identifier (any characters but NUL, at most 51 bytes, so that
   * its index, `<table>_expires_idx`, fits PostgreSQL's 63-byte limit).
   * @default 'koa_sessions'
   */
  table?: string;
  /** The table's schema, quoted the same way. Must exist. @default the connection's `search_path` */
  schema?: string;
  /**
   * Create the table and its index on first use (`CREATE ... IF NOT EXISTS` under an advisory lock,
   * so several instances starting at once are safe). Turn off when you migrate by hand with
   * {@link createSessionTableSql}, or when the app's role may not run DDL.
   * @default true
   */
  createTable?: boolean;
  /**
   * How often, in ms, to delete expired rows on an unref'd timer (it never keeps the process alive);
   * `false` for none, e.g. on serverless platforms where you call {@link PostgresStore.prune} from
   * a scheduled job. Several instances may share the table: an advisory lock lets one prune at a time.
   * @default 900000 (15 minutes)
   */
  pruneInterval?: number | false;
}

const DEFAULT_PRUNE_INTERVAL_MS = 15 * 60_000;
/** An owner is a user id: room for any, not for data smuggled in as one (the middleware checks the same). */
/** Rows per prune DELETE: short statements keep locks and WAL bursts small (Django's lesson with one big DELETE). */
const PRUNE_BATCH_ROWS = 1_000;

/** Spellings other session stores use, mapped to ours (STYLE 7: unknown keys throw with a hint). */
const FOREIGN_OPTIONS: ForeignOptions = {
  tableName: '`table`',
  schemaName: '`schema`',
  conString: '`connectionString`',
  createTableIfMissing: '`createTable`',
  pruneSessionInterval: '`pruneInterval`',
  ttl: '`maxAge` on session(): the row expiry always follows the session expiry',
};
/** One entry per option, so the compiler fails when an option is added to the type but not here. */
const OPTION_KEYS: OptionRegistry<PostgresStoreOptions> = {
  pool: true,
  connectionString: true,
  table: true,
  schema: true,
  createTable: true,
  pruneInterval: true,
  connectTimeout: true,
  commandTimeout: true,
};

/** Checks every option; returns the prune interval to use. */
function checkPostgresOptions(options: PostgresStoreOptions): number | false {
  checkOptions('PostgresStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
  const { pool, connectionString, table, schema, createTable } = options;
  checkPoolOrString(pool, 'connectionString', connectionString, 'a pg.Pool', 'a connection string');
  if (pool !== undefined && !looksLikePool(pool)) throw wrongType('pool', 'a pg.Pool', pool);
  checkTimeouts(options, pool === undefined);
  if (table !== undefined) checkIdentifier('table', table);
  if (schema !== undefined) checkIdentifier('schema', schema);
  if (createTable !== undefined) checkBoolean('createTable', createTable);
  return checkPruneInterval(options.pruneInterval, DEFAULT_PRUNE_INTERVAL_MS);
}

function looksLikePool(value: unknown): value is Pool {
  const candidate = value as { query?: unknown; connect?: unknown } | null | undefined; // a shape check only
  return typeof candidate?.query === 'function' && typeof candidate.connect === 'function';
}

/**
 * A store for several processes or machines sharing one PostgreSQL database: each session is a row
 * (`bytea` data, `timestamptz` expiry, an integer version). Every operation is one statement; a
 * versioned update is a compare-and-set in its WHERE clause, and a destroyed session is never
 * written back by a late update. Expired rows are invisible at once and deleted by {@link prune}.
 */
export class PostgresStore implements Store {
  readonly #given: Pool | undefined;
  readonly #connectionString: string | undefined;
  readonly #timeouts: Required<PostgresTimeouts>;
  readonly #table: string;
  readonly #sql: ReturnType<typeof statements>;
  #owned: Promise<Pool> | undefined;
  /** Creating the table, done once it is known to exist (or `createTable` is off). */
  readonly #tableCreated: Once;
  readonly #prunes: PruneTimer;
  #sink: StoreEventSink | undefined;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    const interval = checkPostgresOptions(options);
    const name: SessionTableName = { table: options.table ?? DEFAULT_TABLE };
    if (options.schema !== undefined) name.schema = options.schema;
    this.#given = options.pool;
    this.#connectionString = options.connectionString;
    this.#timeouts = resolveTimeouts(options);
    this.#table = qualifiedName(name);
    this.#sql = statements(name);
    this.#tableCreated = new Once(options.createTable ?? true);
    const log = (error: unknown): void => debug('PostgresStore: prune failed: %s', driverReason(error));
    this.#prunes = new PruneTimer('PostgresStore', () => this.#pruneOnce(), interval, log);
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    type Row = { data: Buffer; expires: number; version: number; owner: string | null };
    const { rows } = await this.#query<Row>('get', this.#sql.get, [id, Date.now()]);
    const row = rows[0];
    if (row === undefined) return undefined;
    const { owner, ...record } = row;
    return owner === null ? record : { ...record, owner };
  }

  async create(id: string, record: RecordWrite): Promise<boolean> {
    const values = [id, record.data, record.expires, Date.now(), ownerOf(record)];
    return (await this.#query('create', this.#sql.create, values)).rowCount === 1;
  }

  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const values: unknown[] = [id, record.data, record.expires, Date.now(), ownerOf(record)];
    if (expectedVersion !== undefined) values.push(expectedVersion);
    const sql = expectedVersion === undefined ? this.#sql.update : this.#sql.updateAt;
    const { rows } = await this.#query<{ version: number }>('update', sql, values);
    return rows[0]?.version;
  }

  async touch(id: string, expires: number): Promise<boolean> {
    return (await this.#query('touch', this.#sql.touch, [id, expires, Date.now()])).rowCount === 1;
  }

  async destroy(id: string): Promise<void> {
    await this.#query('destroy', this.#sql.destroy, [id]);
  }

  /** The owner's live sessions, through the partial index on `owner`: one statement. */
  async listOwned(owner: string): Promise<OwnedRecord[]> {
    checkOwner('owner', owner);
    // Buffer is a Uint8Array; the three columns are exactly an OwnedRecord.
    const { rows } = await this.#query<OwnedRecord & { data: Buffer }>('listOwned', this.#sql.listOwned, [owner, Date.now()]);
    return rows;
  }

  /** Deletes the owner's sessions but `except` in one statement; resolves to how many live ones went. */
  async destroyOwned(owner: string, except?: string): Promise<number> {
    checkOwner('owner', owner);
    const values = [owner, except ?? null, Date.now()];
    const { rows } = await this.#query<{ revoked: number }>('destroyOwned', this.#sql.destroyOwned, values);
    return rows[0]?.revoked ?? 0;
  }

  /**
   * Deletes rows that expired by now, in batches of 1000, and resolves to how many went. Only one
   * instance prunes a table at a time: the others get 0 at once (a session advisory lock, taken and
   * released on one connection). Concurrent calls on this instance share one run.
   */
  prune(): Promise<number> {
    return this.#prunes.prune();
  }

  /** Where the scheduled prune and the `connectionString` pool report (see `Store.setEventSink`). */
  setEventSink(sink: StoreEventSink | undefined): void {
    this.#sink = sink;
    this.#prunes.setEventSink(sink);
  }

  /**
   * Stops the prune timer and ends the pool made from `connectionString` (later calls then reject).
   * A `pool` you passed is left open, and the store keeps working on it.
   */
  async close(): Promise<void> {
    await this.#prunes.stop();
    if (this.#connectionString === undefined || this.#closed) return;
    this.#closed = true;
    const owned = await this.#owned?.catch(() => undefined);
    this.#owned = undefined;
    await owned?.end();
  }

  async #pruneOnce(): Promise<number> {
    const now = Date.now();
    let client: PoolClient | undefined;
    let broken = false;
    try {
      client = await (await this.#ready('prune')).connect();
      const { rows } = await client.query<{ locked: boolean }>(this.#sql.tryLock);
      if (rows[0]?.locked !== true) return 0;
      let removed = 0;
      try {
        let batch: number;
        do {
          batch = (await client.query(this.#sql.pruneBatch, [now, PRUNE_BATCH_ROWS])).rowCount ?? 0;
          removed += batch;
        } while (batch === PRUNE_BATCH_ROWS);
      } finally {
        await client.query(this.#sql.unlock);
      }
      return removed;
    } catch (error) {
      // Destroying the connection also frees a lock the unlock above could not release.
      broken = true;
      throw this.#wrap('prune', error);
    } finally {
      client?.release(broken);
    }
  }

  /** Runs one statement, wrapping any failure with the operation and the table. */
  async #query<R extends QueryResultRow>(operation: string, text: string, values: unknown[]): Promise<QueryResult<R>> {
    try {
      const pool = await this.#ready(operation);
      return await pool.query<R>(text, values);
    } catch (error) {
      throw this.#wrap(operation, error);
    }
  }

  /** The pool, with the table created or upgraded if that is still to do (once; retried after a failure). */
  async #ready(operation: string): Promise<Pool> {
    const pool = this.#given ?? (await this.#ownedPool(operation));
    await this.#tableCreated.run(
      () => this.#createTable(pool),
      (error) => this.#wrap(operation, error, ' while creating it'),
    );
    return pool;
  }

  /** Runs the DDL unless the table already has everything it creates. */
  async #createTable(pool: Pool): Promise<void> {
    const { rows } = await pool.query<{ ready: boolean }>(this.#sql.tableReady);
    if (rows[0]?.ready !== true) await pool.query(this.#sql.createTable);
  }

  /** Makes the `connectionString` pool on first use: pg stays unloaded until a request needs it. */
  #ownedPool(operation: string): Promise<Pool> {
    const connectionString = this.#connectionString;
    if (connectionString === undefined || this.#closed) {
      return Promise.reject(new SessionStoreError('koa-session-kit: PostgresStore is closed', { operation }));
    }
    this.#owned ??= import('pg').then(
      (pg) =>
        createPool(pg, connectionString, this.#timeouts, (error) => {
          debug('PostgresStore: idle connection lost: %s', error.message);
          this.#sink?.({ type: 'store-error', store: 'PostgresStore', operation: 'connection', error });
        }),
      (cause: unknown) => {
        this.#owned = undefined;
        const message = 'koa-session-kit: install `pg` to use PostgresStore with `connectionString`';
        throw new SessionStoreError(message, { operation, cause });
      },
    );
    return this.#owned;
  }

  #wrap(operation: string, error: unknown, step = ''): SessionStoreError {
    if (error instanceof SessionStoreError) return error;
    const where = `table ${this.#table}${step}`;
    const message = `koa-session-kit: PostgresStore ${operation} failed on ${where}: ${driverReason(error)}`;
    return new SessionStoreError(message, { operation, cause: error });
  }
}

/** The owner column's value: NULL for none; a TypeError (the caller's mistake) for what no user id looks like. */
function ownerOf(record: RecordWrite): string | null {
  if (record.owner === undefined) return null;
  checkOwner('owner', record.owner);
  return record.owner;
}
