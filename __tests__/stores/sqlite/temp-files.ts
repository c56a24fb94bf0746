/** SQLiteStore test helpers: database files in a temp directory that the test file removes, and stores closed for it. */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLiteStore, type SQLiteStoreOptions } from '../../../stores/sqlite.js';

const dirs: string[] = [];
const stores: SQLiteStore[] = [];

/** A fresh path for a database file (with its -wal and -shm beside it) under the OS temp dir. */
export async function tempDatabase(label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `kss-sqlite-${label}-`));
  dirs.push(dir);
  return join(dir, 'sessions.db');
}

/** A store, closed by {@link cleanUp}; the prune timer is off unless the options say otherwise. */
export function openStore(options: SQLiteStoreOptions): SQLiteStore {
  const store = new SQLiteStore({ pruneInterval: false, ...options });
  stores.push(store);
  return store;
}

/** Closes every store {@link openStore} made and removes every directory {@link tempDatabase} made; call from afterAll. */
export async function cleanUp(): Promise<void> {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}
