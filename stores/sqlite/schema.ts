/** SQLiteStore's table, indexes and statements, as SQL text. */

/** An identifier as SQL text: double-quoted, embedded double quotes doubled (SQLite's only escape). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The DDL, each statement `IF NOT EXISTS`. `expires` is REAL: any JS number, fractions of a ms
 * included, goes in and comes back exactly. STRICT makes SQLite refuse a value of the wrong type
 * instead of storing it (SQLite 3.37, which better-sqlite3 12 bundles). The owner index is partial:
 * most sessions have no owner, and `owner = ?` implies the row is in it.
 */
export function createTableSql(table: string): string[] {
  const t = quoteIdentifier(table);
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
  id TEXT NOT NULL PRIMARY KEY,
  data BLOB NOT NULL,
  expires REAL NOT NULL,
  version INTEGER NOT NULL,
  owner TEXT
) STRICT`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}_expires_idx`)} ON ${t} (expires)`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}_owner_idx`)} ON ${t} (owner) WHERE owner IS NOT NULL`,
  ];
}

/** Rows per prune DELETE: each batch holds the write lock, and the event loop, for one short statement. */
export const PRUNE_BATCH_ROWS = 500;

/*
 * Whose clock decides expiry: the application's. Every statement takes Date.now() as a parameter
 * (`@now`) and a record is live while `expires > @now`, as in every other store.
 */
export function statementsSql(table: string) {
  const t = quoteIdentifier(table);
  const update =
    `UPDATE ${t} SET data = @data, expires = @expires, owner = @owner, version = version + 1 ` + `WHERE id = @id AND expires > @now`;
  return {
    get: `SELECT data, expires, version, owner FROM ${t} WHERE id = @id AND expires > @now`,
    // An expired row still holding the id is replaced in the same statement, atomically.
    create:
      `INSERT INTO ${t} AS s (id, data, expires, version, owner) VALUES (@id, @data, @expires, 1, @owner) ` +
      `ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires = excluded.expires, version = 1, ` +
      `owner = excluded.owner WHERE s.expires <= @now`,
    update: `${update} RETURNING version`,
    updateAt: `${update} AND version = @version RETURNING version`,
    touch: `UPDATE ${t} SET expires = @expires WHERE id = @id AND expires > @now`,
    destroy: `DELETE FROM ${t} WHERE id = @id`,
    listOwned: `SELECT id, data, expires FROM ${t} WHERE owner = @owner AND expires > @now`,
    // Expired rows of the owner go too; only the live ones count as revoked. `IS NOT NULL` keeps all.
    destroyOwned: `DELETE FROM ${t} WHERE owner = @owner AND id IS NOT @except RETURNING expires > @now AS live`,
    pruneBatch: `DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE expires <= @now LIMIT ${PRUNE_BATCH_ROWS})`,
  };
}

export type Statements = ReturnType<typeof statementsSql>;
