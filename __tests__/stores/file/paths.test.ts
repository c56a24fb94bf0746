/** FileStore and ids shaped like paths: refused before any file is touched, inside or outside `dir`. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSessionStoreError } from '../../../src/errors.js';
import { FileStore } from '../../../stores/file.js';
import { removeTempDirs, tempDir } from '../../helpers/file-store.js';

const HOUR_MS = 3_600_000;

describe('FileStore with ids that look like paths', () => {
  let root: string;
  let dir: string;
  let store: FileStore;
  let victim: string;

  beforeAll(async () => {
    root = await tempDir('paths');
    dir = join(root, 'sessions');
    victim = join(root, 'victim.sess');
    await writeFile(victim, 'do not touch');
    store = new FileStore({ dir });
  });

  afterAll(async () => {
    await store.close();
    await removeTempDirs();
  });

  // 43 characters where it matters, so only the character check can stop them.
  const hostile: Record<string, unknown> = {
    'dot-dot slash': '../x',
    'dot-dot slash, padded to 43': `../${'A'.repeat(40)}`,
    'dot-dot to a sibling file': '../victim',
    'encoded slashes': '..%2F..%2Fvictim',
    'encoded dots and slashes': '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    'absolute path': '/etc/passwd',
    'absolute path, padded to 43': `/tmp/${'B'.repeat(38)}`,
    backslashes: '..\\..\\victim',
    'NUL byte': `${'A'.repeat(20)}\0${'A'.repeat(22)}`,
    'trailing newline': `${'A'.repeat(42)}\n`,
    dot: '.',
    'dot-dot': '..',
    empty: '',
    '44 characters': 'A'.repeat(44),
    '42 characters': 'A'.repeat(42),
    'padding character': `${'A'.repeat(42)}=`,
    'non-ASCII letter': `${'A'.repeat(42)}\u00c5`,
    'not a string': 42,
  };

  for (const [label, id] of Object.entries(hostile)) {
    it(`reads ${label} as missing and refuses to write it, touching no file`, async () => {
      const hostileId = id as string; // deliberately not always a string: the store must cope
      const record = { data: new Uint8Array([1]), expires: Date.now() + HOUR_MS };
      expect(await store.get(hostileId)).toBeUndefined();
      const writes: [string, () => Promise<unknown>][] = [
        ['create', () => store.create(hostileId, record)],
        ['update', () => store.update(hostileId, record)],
        ['update', () => store.update(hostileId, record, 1)],
        ['touch', () => store.touch(hostileId, Date.now() + HOUR_MS)],
        ['destroy', () => store.destroy(hostileId)],
      ];
      for (const [operation, attempt] of writes) {
        const error: unknown = await attempt().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isSessionStoreError(error)).toBe(true);
        expect(error).toMatchObject({ operation, code: 'ERR_SESSION_STORE' });
      }
      // The store creates `dir` on its first write: it still does not exist, so no write reached the disk.
      await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
      expect((await readdir(root)).sort()).toEqual(['victim.sess']);
      expect(await readFile(victim, 'utf8')).toBe('do not touch');
    });
  }

  it('still stores a valid id made only of the base64url punctuation', async () => {
    const id = `-_${'-'.repeat(41)}`;
    expect(await store.create(id, { data: new Uint8Array([7]), expires: Date.now() + HOUR_MS })).toBe(true);
    expect(await readdir(dir)).toEqual([`${id}.sess`]);
    expect((await store.get(id))?.data).toEqual(new Uint8Array([7]));
  });
});
