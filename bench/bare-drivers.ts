/**
 * Each database store's own statements (or scripts) through its bare driver, for the "store vs
 * bare driver" rows (issues 5 and 15). The SQL and Lua come from the built store's own modules
 * (stores/<name>/sql.ts, schema.ts, scripts.ts), so a baseline cannot drift from its store. What a
 * store change can still break is the order of the parameters, bound here as the store binds them:
 * a new order shows as failing requests or a failed sanity check, unless it swaps two values of one type.
 */

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { BareDriver } from './baselines.js';
import { loadStorePart, scratchDir, SkipScenario } from './package.js';

/** The record columns (or hash fields) a baseline reads back. */
interface Row {
  data: Buffer;
  version: number;
}

/** Runs a driver's first call; a server that does not answer skips the scenario with the reason. */
async function firstContact<T>(service: string, where: string, call: () => Promise<T>, release: () => unknown): Promise<T> {
  try {
    return await call();
  } catch (error) {
    await release();
    throw new SkipScenario(`${service} is not reachable at ${withoutPassword(where)} (${String(error)})`);
  }
}

/** A connection URL fit for a log line. */
function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return 'the configured URL';
  }
}

/** PostgresStore's statements through a bare `pg.Pool` of pg's default size (the store's own pool from a connection string). */
export async function barePg(connectionString: string): Promise<BareDriver> {
  const { statements } = await loadStorePart<typeof import('../stores/postgres/sql.js')>('postgres', 'sql', ['statements']);
  const pg = await import('pg');
  const table = `bench_bare_pg_${process.pid}`;
  const sql = statements({ table });
  const pool = new pg.default.Pool({ connectionString, connectionTimeoutMillis: 5000 });
  await firstContact(
    'PostgreSQL',
    connectionString,
    () => pool.query(sql.createTable),
    () => pool.end(),
  );
  return {
    get: async (id) => (await pool.query<Row>(sql.get, [id, Date.now()])).rows[0],
    // [id, data, expires, now, owner(, version)]: PostgresStore's order; no owner in the bench.
    create: (id, data, expires) => pool.query(sql.create, [id, data, expires, Date.now(), null]),
    update: (id, data, expires, version) => pool.query(sql.updateAt, [id, data, expires, Date.now(), null, version]),
    close: async () => {
      await pool.query(`DROP TABLE IF EXISTS "${table}"`);
      await pool.end();
    },
  };
}

/** MySQLStore's statements through a bare `mysql2/promise` pool of mysql2's default size (the store's own pool from a URI). */
export async function bareMysql(uri: string): Promise<BareDriver> {
  const { statements } = await loadStorePart<typeof import('../stores/mysql/sql.js')>('mysql', 'sql', ['statements']);
  const mysql = await import('mysql2/promise');
  const table = `bench_bare_mysql_${process.pid}`;
  const sql = statements(table);
  const pool = mysql.createPool({ uri, connectTimeout: 5000 });
  await firstContact(
    'MySQL/MariaDB',
    uri,
    () => pool.query(sql.createTable),
    () => pool.end(),
  );
  type MySQLRow = Row & import('mysql2/promise').RowDataPacket;
  return {
    get: async (id) => (await pool.execute<MySQLRow[]>(sql.get, [id, Date.now()]))[0][0],
    // create: [id, data, expires, now, owner]; update: [data, expires, owner, id, now(, version)].
    create: (id, data, expires) => pool.execute(sql.create, [id, data, expires, Date.now(), null]),
    update: (id, data, expires, version) => pool.execute(sql.updateAt, [data, expires, null, id, Date.now(), version]),
    close: async () => {
      await pool.query(`DROP TABLE IF EXISTS \`${table}\``);
      await pool.end();
    },
  };
}

/**
 * SQLiteStore's statements through a bare better-sqlite3 connection to a file of its own, with the
 * two pragmas the store sets on a file it opens (WAL, synchronous NORMAL), each statement prepared once.
 */
export async function bareSqlite(): Promise<BareDriver> {
  const { createTableSql, statementsSql } = await loadStorePart<typeof import('../stores/sqlite/schema.js')>('sqlite', 'schema', [
    'createTableSql',
    'statementsSql',
  ]);
  const Database = (await import('better-sqlite3')).default;
  const dir = await scratchDir('bare-sqlite');
  const db = new Database(join(dir, 'sessions.db'), { timeout: 0 });
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  const table = 'bench_bare_sqlite';
  db.exec(createTableSql(table).join(';\n'));
  const sql = statementsSql(table);
  const [get, create, update] = [db.prepare(sql.get), db.prepare(sql.create), db.prepare(sql.updateAt)];
  return {
    // better-sqlite3 types rows as unknown: these are columns the statement selects.
    get: async (id) => get.get({ id, now: Date.now() }) as Row | undefined,
    create: async (id, data, expires) => create.run({ id, data, expires, owner: null, now: Date.now() }),
    update: async (id, data, expires, version) => update.get({ id, data, expires, owner: null, now: Date.now(), version }),
    close: async () => {
      db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * RedisStore's commands through a bare ioredis client: HMGET for a read, and the store's own Lua
 * scripts, registered the way the store registers them (stores/redis/ioredis.ts: defineCommand, so
 * EVALSHA), with the ARGV its scripts document (stores/redis/scripts.ts).
 */
export async function bareRedis(url: string): Promise<BareDriver> {
  const { ioredisDriver } = await loadStorePart<typeof import('../stores/redis/ioredis.js')>('redis', 'ioredis', ['ioredisDriver']);
  const { SCRIPTS } = await loadStorePart<typeof import('../stores/redis/scripts.js')>('redis', 'scripts', []);
  const { Redis: RedisClient } = await import('ioredis');
  const redis = new RedisClient(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await firstContact(
    'Redis',
    url,
    () => redis.connect(),
    () => redis.disconnect(),
  );
  const driver = ioredisDriver(redis);
  const prefix = `bench:bare:${process.pid}:`;
  // data, expires as written, expiry for PEXPIREAT, the app's now, owner ('' for none).
  const args = (data: Buffer, expires: number): (string | Buffer)[] => [
    data,
    String(expires),
    String(Math.ceil(expires)),
    String(Date.now()),
    '',
  ];
  return {
    get: async (id) => {
      const [data, , version] = await driver.hmget(prefix + id, ['d', 'e', 'v', 'o']);
      return data == null || version == null ? undefined : { data: data as Buffer, version: Number(version.toString()) };
    },
    create: (id, data, expires) => driver.run(SCRIPTS.create, prefix + id, args(data, expires)),
    update: (id, data, expires, version) => driver.run(SCRIPTS.update, prefix + id, [...args(data, expires), String(version)]),
    close: () => dropKeys(redis, prefix),
  };
}

/** Deletes every key under `prefix` (SCAN, never KEYS: the server is shared) and quits the client. */
export async function dropKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await client.quit();
}
