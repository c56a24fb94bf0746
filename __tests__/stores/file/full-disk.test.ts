/** FileStore on a full disk: the request fails with SessionStoreError, no temp file is left behind, and it recovers once there is room. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from 'koa';
import { getSession } from '../../../src/index.js';
import { FileStore } from '../../../stores/file.js';
import { client as http, cookiePair, makeApp } from '../../helpers/app.js';
import { removeTempDirs, tempDir } from '../../helpers/file-store.js';

/** A small tmpfs of our own, so "full" is exact and no other work on the machine notices. */
const DISK_BYTES = 64 * 1024;
const FILLER = 'filler';

/** Mounts a tmpfs on a fresh directory; `undefined` (outside CI) when this process may not mount. */
async function smallDisk(): Promise<string | undefined> {
  const dir = await tempDir('full-disk');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${DISK_BYTES}`, 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch (error) {
    const why = `FileStore full-disk tests need to mount a ${DISK_BYTES}-byte tmpfs (root, or CAP_SYS_ADMIN)`;
    if (process.env.CI === 'true') throw new Error(`${why}; CI must allow it`, { cause: error });
    console.warn(`${why}: skipping them (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    return undefined;
  }
}

/** Writes zeros to `path` until the disk refuses more (ENOSPC). */
async function fill(path: string): Promise<void> {
  const handle = await open(path, 'w');
  const chunk = Buffer.alloc(1024);
  try {
    for (;;) await handle.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
}

const disk = await smallDisk();
const describeWithDisk = disk === undefined ? describe.skip : describe;

const routes = {
  '/count': async (ctx: Context) => {
    const s = await getSession<{ views: number; pad: string }>(ctx);
    s.set('views', (s.get('views') ?? 0) + 1);
    s.set('pad', 'x'.repeat(2048));
    ctx.body = { views: s.get('views') };
  },
};

describeWithDisk('FileStore when the disk is full', () => {
  const mount = disk!;
  const dir = join(mount, 'sessions');
  let store: FileStore;
  const errors: unknown[] = [];
  let app: ReturnType<typeof http>;

  beforeAll(() => {
    store = new FileStore({ dir });
    const koa = makeApp({ store }, routes);
    koa.on('error', (error: unknown) => errors.push(error));
    app = http(koa);
  });

  afterAll(async () => {
    await store.close();
    execFileSync('umount', ['-l', mount], { stdio: 'pipe' });
    await removeTempDirs();
  });

  const leftovers = async (): Promise<string[]> => (await readdir(dir)).filter((name) => !name.endsWith('.sess'));

  it('answers 500 with a SessionStoreError for new and existing sessions, leaves no temp or lock file, then recovers', async () => {
    const first = await app.get('/count').expect(200, { views: 1 });
    const cookie = cookiePair(first);
    await fill(join(mount, FILLER));

    // An existing session goes through the id's lock; a new one through a plain create.
    await app.get('/count').set('Cookie', cookie).expect(500);
    await app.get('/count').expect(500);
    expect(errors).toHaveLength(2);
    for (const error of errors) {
      expect(error).toMatchObject({ code: 'ERR_SESSION_STORE', cause: { code: 'ENOSPC' } });
    }
    expect(await leftovers()).toEqual([]);

    await rm(join(mount, FILLER));
    await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
    expect(await leftovers()).toEqual([]);
  });
});
