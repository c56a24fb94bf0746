/** PostgresStore and the optional `pg` peer: not loaded until needed, and a clear error when missing. */

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

/** Resolution hook that makes `pg` look uninstalled, as on an app that never added the peer. */
const HIDE_PG = `
export async function resolve(specifier, context, next) {
  if (specifier === 'pg' || specifier.startsWith('pg/')) {
    const error = new Error("Cannot find package 'pg' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;

// A fresh process per case: jest's own module registry would hide what a real import loads.
const CHILD = `
import { createRequire, register } from 'node:module';
if (process.argv[2] === 'hide-pg') register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HIDE_PG)}));
const require = createRequire(import.meta.url);
const pgLoaded = () => Object.keys(require.cache).some((path) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(path));
const { PostgresStore } = await import(process.argv[3]);
const report = { afterImport: pgLoaded() };
// Port 1 on loopback: nothing listens, so the first operation fails fast once pg is loaded.
const store = new PostgresStore({ connectionString: 'postgres://nobody@127.0.0.1:1/none', pruneInterval: false });
report.afterConstruct = pgLoaded();
try {
  await store.get('x');
} catch (e) {
  report.error = { name: e.name, code: e.code, operation: e.operation, message: e.message, causeCode: e.cause?.code };
}
report.afterGet = pgLoaded();
await store.close();
console.log(JSON.stringify(report));
`;

describe('stores/postgres and the pg driver', () => {
  let dir: string;
  let script: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'koa-sk-pg-driver-'));
    script = join(dir, 'child.mjs');
    await writeFile(script, CHILD);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function child(mode: 'with-pg' | 'hide-pg'): Promise<Report> {
    const store = pathToFileURL(join(root, 'stores/postgres.ts')).href;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script, mode, store], { cwd: root, timeout: 20_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as Report;
  }

  it('loads pg neither on import nor in the constructor, only on the first operation', async () => {
    const report = await child('with-pg');
    expect(report.afterImport).toBe(false);
    expect(report.afterConstruct).toBe(false);
    expect(report.afterGet).toBe(true);
    // Nothing listens on port 1: a connection error, wrapped, with pg's cause.
    expect(report.error).toMatchObject({ name: 'SessionStoreError', operation: 'get', causeCode: 'ECONNREFUSED' });
    // The first operation also creates the table, so that is where the connection failed.
    expect(report.error!.message).toBe(
      'koa-session-kit: PostgresStore get failed on table "koa_sessions" while creating it: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)',
    );
  });

  it('says to install pg when it is missing, with the import error as the cause', async () => {
    const report = await child('hide-pg');
    expect(report.afterGet).toBe(false);
    expect(report.error).toMatchObject({
      name: 'SessionStoreError',
      code: 'ERR_SESSION_STORE',
      operation: 'get',
      causeCode: 'ERR_MODULE_NOT_FOUND',
    });
    expect(report.error!.message).toBe('koa-session-kit: install `pg` to use PostgresStore with `connectionString`');
  });
});
