/**
 * Today's code still reads what earlier releases stored: every committed fixture under
 * `__tests__/fixtures/formats/` (envelopes, a FileStore session file, a sealed cookie), read back
 * through session() on a real app. A format change that breaks one fails here; a new format adds
 * fixtures with `generate.ts` beside the old ones, which must keep passing.
 */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestId } from '../../src/id.js';
import { getSession } from '../../src/index.js';
import type { Store } from '../../src/store.js';
import { CookieStore } from '../../stores/cookie.js';
import { FileStore } from '../../stores/file.js';
import { MemoryStore } from '../../stores/memory.js';
import {
  CARRIED,
  COOKIE_NAME,
  COOKIE_SECRET,
  CREATED,
  ENVELOPE_CASES,
  EXPIRES,
  FILE_OWNER,
  fixturesOf,
  type EnvelopeCase,
} from '../fixtures/formats/spec.js';
import { client, closeStores, cookiePair, makeApp, track } from '../helpers/app.js';
import { removeTempDirs, tempDir } from '../helpers/file-store.js';
import { sameAfterRoundTrip } from '../helpers/serializer-equality.js';

const dir = join(import.meta.dirname, '../fixtures/formats');
const names = await readdir(dir);
const HOUR_MS = 3_600_000;
/** The app's maxAge, which a session with no maxAge of its own follows. */
const APP_MAX_AGE = 2 * HOUR_MS;

const envelopes = fixturesOf(names, /^envelope-v(\d+)-[\w-]+\.hex$/).map((fixture) => ({
  ...fixture,
  serializer: /^envelope-v\d+-([\w-]+)\.hex$/.exec(fixture.name)![1]!,
}));
const files = fixturesOf(names, /^file-v(\d+)-session\.sess$/);
const cookies = fixturesOf(names, /^cookie-v(\d+)-sealed\.txt$/);

const hex = async (name: string): Promise<Buffer> => Buffer.from((await readFile(join(dir, name), 'utf8')).trim(), 'hex');
const text = async (name: string): Promise<string> => (await readFile(join(dir, name), 'utf8')).trim();

/** An app on `store` whose `/start` makes a session and whose `/read` says whether it holds the case's data. */
function appFor(store: Store | CookieStore, envelope: EnvelopeCase) {
  return client(
    makeApp(
      { store, serializer: envelope.serializer, maxAge: APP_MAX_AGE },
      {
        '/start': async (ctx: Context) => {
          (await getSession(ctx)).set('placeholder', 1);
          ctx.body = 'started';
        },
        '/read': async (ctx: Context) => {
          const s = await getSession(ctx);
          ctx.body = { same: sameAfterRoundTrip(envelope.data(), s.toJSON(), envelope.rules), created: s.created, maxAge: s.maxAge };
        },
      },
    ),
  );
}

/** The digest a store files a response's session under (the id before the `.mac`). */
const digestOf = (cookie: string): string => digestId(cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!);

afterAll(async () => {
  await closeStores();
  await removeTempDirs();
});

it('has a fixture of every kind committed', () => {
  expect(new Set(envelopes.map((e) => e.serializer))).toEqual(new Set(Object.keys(ENVELOPE_CASES)));
  expect(files.length).toBeGreaterThan(0);
  expect(cookies.length).toBeGreaterThan(0);
});

describe('the stored envelope', () => {
  it.each(envelopes)('reads $name through session(): the data, created and maxAge', async ({ name, serializer }) => {
    const envelope = ENVELOPE_CASES[serializer]!;
    const store = track(new MemoryStore());
    const app = appFor(store, envelope);
    const cookie = cookiePair(await app.get('/start').expect(200));
    await store.update(digestOf(cookie), { data: await hex(name), expires: Date.now() + HOUR_MS });
    const read = await app.get('/read').set('Cookie', cookie).expect(200);
    expect(read.body).toEqual({ same: true, created: CREATED, maxAge: envelope.maxAge ?? APP_MAX_AGE });
  });

  // Format 1, as src/envelope.ts lays it out: version, name length, name, created and maxAge (f64 BE), data.
  it.each(envelopes.filter((e) => e.version === 1))('lays out $name as format 1', async ({ name, serializer }) => {
    const bytes = await hex(name);
    const tag = serializer.length;
    expect([bytes[0], bytes[1], bytes.subarray(2, 2 + tag).toString('ascii')]).toEqual([1, tag, serializer]);
    expect(bytes.readDoubleBE(2 + tag)).toBe(CREATED);
    expect(bytes.readDoubleBE(2 + tag + 8)).toBe(ENVELOPE_CASES[serializer]!.maxAge ?? -1);
    const { serializer: codec, data, rules } = ENVELOPE_CASES[serializer]!;
    expect(sameAfterRoundTrip(data(), codec.deserialize(bytes.subarray(2 + tag + 16)), rules)).toBe(true);
  });
});

describe('the FileStore session file', () => {
  it.each(files)('reads $name: the header through FileStore, the session through session()', async ({ name, version }) => {
    const fileDir = await tempDir('formats');
    const store = track(new FileStore({ dir: fileDir }));
    const app = appFor(store, ENVELOPE_CASES[CARRIED]!);
    const cookie = cookiePair(await app.get('/start').expect(200));
    await copyFile(join(dir, name), join(fileDir, `${digestOf(cookie)}.sess`));

    expect((await readFile(join(dir, name))).subarray(0, 5)).toEqual(Buffer.from([...Buffer.from('KSKF'), version]));
    const record = await store.get(digestOf(cookie));
    expect([record?.expires, record?.version]).toEqual([EXPIRES, 1]);
    // Format 1 predates owners: its sessions have none.
    expect(record?.owner).toBe(version >= 2 ? FILE_OWNER : undefined);
    const read = await app.get('/read').set('Cookie', cookie).expect(200);
    expect(read.body).toMatchObject({ same: true, created: CREATED });
  });

  // Format 2, as stores/file/header.ts lays it out: format 1's header with the owner's length at 28-29, the owner, the data.
  it.each(files.filter((f) => f.version === 2))('lays out $name as format 2: the owner between header and data', async ({ name }) => {
    const bytes = await readFile(join(dir, name));
    const owner = Buffer.from(FILE_OWNER, 'utf8');
    expect([bytes.readDoubleLE(8), bytes.readDoubleLE(16), bytes.readUInt16LE(28), bytes.readUInt16LE(30)]).toEqual([
      EXPIRES,
      1,
      owner.length,
      0,
    ]);
    expect(bytes.subarray(32, 32 + owner.length)).toEqual(owner);
    const envelope = await hex(envelopes.find((e) => e.version === 1 && e.serializer === CARRIED)!.name);
    expect(bytes.readUInt32LE(24)).toBe(envelope.length);
    expect(bytes.subarray(32 + owner.length)).toEqual(envelope);
  });
});

describe('the sealed cookie', () => {
  it.each(cookies)('opens $name, whose first byte is its format version, with the key it was sealed with', async ({ name, version }) => {
    const value = await text(name);
    expect(Buffer.from(value, 'base64url')[0]).toBe(version);
    const opened = new CookieStore({ keys: [COOKIE_SECRET] }).open(value, Date.now(), COOKIE_NAME);
    // Format 1 binds no cookie name: it opens for a transition, marked for a reseal in the current format.
    expect(opened).toMatchObject({ expires: EXPIRES, stale: version === 1 });

    const app = appFor(new CookieStore({ keys: [COOKIE_SECRET] }), ENVELOPE_CASES[CARRIED]!);
    const read = await app.get('/read').set('Cookie', `koa.sid=${value}`).expect(200);
    expect(read.body).toMatchObject({ same: true, created: CREATED });
  });

  // Formats 1 and 2, as stores/cookie.ts lays them out: version, key id (4), IV (12), sealed expiry (8) and
  // data, GCM tag (16). Format 2 differs in what GCM authenticates besides: the cookie name, never stored.
  it.each(cookies.filter((c) => c.version <= 2))('lays out $name as formats 1 and 2 do, sealing the envelope bytes', async ({ name }) => {
    const value = await text(name);
    const carried = envelopes.find((e) => e.version === 1 && e.serializer === CARRIED)!;
    const envelope = await hex(carried.name);
    expect(Buffer.from(value, 'base64url')).toHaveLength(1 + 4 + 12 + 8 + envelope.length + 16);
    const opened = new CookieStore({ keys: [COOKIE_SECRET] }).open(value, Date.now(), COOKIE_NAME);
    expect(Buffer.from(opened!.data)).toEqual(envelope);
  });

  it.each(cookies.filter((c) => c.version >= 2))('opens $name under no cookie name but its own', async ({ name }) => {
    const store = new CookieStore({ keys: [COOKIE_SECRET] });
    for (const other of ['admin.sid', `${COOKIE_NAME}.sig`, COOKIE_NAME.toUpperCase()]) {
      expect(store.open(await text(name), Date.now(), other)).toBeUndefined();
    }
  });

  it('opens no fixture under another key, so the fixture really is sealed', async () => {
    const other = new CookieStore({ keys: ['another secret of at least thirty-two characters'] });
    for (const { name } of cookies) expect(other.open(await text(name), Date.now(), COOKIE_NAME)).toBeUndefined();
  });
});
