/** PostgresStore: sessions as rows of one PostgreSQL table, one statement and one round trip per operation. */

import { createHash } from 'node:crypto';
import { debuglog } from 'node:util';
import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import { SessionStoreError } from '../src/errors.js';
import {
  checkBoolean,
  checkOptions,
  checkPruneInterval,
  optionError,
  wrongType,
  type ForeignOptions,
  type OptionRegistry,
} from '../src/option-checks.js';
import type { RecordWrite, Store, StoredRecord } from '../src/store.js';
import { checkTimeouts, createPool, resolveTimeouts, type PostgresTimeouts } from './postgres/connection.js';

export type { PostgresTimeouts } from './postgres/connection.js';

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

/** Table and schema names, as {@link createSessionTableSql} takes them. */
export type SessionTableName = Pick<PostgresStoreOptions, 'table' | 'schema'>;

const DEFAULT_TABLE = 'koa_sessions';
const DEFAULT_PRUNE_INTERVAL_MS = 15 * 60_000;
/** Rows per prune DELETE: short statements keep locks and WAL bursts small (Django's lesson with one big DELETE). */
const PRUNE_BATCH_ROWS = 1_000;
/** NAMEDATALEN - 1: PostgreSQL silently truncates longer identifiers ("Identifiers and Key Words", SQL syntax docs). */
const MAX_IDENTIFIER_BYTES = 63;
/** The index is `<table>_expires_idx`, so a table name leaves room for it under the identifier limit. */
const INDEX_SUFFIX = '_expires_idx';

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

function checkIdentifier(option: 'table' | 'schema', value: unknown): void {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw wrongType(option, 'a non-empty string without NUL characters', value);
  }
  const max = MAX_IDENTIFIER_BYTES - (option === 'table' ? INDEX_SUFFIX.length : 0);
  const bytes = Buffer.byteLength(value);
  if (bytes > max) throw optionError(RangeError, option, `be at most ${max} bytes (PostgreSQL's identifier limit)`, `${bytes} bytes`);
}

/** Checks every option; returns the prune interval to use. */
function checkPostgresOptions(options: PostgresStoreOptions): number | false {
  checkOptions('PostgresStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
  const { pool, connectionString, table, schema, createTable } = options;
  if (pool !== undefined && connectionString !== undefined) {
    throw optionError(TypeError, 'pool', 'be omitted when `connectionString` is given', 'both');
  }
  if (pool === undefined && connectionString === undefined) {
    throw optionError(TypeError, 'pool', 'be a pg.Pool, or `connectionString` a connection string', 'neither');
  }
  if (pool !== undefined && !looksLikePool(pool)) throw wrongType('pool', 'a pg.Pool', pool);
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
    throw wrongType('connectionString', 'a non-empty string', connectionString);
  }
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

/** An identifier as SQL text: double-quoted, embedded double quotes doubled (the only escape PostgreSQL needs). */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function qualifiedName({ table = DEFAULT_TABLE, schema }: SessionTableName): string {
  return schema === undefined ? quoteIdentifier(table) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

/** A 64-bit advisory lock key derived from the table, as a SQL bigint literal (digits only). */
function lockKey(purpose: string, qualified: string): string {
  return createHash('sha256').update(`koa-session-kit:${purpose}:${qualified}`).digest().readBigInt64BE(0).toString();
}

/**
 * The DDL {@link PostgresStore} runs when `createTable` is on: the table and its expiry index, both
 * `IF NOT EXISTS`. Use it to migrate by hand (then pass `createTable: false`).
 * @example console.log(createSessionTableSql({ table: 'sessions', schema: 'app' }))
 */
export function createSessionTableSql(name: SessionTableName = {}): string {
  const { table = DEFAULT_TABLE, schema } = name;
  checkIdentifier('table', table);
  if (schema !== undefined) checkIdentifier('schema', schema);
  const qualified = qualifiedName(name);
  // COLLATE "C": ids are base64url digests, so bytewise comparison is exact and the fastest for the primary key.
  return `CREATE TABLE IF NOT EXISTS ${qualified} (
  id text COLLATE "C" PRIMARY KEY,
  data bytea NOT NULL,
  expires timestamptz NOT NULL,
  version integer NOT NULL,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}${INDEX_SUFFIX}`)} ON ${qualified} (expires);
`;
}

/*
 * Whose clock decides expiry: the application's, as in every other store. The middleware computes
 * `expires` from the app's Date.now(), and every statement below compares it with the app's
 * Date.now() passed as a parameter; the database's now() is never consulted, so a skewed database
 * clock cannot end sessions early or keep them late (connect-pg-simple #25). A record is live while
 * `expires > now`.
 *
 * Milliseconds cross the wire as decimal text and are converted exactly: whole hours plus the rest
 * keep every JS Date within float8's exact range (to_timestamp goes through float8 seconds and can
 * be a microsecond off), and extract(epoch) reads back the same number, to the microsecond.
 */
const at = (p: string): string =>
  `(timestamptz 'epoch' + div(${p}::numeric, 3600000) * interval '1h' + mod(${p}::numeric, 3600000) * interval '1ms')`;
const EXPIRES_MS = `round((extract(epoch FROM expires) * 1000)::numeric, 3)::float8`;

function statements(name: SessionTableName) {
  const t = qualifiedName(name);
  const update = `UPDATE ${t} SET data = $2, expires = ${at('$3')}, version = version + 1 WHERE id = $1 AND expires > ${at('$4')}`;
  const pruneKey = lockKey('prune', t);
  return {
    get: `SELECT data, ${EXPIRES_MS} AS expires, version FROM ${t} WHERE id = $1 AND expires > ${at('$2')}`,
    // An expired row still holding the id is replaced in the same statement, atomically.
    create:
      `INSERT INTO ${t} AS s (id, data, expires, version, created) VALUES ($1, $2, ${at('$3')}, 1, ${at('$4')}) ` +
      `ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expires = EXCLUDED.expires, version = 1, ` +
      `created = EXCLUDED.created WHERE s.expires <= ${at('$4')}`,
    update: `${update} RETURNING version`,
    updateAt: `${update} AND version = $5 RETURNING version`,
    touch: `UPDATE ${t} SET expires = ${at('$2')} WHERE id = $1 AND expires > ${at('$3')}`,
    destroy: `DELETE FROM ${t} WHERE id = $1`,
    // SKIP LOCKED: rows a request is writing right now are left for the next batch. The outer
    // expiry test is re-checked on the newest row version, so a row revived by a concurrent create
    // between the subquery and the delete survives.
    pruneBatch:
      `DELETE FROM ${t} WHERE expires <= ${at('$1')} AND id IN ` +
      `(SELECT id FROM ${t} WHERE expires <= ${at('$1')} LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    tryLock: `SELECT pg_try_advisory_lock(${pruneKey}) AS locked`,
    unlock: `SELECT pg_advisory_unlock(${pruneKey})`,
    // One simple-protocol query is one transaction: the lock serializes instances creating the table
    // at once, where a bare CREATE TABLE IF NOT EXISTS can still fail on pg_type's unique index.
    createTable: `SELECT pg_advisory_xact_lock(${lockKey('create', t)});\n${createSessionTableSql(name)}`,
  };
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
  /** True until the table is known to exist (or `createTable` is off). */
  #tableToCreate: boolean;
  #creating: Promise<void> | undefined;
  #pruning: Promise<number> | undefined;
  #timer: NodeJS.Timeout | undefined;
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
    this.#tableToCreate = options.createTable ?? true;
    if (interval === false) return;
    const run = (): void => void this.prune().catch((error) => debug('PostgresStore: prune failed: %s', reason(error)));
    this.#timer = setInterval(run, interval).unref();
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    // Buffer is a Uint8Array; the row's three fields are exactly a StoredRecord.
    const { rows } = await this.#query<StoredRecord & { data: Buffer }>('get', this.#sql.get, [id, Date.now()]);
    return rows[0];
  }

  async create(id: string, record: RecordWrite): Promise<boolean> {
    const values = [id, record.data, record.expires, Date.now()];
    return (await this.#query('create', this.#sql.create, values)).rowCount === 1;
  }

  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    const values: unknown[] = [id, record.data, record.expires, Date.now()];
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

  /**
   * Deletes rows that expired by now, in batches of 1000, and resolves to how many went. Only one
   * instance prunes a table at a time: the others get 0 at once (a session advisory lock, taken and
   * released on one connection). Concurrent calls on this instance share one run.
   */
  prune(): Promise<number> {
    this.#pruning ??= this.#pruneOnce().finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
  }

  /**
   * Stops the prune timer and ends the pool made from `connectionString` (later calls then reject).
   * A `pool` you passed is left open, and the store keeps working on it.
   */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pruning?.catch(() => undefined);
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

  /** The pool, with the table created if that is still to do (once; retried after a failure). */
  async #ready(operation: string): Promise<Pool> {
    const pool = this.#given ?? (await this.#ownedPool(operation));
    if (!this.#tableToCreate) return pool;
    this.#creating ??= pool.query(this.#sql.createTable).then(
      () => {
        this.#tableToCreate = false;
      },
      (error: unknown) => {
        this.#creating = undefined;
        throw this.#wrap(operation, error, ' while creating it');
      },
    );
    await this.#creating;
    return pool;
  }

  /** Makes the `connectionString` pool on first use: pg stays unloaded until a request needs it. */
  #ownedPool(operation: string): Promise<Pool> {
    const connectionString = this.#connectionString;
    if (connectionString === undefined || this.#closed) {
      return Promise.reject(new SessionStoreError('koa-session-kit: PostgresStore is closed', { operation }));
    }
    this.#owned ??= import('pg').then(
      (pg) => createPool(pg, connectionString, this.#timeouts, (error) => debug('PostgresStore: idle connection lost: %s', error.message)),
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
    const message = `koa-session-kit: PostgresStore ${operation} failed on ${where}: ${reason(error)}`;
    return new SessionStoreError(message, { operation, cause: error });
  }
}

/** A driver error in one line; connection errors such as an AggregateError of ECONNREFUSED have no message. */
function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code; // pg and Node errors carry a string code; others may not
  const text = error.message === '' ? error.name : error.message;
  return typeof code === 'string' ? `${text} (${code})` : text;
}
