/** session() on FileStore through Koa: core behaviour, two apps and a restart on one dir, expiry in the header, hostile cookies. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestId } from '../../../src/id.js';
import { FileStore } from '../../../stores/file.js';
import { client as http, cookiePair, cookieValue, makeApp, setCookies, sleep } from '../../helpers/app.js';
import { describeSessionBehaviour, itSharesOneSession, sessionRoutes } from '../shared/behaviour.js';
import { removeTempDirs, tempDir } from '../../helpers/file-store.js';

const stores: FileStore[] = [];
const open = (dir: string): FileStore => {
  const store = new FileStore({ dir });
  stores.push(store);
  return store;
};
/** The session file a response's cookie names (`id.mac` → SHA-256 of id). */
const fileOf = (dir: string, cookie: string): string => join(dir, `${digestId(cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!)}.sess`);

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await removeTempDirs();
});

let behaviourDir: string | undefined;
describeSessionBehaviour('FileStore', {
  async make() {
    behaviourDir ??= await tempDir('app-behaviour');
    return open(behaviourDir);
  },
  serverSide: true,
});

describe('two Koa apps, each with its own FileStore on one directory', () => {
  let dir: string;
  let apps: ReturnType<typeof http>[];

  beforeAll(async () => {
    dir = await tempDir('app-two');
    apps = [0, 1].map(() => http(makeApp({ store: open(dir) }, sessionRoutes)));
  });

  itSharesOneSession(() => apps);
});

describe('an app restarted on the same directory', () => {
  it('carries on with the sessions the previous process left', async () => {
    const dir = await tempDir('app-restart');
    const before = open(dir);
    const cookie = cookiePair(
      await http(makeApp({ store: before }, sessionRoutes))
        .get('/count')
        .expect(200, { views: 1 }),
    );
    await before.close();
    const after = http(makeApp({ store: open(dir) }, sessionRoutes));
    await after.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
  });
});

describe('session files written through Koa', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('app-files');
  });

  it('carry the cookie expiry in the header, and neither the id nor its signature anywhere', async () => {
    const response = await http(makeApp({ store: open(dir), maxAge: 120_000 }, sessionRoutes))
      .get('/count')
      .expect(200);
    const cookie = cookiePair(response);
    const file = await readFile(fileOf(dir, cookie));
    expect(Math.abs(file.readDoubleLE(8) - (Date.now() + 120_000))).toBeLessThan(2_000);
    expect(setCookies(response)[0]).toContain('Max-Age=120;');
    const [id, mac] = cookieValue(response).split('.');
    const names = (await readdir(dir)).join('\n');
    for (const secret of [id!, mac!]) {
      expect(names).not.toContain(secret);
      expect(file.includes(Buffer.from(secret))).toBe(false);
    }
  });

  it('get their expiry moved in place by a rolling read, data and inode untouched', async () => {
    const app = http(makeApp({ store: open(dir), maxAge: 60_000, rolling: true, touchAfter: 0 }, sessionRoutes));
    const cookie = cookiePair(await app.get('/count'));
    const path = fileOf(dir, cookie);
    const before = await readFile(path);
    const inode = (await stat(path)).ino;
    await sleep(150);
    await app.get('/read').set('Cookie', cookie).expect(200, { views: 1 });
    const after = await readFile(path);
    expect(after.readDoubleLE(8) - before.readDoubleLE(8)).toBeGreaterThanOrEqual(140);
    expect(after.readDoubleLE(16)).toBe(before.readDoubleLE(16));
    expect(after.subarray(32).equals(before.subarray(32))).toBe(true);
    expect((await stat(path)).ino).toBe(inode);
  });
});

describe('unsigned cookies that look like paths', () => {
  it('get a fresh session and never touch a file inside or outside the directory', async () => {
    const root = await tempDir('app-hostile');
    const dir = join(root, 'sessions');
    const victim = join(root, 'victim.sess');
    await writeFile(victim, 'do not touch');
    const app = http(makeApp({ store: open(dir) }, sessionRoutes, null)); // no keys: the cookie is the bare id
    const hostile = [
      '../victim',
      '..%2F..%2Fvictim',
      '%2e%2e%2fvictim',
      '/etc/passwd',
      `..%2F${'A'.repeat(38)}`,
      `${'A'.repeat(20)}%00${'A'.repeat(20)}`,
      `../${'A'.repeat(40)}`,
      'C:\\Windows\\win.ini',
    ];
    for (const value of hostile) {
      const response = await app.get('/read').set('Cookie', `koa.sid=${value}`).expect(200, {});
      expect(setCookies(response)).toEqual([]);
    }
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(root)).toEqual(['victim.sess']);
    expect(await readFile(victim, 'utf8')).toBe('do not touch');
  });
});
