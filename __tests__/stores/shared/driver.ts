/** A SQL store and its optional driver peer: not loaded until needed, and a clear error when missing. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

/** How a store's driver test file describes its store and peer to the shared suite. */
export interface DriverTarget {
  /** The store's module, relative to the repository root, e.g. `stores/mysql.ts`. */
  module: string;
  /** The exported class, e.g. `MySQLStore`. */
  storeClass: string;
  /** The peer package, e.g. `mysql2`. */
  driver: string;
  /** Constructor options (as JavaScript source) pointing at port 1 on loopback, where nothing listens. */
  unreachableOptions: string;
  /** The message of the wrapped connection error from the first operation. */
  connectFailure: string;
  /** The message when the peer is missing. */
  installMessage: string;
}

/** What the child process reports. */
interface Report {
  afterImport: boolean;
  afterConstruct: boolean;
  afterGet: boolean;
  error?: { name: string; code: string; operation: string; message: string; causeCode?: string };
}

/** Resolution hook that makes `driver` look uninstalled, as on an app that never added the peer. */
function hideDriver(driver: string): string {
  return `
export async function resolve(specifier, context, next) {
  if (specifier === '${driver}' || specifier.startsWith('${driver}/')) {
    const error = new Error("Cannot find package '${driver}' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
}

// A fresh process per case: jest's own module registry would hide what a real import loads.
function childScript(target: DriverTarget): string {
  return `
import { createRequire, register } from 'node:module';
if (process.argv[2] === 'hide') register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hideDriver(target.driver))}));
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).some((path) => /[\\\\/]node_modules[\\\\/]${target.driver}[\\\\/]/.test(path));
const { ${target.storeClass} } = await import(process.argv[3]);
const report = { afterImport: loaded() };
// Port 1 on loopback: nothing listens, so the first operation fails fast once the driver is loaded.
const store = new ${target.storeClass}(${target.unreachableOptions});
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
}

/** Registers the lazy-driver suite for one SQL store under `describe(name)`. */
export function describeLazyDriver(name: string, target: DriverTarget): void {
  describe(name, () => {
    let dir: string;
    let script: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), `koa-sk-${target.driver}-driver-`));
      script = join(dir, 'child.mjs');
      await writeFile(script, childScript(target));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    async function child(mode: 'with' | 'hide'): Promise<Report> {
      const store = pathToFileURL(join(root, target.module)).href;
      const { stdout } = await run(process.execPath, ['--import', 'tsx', script, mode, store], { cwd: root, timeout: 20_000 });
      return JSON.parse(stdout.trim().split('\n').pop()!) as Report;
    }

    it(`loads ${target.driver} neither on import nor in the constructor, only on the first operation`, async () => {
      const report = await child('with');
      expect(report.afterImport).toBe(false);
      expect(report.afterConstruct).toBe(false);
      expect(report.afterGet).toBe(true);
      // Nothing listens on port 1: a connection error, wrapped, with the driver's cause.
      expect(report.error).toMatchObject({ name: 'SessionStoreError', operation: 'get', causeCode: 'ECONNREFUSED' });
      // The first operation also creates the table, so that is where the connection failed.
      expect(report.error!.message).toBe(target.connectFailure);
    });

    it(`says to install ${target.driver} when it is missing, with the import error as the cause`, async () => {
      const report = await child('hide');
      expect(report.afterGet).toBe(false);
      expect(report.error).toMatchObject({
        name: 'SessionStoreError',
        code: 'ERR_SESSION_STORE',
        operation: 'get',
        causeCode: 'ERR_MODULE_NOT_FOUND',
      });
      expect(report.error!.message).toBe(target.installMessage);
    });
  });
}
