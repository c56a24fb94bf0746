/** MySQLStore and the optional `mysql2` peer: not loaded until needed, and a clear error when missing. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

/** What the child process reports. */
interface Report {
  afterImport: boolean;
  afterConstruct: boolean;
  afterGet: boolean;
  error?: { name: string; code: string; operation: string; message: string; causeCode?: string };
}

/** Resolution hook that makes `mysql2` look uninstalled, as on an app that never added the peer. */
const HIDE_MYSQL2 = `
export async function resolve(specifier, context, next) {
  if (specifier === 'mysql2' || specifier.startsWith('mysql2/')) {
    const error = new Error("Cannot find package 'mysql2' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;

// A fresh process per case: jest's own module registry would hide what a real import loads.
const CHILD = `
import { createRequire, register } from 'node:module';
if (process.argv[2] === 'hide-mysql2') register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HIDE_MYSQL2)}));
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).some((path) => /[\\\\/]node_modules[\\\\/]mysql2[\\\\/]/.test(path));
const { MySQLStore } = await import(process.argv[3]);
const report = { afterImport: loaded() };
// Port 1 on loopback: nothing listens, so the first operation fails fast once mysql2 is loaded.
const store = new MySQLStore({ uri: 'mysql://nobody@127.0.0.1:1/none', pruneInterval: false });
report.afterConstruct = loaded();
try {
  await store.get('x');
} catch (e) {
  report.error = { name: e.name, code: e.code, operation: e.operation, message: e.message, causeCode: e.cause?.code };
}
report.afterGet = loaded();
await store.close();
console.log(JSON.stringify(report));
`;

describe('stores/mysql and the mysql2 driver', () => {
  let dir: string;
  let script: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koa-sk-mysql-driver-'));
    script = join(dir, 'child.mjs');
    await writeFile(script, CHILD);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function child(mode: 'with-mysql2' | 'hide-mysql2'): Promise<Report> {
    const store = pathToFileURL(join(root, 'stores/mysql.ts')).href;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, mode, store], { cwd: root, timeout: 20_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Report;
  }

  it('loads mysql2 neither on import nor in the constructor, only on the first operation', async () => {
    const report = await child('with-mysql2');
    expect(report.afterImport).toBe(false);
    expect(report.afterConstruct).toBe(false);
    expect(report.afterGet).toBe(true);
    // Nothing listens on port 1: a connection error, wrapped, with mysql2's cause.
    expect(report.error).toMatchObject({ name: 'SessionStoreError', operation: 'get', causeCode: 'ECONNREFUSED' });
    // The first operation also creates the table, so that is where the connection failed.
    expect(report.error!.message).toBe(
      'koa-session-kit: MySQLStore get failed on table `koa_sessions` while creating it: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)',
    );
  });

  it('says to install mysql2 when it is missing, with the import error as the cause', async () => {
    const report = await child('hide-mysql2');
    expect(report.afterGet).toBe(false);
    expect(report.error).toMatchObject({
      name: 'SessionStoreError',
      code: 'ERR_SESSION_STORE',
      operation: 'get',
      causeCode: 'ERR_MODULE_NOT_FOUND',
    });
    expect(report.error!.message).toBe('koa-session-kit: install `mysql2` to use MySQLStore with `uri`');
  });
});
