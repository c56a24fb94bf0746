/**
 * A store that several processes share, opened in a child process from the arguments a test gave
 * it (see shared-store-targets.ts). No jest here: children import this.
 */

import type { SessionStore } from '../../src/index.js';

/** Connections per process to the shared PostgreSQL and MariaDB, which other test files use too. */
const POOL_SIZE = 4;

/** A store and what closes it and its connections. */
export interface OpenedStore {
  store: SessionStore;
  close(): Promise<void>;
}

/**
 * Opens `redis <url> <prefix>`, `postgres <url> <table>`, `mysql <uri> <table>`, `sqlite <file>` or
 * `file <dir>`. The pools are made here and ended by `close()` (a store never ends a pool it was
 * given); only the named store's driver is loaded, which keeps a child's start short.
 */
export async function openSharedStore([kind, where = '', name = '']: string[]): Promise<OpenedStore> {
  switch (kind) {
    case 'redis': {
      const [{ Redis }, { RedisStore }] = await Promise.all([import('ioredis'), import('../../stores/redis.js')]);
      const client = new Redis(where);
      const store = new RedisStore({ client, prefix: name });
      return { store, close: async () => void (await store.close(), client.disconnect()) };
    }
    case 'postgres': {
      const [{ default: pg }, { PostgresStore }] = await Promise.all([import('pg'), import('../../stores/postgres.js')]);
      const pool = new pg.Pool({ connectionString: where, max: POOL_SIZE, connectionTimeoutMillis: 5000 });
      const store = new PostgresStore({ pool, table: name, pruneInterval: false });
      return { store, close: async () => void (await store.close(), await pool.end()) };
    }
    case 'mysql': {
      const [{ default: mysql }, { MySQLStore }] = await Promise.all([import('mysql2/promise'), import('../../stores/mysql.js')]);
      const pool = mysql.createPool({ uri: where, connectionLimit: POOL_SIZE, connectTimeout: 5000 });
      const store = new MySQLStore({ pool, table: name, pruneInterval: false });
      return { store, close: async () => void (await store.close(), await pool.end()) };
    }
    case 'sqlite': {
      const { SQLiteStore } = await import('../../stores/sqlite.js');
      const store = new SQLiteStore({ filename: where, pruneInterval: false });
      return { store, close: () => store.close() };
    }
    case 'file': {
      const { FileStore } = await import('../../stores/file.js');
      const store = new FileStore({ dir: where, pruneInterval: false });
      return { store, close: () => store.close() };
    }
    default:
      throw new Error(`unknown store kind ${JSON.stringify(kind)}: expected redis, postgres, mysql, sqlite or file`);
  }
}
