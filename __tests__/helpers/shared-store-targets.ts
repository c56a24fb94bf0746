/**
 * The stores that test files run in several processes at once: whether each one's service answers,
 * and a fresh place in it (key prefix, table, file, directory) named by the children's arguments
 * (opened there with `openSharedStore` from shared-store.ts), removed after.
 */

import { Redis } from 'ioredis';
import { removeTempDirs, tempDir } from './file-store.js';
import { dropTable as dropMySQLTable, testPool as mysqlPool, uniqueTable as uniqueMySQLTable } from './mysql-store.js';
import { dropTable, testPool, uniqueTable } from './postgres-store.js';
import { deleteKeys, uniquePrefix } from './redis-store.js';
import { DATABASE_URL, MYSQL_URL, mysqlReachable, postgresReachable, REDIS_URL, redisReachable } from './services.js';
import { cleanUp as removeDatabases, tempDatabase } from '../stores/sqlite/temp-files.js';

/** A shared store as a test file sees it. */
export interface SharedStoreTarget {
  /** As test titles name it. */
  readonly name: string;
  /** Whether its service answers (see services.ts: in CI a missing one throws instead). */
  reachable(): Promise<boolean>;
  /** A place of its own under `label`: the children's arguments, and what removes it. */
  prepare(label: string): Promise<{ args: string[]; cleanup: () => Promise<void> }>;
}

const always = async (): Promise<boolean> => true;

export const redisShared: SharedStoreTarget = {
  name: 'RedisStore (ioredis)',
  reachable: redisReachable,
  async prepare(label) {
    const prefix = uniquePrefix(label);
    const cleanup = async (): Promise<void> => {
      const client = new Redis(REDIS_URL);
      await deleteKeys(client, prefix);
      client.disconnect();
    };
    return { args: ['redis', REDIS_URL, prefix], cleanup };
  },
};

export const postgresShared: SharedStoreTarget = {
  name: 'PostgresStore',
  reachable: postgresReachable,
  async prepare(label) {
    const table = uniqueTable(label);
    const cleanup = async (): Promise<void> => {
      const pool = testPool();
      await dropTable(pool, table);
      await pool.end();
    };
    return { args: ['postgres', DATABASE_URL, table], cleanup };
  },
};

export const mysqlShared: SharedStoreTarget = {
  name: 'MySQLStore (MariaDB)',
  reachable: mysqlReachable,
  async prepare(label) {
    const table = uniqueMySQLTable(label);
    const cleanup = async (): Promise<void> => {
      const pool = mysqlPool();
      await dropMySQLTable(pool, table);
      await pool.end();
    };
    return { args: ['mysql', MYSQL_URL, table], cleanup };
  },
};

export const sqliteShared: SharedStoreTarget = {
  name: 'SQLiteStore (one file)',
  reachable: always,
  prepare: async (label) => ({ args: ['sqlite', await tempDatabase(label)], cleanup: removeDatabases }),
};

export const fileShared: SharedStoreTarget = {
  name: 'FileStore',
  reachable: always,
  prepare: async (label) => ({ args: ['file', await tempDir(label)], cleanup: removeTempDirs }),
};
