/** MySQLStore's SQL: the table's DDL, and one statement per store operation. */

import { MAX_OWNER_BYTES, optionError, wrongType } from '../../src/option-checks.js';

export const DEFAULT_TABLE = 'koa_sessions';
/** MySQL and MariaDB limit table names to 64 characters ("Identifier Length Limits" in either manual). */
const MAX_TABLE_CHARS = 64;
/** Rows per prune DELETE: short statements keep row locks and undo log small (Django's lesson with one big DELETE). */
export const PRUNE_BATCH_ROWS = 1_000;

/**
 * Throws unless `value` is a table name the server keeps exactly: it refuses NUL, a trailing space
 * and characters outside the Basic Multilingual Plane in identifiers, and more than 64 characters.
 */
export function checkTable(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '' || value.includes('\0') || /[\u{10000}-\u{10FFFF}]/u.test(value) || value.endsWith(' ')) {
    throw wrongType('table', 'a non-empty string without NUL, a trailing space or characters beyond U+FFFF', value);
  }
  const chars = [...value].length;
  if (chars > MAX_TABLE_CHARS) {
    throw optionError(
      RangeError,
      'table',
      `be at most ${MAX_TABLE_CHARS} characters (the server's identifier limit)`,
      `${chars} characters`,
    );
  }
}

/** An identifier as SQL text: backquoted, embedded backquotes doubled (all MySQL and MariaDB need, whatever `sql_mode`). */
export function quoteTable(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/**
 * The DDL {@link MySQLStore} runs when `createTable` is on: the table with its indexes on expiry
 * and owner, `IF NOT EXISTS`. Use it to migrate by hand (then pass `createTable: false`).
 * @example console.log(createSessionTableSql({ table: 'sessions' }))
 */
export function createSessionTableSql({ table = DEFAULT_TABLE }: { table?: string } = {}): string {
  checkTable(table);
  // id: base64url digests, so ascii with a binary collation compares them exactly and compactly.
  // data: LONGBLOB, so no record is ever cut at a column limit (a server without strict mode
  // truncates with a mere warning); max_allowed_packet bounds it instead. expires and created: the
  // application's ms since the epoch as DOUBLE, which holds every JS number exactly and knows no
  // time zone (TIMESTAMP converts through the connection's time_zone and ends in 2038). owner:
  // bytes, compared exactly (no case folding, no trailing-space padding); NULL for none.
  return `CREATE TABLE IF NOT EXISTS ${quoteTable(table)} (
  id VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  data LONGBLOB NOT NULL,
  expires DOUBLE NOT NULL,
  version INT UNSIGNED NOT NULL,
  created DOUBLE NOT NULL,
  owner VARBINARY(${MAX_OWNER_BYTES}) NULL,
  PRIMARY KEY (id),
  KEY expires_idx (expires),
  KEY owner_idx (owner)
) ENGINE=InnoDB`;
}

/*
 * Whose clock decides expiry: the application's, as in every other store. Each statement compares
 * `expires` with the app's Date.now() passed as a parameter, never the server's NOW(), so a skewed
 * database clock cannot end sessions early or keep them late. A record is live while `expires > now`.
 *
 * What a statement did is read from its OK packet, never from a second query. `affectedRows`
 * depends on the client's FOUND_ROWS flag (mysql2 sets it, a pool may clear it): with it an UPDATE
 * counts the rows it matched, without it only those it changed, so a touch to the same expiry or an
 * upsert that keeps a live row would read as "nothing". Statements that must report a match whatever
 * the flag set LAST_INSERT_ID(version), which the server returns as the packet's insert id: the row's
 * version (at least 1) when a row matched, 0 when none did. It overwrites the pooled connection's
 * LAST_INSERT_ID(), which an app reads on the connection that inserted before releasing it, so the
 * app's own values are not disturbed.
 */

/** Every statement the store runs, built once per table. */
export function statements(table: string) {
  const t = quoteTable(table);
  const update = `UPDATE ${t} SET data = ?, expires = ?, owner = ?, version = LAST_INSERT_ID(version + 1) WHERE id = ? AND expires > ?`;
  // Named locks are server-wide: the name holds the database and table, hashed to fit MySQL's 64 characters.
  const lockName = `CONCAT('koa-session-kit:prune:', LEFT(SHA2(CONCAT_WS('.', DATABASE(), ?), 256), 40))`;
  // Live row: every column keeps its value and LAST_INSERT_ID(version) marks the refusal. Expired
  // row: replaced by the new one at version 1. `VALUES(created)` is the app's now; `expires` is
  // assigned last, since each assignment sees the ones before it.
  const live = 'expires > VALUES(created)';
  return {
    get: `SELECT data, expires, version, owner FROM ${t} WHERE id = ? AND expires > ?`,
    create:
      `INSERT INTO ${t} (id, data, expires, version, created, owner) VALUES (?, ?, ?, 1, ?, ?) ON DUPLICATE KEY UPDATE ` +
      `version = IF(${live}, LAST_INSERT_ID(version), 1), data = IF(${live}, data, VALUES(data)), ` +
      `owner = IF(${live}, owner, VALUES(owner)), created = IF(${live}, created, VALUES(created)), ` +
      `expires = IF(${live}, expires, VALUES(expires))`,
    update,
    updateAt: `${update} AND version = ?`,
    touch: `UPDATE ${t} SET expires = ?, version = LAST_INSERT_ID(version) WHERE id = ? AND expires > ?`,
    destroy: `DELETE FROM ${t} WHERE id = ?`,
    listOwned: `SELECT id, data, expires FROM ${t} WHERE owner = ? AND expires > ?`,
    // One statement, so "log out everywhere" is atomic. `<=>` is NULL-safe: no `except` keeps nothing.
    // The owner's expired rows are left to prune, so the count is of live sessions only.
    destroyOwned: `DELETE FROM ${t} WHERE owner = ? AND NOT (id <=> ?) AND expires > ?`,
    // A row revived by a concurrent create no longer matches: DELETE tests the newest row version under its lock.
    pruneBatch: `DELETE FROM ${t} WHERE expires <= ? LIMIT ${PRUNE_BATCH_ROWS}`,
    tryLock: `SELECT GET_LOCK(${lockName}, 0) AS locked`,
    unlock: `SELECT RELEASE_LOCK(${lockName}) AS released`,
    createTable: createSessionTableSql({ table }),
  };
}

/** The statements, as {@link statements} builds them for a table. */
export type Statements = ReturnType<typeof statements>;
