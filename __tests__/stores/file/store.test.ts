/** FileStore: the Store contract, restart, file modes, the on-disk format, in-place touch, and its import graph. */

import { afterAll, describe, expect, it } from '@jest/globals';
import { copyFile, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digestId, generateId } from '../../../src/id.js';
import { FileStore } from '../../../stores/file.js';
import { FORMAT_VERSION, encodeHeader } from '../../../stores/file/header.js';
import { removeTempDirs, tempDir } from '../../helpers/file-store.js';
import { describeOwnerContract, describeStoreContract } from '../shared/contract.js';

const HOUR_MS = 3_600_000;
const here = dirname(fileURLToPath(import.meta.url));
const freshId = (): string => digestId(generateId());
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

afterAll(removeTempDirs);

describeStoreContract('FileStore', {
  make: async () => new FileStore({ dir: join(await tempDir('contract'), 'sessions') }),
});

describeStoreContract('FileStore with fsync off', {
  make: async () => new FileStore({ dir: await tempDir('contract-nosync'), fsync: false }),
});

describeOwnerContract('FileStore', {
  make: async () => new FileStore({ dir: join(await tempDir('owner-contract'), 'sessions') }),
});

describe('new FileStore() over a directory another store wrote', () => {
  it('reads every session with its bytes, expiry and version, and carries on writing them', async () => {
    const dir = await tempDir('restart');
    const first = new FileStore({ dir });
    const records = Array.from({ length: 5 }, (_, i) => ({
      id: freshId(),
      data: Uint8Array.from({ length: 100 + i }, (_, j) => (i * 31 + j) & 0xff),
      expires: Date.now() + HOUR_MS + i,
    }));
    for (const record of records) {
      await first.create(record.id, record);
      await first.update(record.id, record, 1);
    }
    await first.close();

    const second = new FileStore({ dir });
    for (const record of records) {
      const got = await second.get(record.id);
      expect(got).toEqual({ data: record.data, expires: record.expires, version: 2 });
      expect(await second.update(record.id, { data: bytes(9), expires: record.expires }, 2)).toBe(3);
      expect(await second.create(record.id, { data: bytes(0), expires: record.expires })).toBe(false);
    }
    await second.close();
  });
});

describe('FileStore file modes', () => {
  it('creates a missing directory 0700, on first write and not before', async () => {
    const dir = join(await tempDir('modes'), 'a', 'b');
    const store = new FileStore({ dir });
    expect(await store.get(freshId())).toBeUndefined();
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    await store.create(freshId(), { data: bytes(1), expires: Date.now() + HOUR_MS });
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    await store.close();
  });

  it('writes every session file 0600, after create, update and touch', async () => {
    const dir = await tempDir('modes-files');
    const store = new FileStore({ dir });
    const ids = [freshId(), freshId(), freshId()];
    for (const id of ids) await store.create(id, { data: bytes(1), expires: Date.now() + HOUR_MS });
    await store.update(ids[1]!, { data: bytes(2), expires: Date.now() + HOUR_MS }, 1);
    await store.touch(ids[2]!, Date.now() + 2 * HOUR_MS);
    const names = await readdir(dir);
    expect(names.sort()).toEqual(ids.map((id) => `${id}.sess`).sort());
    for (const name of names) expect((await stat(join(dir, name))).mode & 0o777).toBe(0o600);
    await store.close();
  });

  it('leaves the mode of an existing directory alone', async () => {
    const dir = await tempDir('modes-existing');
    const before = (await stat(dir)).mode;
    const store = new FileStore({ dir });
    await store.create(freshId(), { data: bytes(1), expires: Date.now() + HOUR_MS });
    expect((await stat(dir)).mode).toBe(before);
    await store.close();
  });
});

describe('FileStore on-disk format', () => {
  it('reads a format-1 file written by hand (the committed fixture), byte for byte', async () => {
    const dir = await tempDir('format');
    const id = freshId();
    await copyFile(join(here, 'fixtures', 'file-v1.sess'), join(dir, `${id}.sess`));
    const store = new FileStore({ dir });
    const got = await store.get(id);
    expect(got).toEqual({
      data: new Uint8Array(Buffer.from('format 1 fixture: \x00\x01\x02\xff bytes kept exactly', 'latin1')),
      expires: 4_102_444_800_000,
      version: 7,
    });
    expect(await store.update(id, { data: bytes(1), expires: got!.expires }, 7)).toBe(8);
    await store.close();
  });

  it('writes a 32-byte header (magic, format 2, expiry, version, lengths) then the data exactly', async () => {
    const dir = await tempDir('format-write');
    const store = new FileStore({ dir });
    const id = freshId();
    const data = bytes(0, 255, 10, 13);
    await store.create(id, { data, expires: 1_900_000_000_123 });
    const file = await readFile(join(dir, `${id}.sess`));
    expect(file.subarray(0, 8)).toEqual(Buffer.from([0x4b, 0x53, 0x4b, 0x46, 2, 0, 0, 0]));
    expect(file.readDoubleLE(8)).toBe(1_900_000_000_123);
    expect(file.readDoubleLE(16)).toBe(1);
    expect(file.readUInt32LE(24)).toBe(4);
    expect(file.readUInt32LE(28)).toBe(0); // no owner: owner length 0, reserved 0
    expect(file.subarray(32)).toEqual(Buffer.from(data));
    await store.close();
  });

  it('reads a file it cannot trust as missing: foreign, truncated, too long, or from a newer format', async () => {
    const dir = await tempDir('format-bad');
    const store = new FileStore({ dir });
    const whole = Buffer.concat([encodeHeader(Date.now() + HOUR_MS, 1, 3), Buffer.from([1, 2, 3])]);
    const newer = Buffer.from(whole);
    newer[4] = FORMAT_VERSION + 1;
    const cases: Record<string, Buffer> = {
      foreign: Buffer.from('{"cookie":{"maxAge":1000},"user":"ada"}'),
      empty: Buffer.alloc(0),
      'header only, data missing': whole.subarray(0, 33),
      'longer than its header says': Buffer.concat([whole, Buffer.from([4])]),
      'newer format': newer,
    };
    for (const [label, content] of Object.entries(cases)) {
      const id = freshId();
      await writeFile(join(dir, `${id}.sess`), content);
      expect([label, await store.get(id)]).toEqual([label, undefined]);
      expect([label, await store.update(id, { data: bytes(1), expires: Date.now() + HOUR_MS })]).toEqual([label, undefined]);
    }
    const control = freshId();
    await writeFile(join(dir, `${control}.sess`), whole);
    expect(await store.get(control)).toEqual({ data: bytes(1, 2, 3), expires: whole.readDoubleLE(8), version: 1 });
    await store.close();
  });

  it('lets create replace a corrupt file but never a file of a newer format', async () => {
    const dir = await tempDir('format-create');
    const store = new FileStore({ dir });
    const corrupt = freshId();
    await writeFile(join(dir, `${corrupt}.sess`), 'garbage');
    expect(await store.create(corrupt, { data: bytes(5), expires: Date.now() + HOUR_MS })).toBe(true);
    expect((await store.get(corrupt))?.data).toEqual(bytes(5));
    const newer = freshId();
    const future = encodeHeader(Date.now() + HOUR_MS, 1, 0);
    future[4] = 9;
    await writeFile(join(dir, `${newer}.sess`), future);
    expect(await store.create(newer, { data: bytes(5), expires: Date.now() + HOUR_MS })).toBe(false);
    expect(await readFile(join(dir, `${newer}.sess`))).toEqual(future);
    await store.close();
  });
});

describe('FileStore#touch()', () => {
  it('rewrites the expiry in place: same file, same data bytes, same version', async () => {
    const dir = await tempDir('touch');
    const store = new FileStore({ dir });
    const id = freshId();
    const path = join(dir, `${id}.sess`);
    await store.create(id, { data: bytes(4, 5, 6), expires: Date.now() + HOUR_MS });
    const before = await stat(path);
    const expires = Date.now() + 5 * HOUR_MS;
    expect(await store.touch(id, expires)).toBe(true);
    const after = await stat(path);
    expect(after.ino).toBe(before.ino);
    expect(after.size).toBe(before.size);
    expect(await store.get(id)).toEqual({ data: bytes(4, 5, 6), expires, version: 1 });
    // An update, by contrast, renames a new file into place.
    await store.update(id, { data: bytes(7), expires }, 1);
    expect((await stat(path)).ino).not.toBe(before.ino);
    await store.close();
  });
});

describe('FileStore#dir', () => {
  it('is the absolute directory, resolved once at construction', () => {
    expect(new FileStore({ dir: 'relative/sessions' }).dir).toBe(resolve('relative/sessions'));
  });
});

describe('import graph of stores/file.ts', () => {
  it('reaches only node: built-ins, its own helpers and the contracts in src/ (never pg or ioredis)', async () => {
    const root = resolve(here, '..', '..', '..');
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = await readFile(file, 'utf8');
      for (const match of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
        const specifier = match[1]!;
        if (specifier.startsWith('.')) await visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
        else external.add(specifier);
      }
    };
    await visit(join(root, 'stores', 'file.ts'));
    for (const specifier of external) expect(specifier).toMatch(/^node:/);
    const local = [...seen].map((file) => file.slice(root.length + 1)).sort();
    expect(
      local.every(
        (file) =>
          /^stores\/file(\.ts|\/[a-z]+\.ts)$/.test(file) ||
          ['src/errors.ts', 'src/store.ts', 'src/option-checks.ts', 'src/keyed-queue.ts', 'src/prune-timer.ts'].includes(file),
      ),
    ).toBe(true);
    expect(local).toContain('src/errors.ts');
  });
});
