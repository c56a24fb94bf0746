/** Tables, pools and backends for the PostgresStore tests: unique names, an admin pool, cleanup. */

import { describe } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DATABASE_URL, postgresReachable } from './services.js';

/** `describe` when PostgreSQL answers, else `describe.skip` (see services.ts: in CI a missing service fails instead). */
export const describeWithPostgres: typeof describe.skip = (await postgresReachable()) ? describe : describe.skip;

/** A table name no other test file (or run) uses: `koa_sk_<label>_<12 hex>`. */
export function uniqueTable(label: string): string {
  return `koa_sk_${label}_${randomBytes(6).toString('hex')}`;
}

/** A name for `application_name`, so a test can find (and kill) exactly its own connections. */
export function uniqueAppName(label: string): string {
  return `koa-sk-test-${label}-${randomBytes(6).toString('hex')}`;
}

/** DATABASE_URL (or `url`) with another database and/or an application_name. */
export function connectionString(options: { database?: string; applicationName?: string } = {}, url = DATABASE_URL): string {
  const parsed = new URL(url);
  if (options.database !== undefined) parsed.pathname = `/${encodeURIComponent(options.database)}`;
  if (options.applicationName !== undefined) parsed.searchParams.set('application_name', options.applicationName);
  return parsed.toString();
}

/**
 * A pool the tests own, with what every real app's pool needs: an `error` listener (an idle
 * connection killed by a test would otherwise crash jest) and a connection timeout.
 */
export function testPool(config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000, max: 4, ...config });
  pool.on('error', () => undefined);
  return pool;
}

/** An identifier quoted the way PostgreSQL wants it (written out here, not borrowed from the store). */
export function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Drops a table (and with it its index) if it exists. */
export async function dropTable(pool: pg.Pool, table: string, schema?: string): Promise<void> {
  const name = schema === undefined ? quoted(table) : `${quoted(schema)}.${quoted(table)}`;
  await pool.query(`DROP TABLE IF EXISTS ${name}`);
}

/** The backend pids of every connection with this application_name. */
export async function backendPids(admin: pg.Pool, applicationName: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [applicationName],
  );
  return rows.map((row) => row.pid);
}

/** Terminates those connections and waits (up to 5 s each) until they are gone; resolves to how many. */
export async function terminateBackends(admin: pg.Pool, applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ ok: boolean }>(
    'SELECT pg_terminate_backend(pid, 5000) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [applicationName],
  );
  return rows.filter((row) => row.ok).length;
}

export { waitFor } from '../stores/shared/wait-for.js';

/** A database of a test file's own, which it may refuse connections to without disturbing any other file. */
export interface ScratchDatabase {
  readonly name: string;
  /** DATABASE_URL pointed at this database, with `applicationName` when given. */
  url(applicationName?: string): string;
  /** Refuses new connections (`ALLOW_CONNECTIONS false`); existing ones stay until terminated. */
  refuse(): Promise<void>;
  /** Accepts connections again. */
  allow(): Promise<void>;
  /** Accepts connections again and drops the database, closing what is still connected; for afterAll. */
  drop(): Promise<void>;
}

/** Creates a {@link ScratchDatabase} named like {@link uniqueTable}, managed through `admin`. */
export async function scratchDatabase(admin: pg.Pool, label: string): Promise<ScratchDatabase> {
  const name = uniqueTable(label);
  const allowConnections = async (allow: boolean): Promise<void> => {
    await admin.query(`ALTER DATABASE ${quoted(name)} WITH ALLOW_CONNECTIONS ${allow}`);
  };
  await admin.query(`CREATE DATABASE ${quoted(name)}`);
  return {
    name,
    url: (applicationName) => connectionString(applicationName === undefined ? { database: name } : { database: name, applicationName }),
    refuse: () => allowConnections(false),
    allow: () => allowConnections(true),
    async drop() {
      await allowConnections(true);
      await admin.query(`DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`);
    },
  };
}
