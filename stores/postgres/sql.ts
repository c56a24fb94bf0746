/** PostgresStore's SQL: the table's DDL (and its upgrade), and one statement per store operation. */

import { createHash } from 'node:crypto';
import { optionError, wrongType } from '../../src/option-checks.js';

/** Table and schema names, as {@link createSessionTableSql} takes them. */
export interface SessionTableName {
  /** @default 'koa_sessions' */
  table?: string;
  /** @default the connection's `search_path` */
  schema?: string;
}

export const DEFAULT_TABLE = 'koa_sessions';
/** NAMEDATALEN - 1: PostgreSQL silently truncates longer identifiers ("Identifiers and Key Words", SQL syntax docs). */
const MAX_IDENTIFIER_BYTES = 63;
/** The longest index name is `<table>_expires_idx`, so a table name leaves room for it under the identifier limit. */
const INDEX_SUFFIX = '_expires_idx';
const OWNER_INDEX_SUFFIX = '_owner_idx';

export function checkIdentifier(option: 'table' | 'schema', value: unknown): void {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw wrongType(option, 'a non-empty string without NUL characters', value);
  }
  const max = MAX_IDENTIFIER_BYTES - (option === 'table' ? INDEX_SUFFIX.length : 0);
  const bytes = Buffer.byteLength(value);
  if (bytes > max) throw optionError(RangeError, option, `be at most ${max} bytes (PostgreSQL's identifier limit)`, `${bytes} bytes`);
}

/** An identifier as SQL text: double-quoted, embedded double quotes doubled (the only escape PostgreSQL needs). */
function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualifiedName({ table = DEFAULT_TABLE, schema }: SessionTableName): string {
  return schema === undefined ? quoteIdentifier(table) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

/** A 64-bit advisory lock key derived from the table, as a SQL bigint literal (digits only). */
function lockKey(purpose: string, qualified: string): string {
  return createHash('sha256').update(`koa-session-kit:${purpose}:${qualified}`).digest().readBigInt64BE(0).toString();
}

/**
 * The DDL {@link PostgresStore} runs when `createTable` is on: the table and its indexes, all
 * `IF NOT EXISTS`, and the `owner` column added to a table an earlier release made. Use it to
 * migrate by hand (then pass `createTable: false`).
 * @example console.log(createSessionTableSql({ table: 'sessions', schema: 'app' }))
 */
export function createSessionTableSql(name: SessionTableName = {}): string {
  const { table = DEFAULT_TABLE, schema } = name;
  checkIdentifier('table', table);
  if (schema !== undefined) checkIdentifier('schema', schema);
  const qualified = qualifiedName(name);
  // COLLATE "C": ids are base64url digests and owners are compared for equality only, so bytewise
  // comparison is exact and the fastest for their indexes. Most sessions have no owner: the
  // partial index holds only those that do (a query on `owner = $1` implies `owner IS NOT NULL`).
  return `CREATE TABLE IF NOT EXISTS ${qualified} (
  id text COLLATE "C" PRIMARY KEY,
  data bytea NOT NULL,
  expires timestamptz NOT NULL,
  version integer NOT NULL,
  created timestamptz NOT NULL DEFAULT now(),
  owner text COLLATE "C"
);
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}${INDEX_SUFFIX}`)} ON ${qualified} (expires);
ALTER TABLE ${qualified} ADD COLUMN IF NOT EXISTS owner text COLLATE "C";
CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}${OWNER_INDEX_SUFFIX}`)} ON ${qualified} (owner) WHERE owner IS NOT NULL;
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

/** Every statement the store runs, built once per table. */
export function statements(name: SessionTableName) {
  const t = qualifiedName(name);
  const { table = DEFAULT_TABLE } = name;
  const update =
    `UPDATE ${t} SET data = $2, expires = ${at('$3')}, owner = $5, version = version + 1 ` + `WHERE id = $1 AND expires > ${at('$4')}`;
  const pruneKey = lockKey('prune', t);
  return {
    get: `SELECT data, ${EXPIRES_MS} AS expires, version, owner FROM ${t} WHERE id = $1 AND expires > ${at('$2')}`,
    // An expired row still holding the id is replaced in the same statement, atomically.
    create:
      `INSERT INTO ${t} AS s (id, data, expires, version, created, owner) VALUES ($1, $2, ${at('$3')}, 1, ${at('$4')}, $5) ` +
      `ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data, expires = EXCLUDED.expires, version = 1, ` +
      `created = EXCLUDED.created, owner = EXCLUDED.owner WHERE s.expires <= ${at('$4')}`,
    update: `${update} RETURNING version`,
    updateAt: `${update} AND version = $6 RETURNING version`,
    touch: `UPDATE ${t} SET expires = ${at('$2')} WHERE id = $1 AND expires > ${at('$3')}`,
    destroy: `DELETE FROM ${t} WHERE id = $1`,
    listOwned: `SELECT id, data, ${EXPIRES_MS} AS expires FROM ${t} WHERE owner = $1 AND expires > ${at('$2')}`,
    // One statement, so "log out everywhere" is atomic: the owner's expired rows go too, but only
    // live ones count as revoked.
    destroyOwned:
      `WITH gone AS (DELETE FROM ${t} WHERE owner = $1 AND id IS DISTINCT FROM $2::text RETURNING expires) ` +
      `SELECT count(*) FILTER (WHERE expires > ${at('$3')})::integer AS revoked FROM gone`,
    // SKIP LOCKED: rows a request is writing right now are left for the next batch. The outer
    // expiry test is re-checked on the newest row version, so a row revived by a concurrent create
    // between the subquery and the delete survives.
    pruneBatch:
      `DELETE FROM ${t} WHERE expires <= ${at('$1')} AND id IN ` +
      `(SELECT id FROM ${t} WHERE expires <= ${at('$1')} LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    tryLock: `SELECT pg_try_advisory_lock(${pruneKey}) AS locked`,
    unlock: `SELECT pg_advisory_unlock(${pruneKey})`,
    // Whether the DDL has anything left to do. ALTER TABLE takes an ACCESS EXCLUSIVE lock even when
    // the column exists, which would stall every session query behind it at each process start.
    tableReady: {
      text:
        `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'owner' AND NOT attisdropped) ` +
        `AND (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid ` +
        `WHERE i.indrelid = to_regclass($1) AND c.relname IN ($2, $3)) = 2 AS ready`,
      values: [t, `${table}${INDEX_SUFFIX}`, `${table}${OWNER_INDEX_SUFFIX}`],
    },
    // One simple-protocol query is one transaction: the lock serializes instances creating the table
    // at once, where a bare CREATE TABLE IF NOT EXISTS can still fail on pg_type's unique index.
    createTable: `SELECT pg_advisory_xact_lock(${lockKey('create', t)});\n${createSessionTableSql(name)}`,
  };
}
