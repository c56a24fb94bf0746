/**
 * Tables and pools for the MySQLStore tests on the shared MariaDB (unique names, cleanup), and a
 * MariaDB server of a test's own to hang and stop, always resumed and killed in teardown.
 */

import { describe } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { exited, sparePort } from './own-server.js';
import { MYSQL_URL, mysqlReachable } from './services.js';

/** `describe` when MariaDB answers, else `describe.skip` (see services.ts: in CI a missing service fails instead). */
export const describeWithMySQL: typeof describe.skip = (await mysqlReachable()) ? describe : describe.skip;

/** A table name no other test file (or run) uses: `koa_sk_<label>_<12 hex>`. */
export function uniqueTable(label: string): string {
  return `koa_sk_${label}_${randomBytes(6).toString('hex')}`;
}

/** A pool the tests own, bounded like a real app's. */
export function testPool(options: mysql.PoolOptions = {}): mysql.Pool {
  return mysql.createPool({ uri: MYSQL_URL, connectTimeout: 3000, connectionLimit: 4, ...options });
}

/** An identifier backquoted the way MySQL wants it (written out here, not borrowed from the store). */
export function quoted(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** Drops a table if it exists. */
export async function dropTable(pool: mysql.Pool, table: string): Promise<void> {
  await pool.query(`DROP TABLE IF EXISTS ${quoted(table)}`);
}

/** A MariaDB server of our own. */
export interface OwnMariaDB {
  /** `mysql://root@127.0.0.1:<port>/test` */
  readonly url: string;
  /** SIGSTOPs the server: open connections stay open, new ones are accepted by the kernel, nothing answers. */
  hang(): void;
  /** SIGCONTs it. */
  resume(): void;
  /** Resumes and kills it, waits for it to exit, and removes its files; safe to call more than once. */
  dispose(): Promise<void>;
}

const STARTUP_MS = 30_000;
const EXIT_WAIT_MS = 5_000;
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of started) {
    child.kill('SIGCONT');
    child.kill('SIGKILL');
  }
});

/** True when the MariaDB server binaries are on this machine. */
export function mariadbAvailable(): boolean {
  const onPath = (command: string): boolean => (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, command)));
  return onPath('mariadbd') && onPath('mariadb-install-db');
}

/**
 * A throwaway MariaDB (root without a password, a `test` database, no binary log) in a temp
 * directory on a spare port, started as root with `--user=root`, ready to answer.
 */
export async function startMariaDB(): Promise<OwnMariaDB> {
  const dir = await mkdtemp(join(tmpdir(), 'kss-own-mariadb-'));
  const data = join(dir, 'data');
  const removeDir = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const install = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root'],
    { encoding: 'utf8', timeout: STARTUP_MS },
  );
  if (install.status !== 0) {
    await removeDir();
    throw new Error(`mariadb-install-db failed (${install.status ?? install.signal}): ${install.stderr}`);
  }
  const port = await sparePort();
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${join(dir, 's')}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    '--user=root',
    `--pid-file=${join(dir, 'pid')}`,
    '--innodb-buffer-pool-size=16M',
    '--skip-log-bin',
  ];
  const child = spawn('mariadbd', args, { stdio: 'ignore' });
  started.add(child);
  let disposed: Promise<void> | undefined;
  const server: OwnMariaDB = {
    url: `mysql://root@127.0.0.1:${port}/test`,
    hang: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    dispose() {
      disposed ??= (async () => {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited(child), new Promise((resolve) => (timer = setTimeout(resolve, EXIT_WAIT_MS)))]);
        clearTimeout(timer);
        started.delete(child);
        await removeDir();
      })();
      return disposed;
    },
  };
  try {
    await ready(`mysql://root@127.0.0.1:${port}/`, child);
    const admin = await mysql.createConnection({ uri: `mysql://root@127.0.0.1:${port}/`, connectTimeout: 2000 });
    await admin.query('CREATE DATABASE IF NOT EXISTS test');
    await admin.end();
  } catch (error) {
    await server.dispose();
    throw error;
  }
  return server;
}

/** Waits until the server answers a query (or exits, or STARTUP_MS passes). */
async function ready(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mariadbd exited (${child.exitCode ?? child.signalCode})`);
    try {
      const connection = await mysql.createConnection({ uri: url, connectTimeout: 1000 });
      await connection.query('SELECT 1');
      await connection.end();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`mariadbd not ready within ${STARTUP_MS} ms`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
