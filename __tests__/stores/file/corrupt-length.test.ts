/** FileStore and a session file whose header promises more data than the file holds: a fresh session, never a 500. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { getSession } from '../../../src/index.js';
import { FileStore } from '../../../stores/file.js';
import { client as http, cookiePair, makeApp } from '../../helpers/app.js';
import { removeTempDirs, tempDir } from '../../helpers/file-store.js';

/** Where the header keeps the data length (uint32, little-endian): see stores/file/header.ts. */
const LENGTH_OFFSET = 24;

const routes = {
  '/count': async (ctx: Context) => {
    const s = await getSession<{ views: number }>(ctx);
    s.set('views', (s.get('views') ?? 0) + 1);
    ctx.body = { views: s.get('views') };
  },
};

describe('FileStore#get() of a file whose header length is corrupt', () => {
  const stores: FileStore[] = [];

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await removeTempDirs();
  });

  /** Overwrites the length field of the only session file in `dir`. */
  async function corruptLength(dir: string, length: number): Promise<void> {
    const [name] = (await readdir(dir)).filter((entry) => entry.endsWith('.sess'));
    const handle = await open(join(dir, name!), 'r+');
    try {
      const field = Buffer.alloc(4);
      field.writeUInt32LE(length);
      await handle.write(field, 0, 4, LENGTH_OFFSET);
    } finally {
      await handle.close();
    }
  }

  it.each([
    ['2^31', 2 ** 31],
    ['2^32 - 1', 2 ** 32 - 1],
    ['one byte more than the file holds', 12],
  ])('starts a fresh session (200) when the length field says %s, and prune() removes the file', async (_, length) => {
    const dir = await tempDir('corrupt-length');
    const store = new FileStore({ dir });
    stores.push(store);
    const app = http(makeApp({ store }, routes));
    const first = await app.get('/count').expect(200, { views: 1 });
    const cookie = cookiePair(first);
    await app.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
    await corruptLength(dir, length);

    const before = process.memoryUsage().arrayBuffers;
    const response = await app.get('/count').set('Cookie', cookie);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ views: 1 });
    // The length is checked against the file's size before anything is allocated for the data.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 30);
    expect(await store.prune()).toBe(1);
    expect((await readdir(dir)).filter((entry) => entry.endsWith('.sess'))).toHaveLength(1);
  });
});
