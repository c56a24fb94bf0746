/** SQLiteStore's options: their types, defaults and checks. */

import type BetterSqlite3 from 'better-sqlite3';
import {
  MAX_TIMER_MS,
  checkInteger,
  checkOptions,
  checkPruneInterval,
  optionError,
  wrongType,
  type ForeignOptions,
  type OptionRegistry,
} from '../../src/option-checks.js';

/** Options for {@link SQLiteStore}: give exactly one of `filename` and `database`. */
export interface SQLiteStoreOptions {
  /**
   * The database file, created if missing (its directory must exist). The store opens it with
   * better-sqlite3 on first use, switches it to WAL, and {@link SQLiteStore.close} closes it. Every
   * process of the app may open the same file.
   * @example new SQLiteStore({ filename: './var/sessions.db' })
   */
  filename?: string;
  /**
   * An open better-sqlite3 `Database` (version 12 or 13), e.g. the app's own. The store never closes it
   * and runs no PRAGMA on it: switch it to WAL yourself, and open it with `timeout: 0` so that
   * waits for another process happen in the store, off the event loop (see `busyTimeout`).
   * @example new SQLiteStore({ database: new Database('app.db', { timeout: 0 }) })
   */
  database?: BetterSqlite3.Database;
  /**
   * The table's name, quoted as an identifier (any characters but NUL; not starting with
   * `sqlite_`, which SQLite keeps for itself). Its indexes are `<table>_expires_idx` and `<table>_owner_idx`.
   * @default 'koa_sessions'
   */
  table?: string;
  /**
   * The most ms an operation waits while another connection (another process, most often) holds
   * the file's write lock; then it fails with a `SessionStoreError` (`SQLITE_BUSY`). The store waits
   * between attempts on a timer, never inside SQLite, so the event loop serves other requests
   * meanwhile. 0 fails at once.
   * @default 5000
   */
  busyTimeout?: number;
  /**
   * How often, in ms, to delete expired rows on an unref'd timer (it never keeps the process
   * alive); `false` for none. Several processes may prune one file: deleting what is already gone costs little.
   * @default 900000 (15 minutes)
   */
  pruneInterval?: number | false;
}

/** The options once checked, defaults applied. */
export interface ResolvedSQLiteOptions {
  filename: string | undefined;
  database: BetterSqlite3.Database | undefined;
  table: string;
  busyTimeout: number;
  pruneInterval: number | false;
}

const DEFAULT_TABLE = 'koa_sessions';
/** better-sqlite3's own default `timeout`, so moving from a bare Database changes nothing. */
const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_PRUNE_INTERVAL_MS = 15 * 60_000;

/** Spellings of better-sqlite3-session-store and connect-sqlite3, mapped to ours (STYLE 7). */
const FOREIGN_OPTIONS: ForeignOptions = {
  client: '`database`',
  db: '`filename` (a path) or `database` (an open better-sqlite3 Database)',
  dir: '`filename` (the whole path)',
  path: '`filename`',
  tableName: '`table`',
  timeout: '`busyTimeout`',
  expired: '`pruneInterval` (ms, or false)',
  ttl: '`maxAge` on session(): the row expiry always follows the session expiry',
};
/** One entry per option, so the compiler fails when an option is added to the type but not here. */
const OPTION_KEYS: OptionRegistry<SQLiteStoreOptions> = {
  filename: true,
  database: true,
  table: true,
  busyTimeout: true,
  pruneInterval: true,
};

/** Checks every option (STYLE 8 messages) and applies the defaults. */
export function resolveSQLiteOptions(options: SQLiteStoreOptions): ResolvedSQLiteOptions {
  checkOptions('SQLiteStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
  const { filename, database, table = DEFAULT_TABLE, busyTimeout = DEFAULT_BUSY_TIMEOUT_MS } = options;
  if (filename !== undefined && database !== undefined) {
    throw optionError(TypeError, 'filename', 'be omitted when `database` is given', 'both');
  }
  if (filename === undefined && database === undefined) {
    throw optionError(TypeError, 'filename', 'be a path, or `database` an open better-sqlite3 Database', 'neither');
  }
  // '' is an anonymous temporary database in SQLite: gone on close, so not what anyone means here.
  if (filename !== undefined && (typeof filename !== 'string' || filename === '' || filename.includes('\0'))) {
    throw wrongType('filename', 'a non-empty path without NUL characters', filename);
  }
  if (database !== undefined && !looksLikeDatabase(database)) throw wrongType('database', 'an open better-sqlite3 Database', database);
  if (typeof table !== 'string' || table === '' || table.includes('\0')) {
    throw wrongType('table', 'a non-empty string without NUL characters', table);
  }
  if (table.toLowerCase().startsWith('sqlite_')) {
    throw optionError(RangeError, 'table', 'not start with `sqlite_` (SQLite reserves those names)', JSON.stringify(table));
  }
  checkInteger('busyTimeout', busyTimeout, 0, MAX_TIMER_MS);
  const pruneInterval = checkPruneInterval(options.pruneInterval, DEFAULT_PRUNE_INTERVAL_MS);
  return { filename, database, table, busyTimeout, pruneInterval };
}

function looksLikeDatabase(value: unknown): value is BetterSqlite3.Database {
  const candidate = value as { prepare?: unknown; transaction?: unknown; open?: unknown } | null; // a shape check only
  return typeof candidate?.prepare === 'function' && typeof candidate.transaction === 'function' && candidate.open === true;
}
