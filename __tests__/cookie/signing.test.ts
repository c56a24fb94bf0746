import { afterAll, describe, expect, it } from '@jest/globals';
import Keygrip from 'keygrip';
import { createHmac } from 'node:crypto';
import { getSession, session } from '../../src/index.js';
import { client, closeStores, cookiePair, cookieValue, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';

const routes = {
  '/set': async (ctx: import('koa').Context) => {
    (await getSession(ctx)).set('n', 1);
    ctx.body = 'ok';
  },
  '/read': async (ctx: import('koa').Context) => void (ctx.body = { n: (await getSession(ctx)).get('n') ?? null }),
};

describe('the id cookie', () => {
  afterAll(closeStores);

  it('is id.mac: a 43-character base64url id and its HMAC-SHA256 over name=id with the first key', async () => {
    const value = cookieValue(
      await client(
        makeApp({ store: track(new CountingStore()) }, routes, [
          'first-0123456789abcdefghijklmnopqrstuv',
          'second-0123456789abcdefghijklmnopqrstuv',
        ]),
      ).get('/set'),
    );
    const [id, mac] = value.split('.') as [string, string];
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(mac).toBe(createHmac('sha256', 'first-0123456789abcdefghijklmnopqrstuv').update(`koa.sid=${id}`).digest('base64url'));
  });

  it('prefers options.keys over app.keys', async () => {
    const app = makeApp({ store: track(new CountingStore()), keys: ['option-key-0123456789abcdefghijklmnopqrstuv'] }, routes, [
      'app-key-0123456789abcdefghijklmnopqrstuv',
    ]);
    const [id, mac] = cookieValue(await client(app).get('/set')).split('.') as [string, string];
    expect(mac).toBe(createHmac('sha256', 'option-key-0123456789abcdefghijklmnopqrstuv').update(`koa.sid=${id}`).digest('base64url'));
  });

  it('is the bare id when there are no keys', async () => {
    const app = makeApp({ store: track(new CountingStore()) }, routes, null);
    const res = await client(app).get('/set');
    expect(cookieValue(res)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await client(app).get('/read').set('Cookie', cookiePair(res)).expect(200, { n: 1 });
  });

  it('never repeats an id', async () => {
    const app = makeApp({ store: track(new CountingStore()) }, routes);
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) ids.add(cookieValue(await client(app).get('/set')).split('.')[0]!);
    expect(ids.size).toBe(50);
  });

  it('accepts a cookie signed with an older key and re-signs it with the newest, attributes kept', async () => {
    const store = track(new CountingStore());
    const old = makeApp({ store }, routes, ['2025-key-0123456789abcdefghijklmnopqrstuv']);
    const cookie = cookiePair(await client(old).get('/set'));
    const rotated = makeApp({ store }, routes, ['2026-key-0123456789abcdefghijklmnopqrstuv', '2025-key-0123456789abcdefghijklmnopqrstuv']);
    const res = await client(rotated).get('/read').set('Cookie', cookie).expect(200, { n: 1 });
    const [line] = setCookies(res);
    const [id, mac] = cookieValue(res).split('.') as [string, string];
    expect(id).toBe(cookie.slice('koa.sid='.length).split('.')[0]);
    expect(mac).toBe(createHmac('sha256', '2026-key-0123456789abcdefghijklmnopqrstuv').update(`koa.sid=${id}`).digest('base64url'));
    expect(line).toMatch(/; Max-Age=\d+; Expires=.+; Path=\/; HttpOnly; SameSite=Lax$/);
    // The re-signed cookie now needs no old key, and is not re-sent again.
    const again = await client(makeApp({ store }, routes, ['2026-key-0123456789abcdefghijklmnopqrstuv']))
      .get('/read')
      .set('Cookie', cookiePair(res))
      .expect(200, { n: 1 });
    expect(setCookies(again)).toEqual([]);
  });

  it('forgets the cookies it verified once app.keys is replaced: a value signed by a key no longer listed is refused', async () => {
    const oldKey = '2025-key-0123456789abcdefghijklmnopqrstuv';
    const newKey = '2026-key-0123456789abcdefghijklmnopqrstuv';
    const app = makeApp({ store: track(new CountingStore()) }, routes, [oldKey]);
    const cookie = cookiePair(await client(app).get('/set'));
    await client(app).get('/read').set('Cookie', cookie).expect(200, { n: 1 });
    app.keys = [newKey];
    await client(app).get('/read').set('Cookie', cookie).expect(200, { n: null });
    app.keys = [newKey, oldKey];
    const res = await client(app).get('/read').set('Cookie', cookie).expect(200, { n: 1 });
    expect(cookieValue(res).split('.')[1]).toBe(
      createHmac('sha256', newKey)
        .update(`koa.sid=${cookie.slice('koa.sid='.length).split('.')[0]}`)
        .digest('base64url'),
    );
  });

  it('does not adopt a well-formed id the store does not know: the next save issues a new id', async () => {
    const store = track(new CountingStore());
    const app = makeApp({ store }, routes, null);
    const planted = 'A'.repeat(43);
    const res = await client(app).get('/set').set('Cookie', `koa.sid=${planted}`).expect(200);
    expect(cookieValue(res)).not.toBe(planted);
    expect(store.calls.get).toBe(1);
  });
});

describe('keys too short, or in a form the signer cannot use', () => {
  afterAll(closeStores);

  /** The app's answer to /set and the errors Koa reported for it. */
  async function answer(keys: string[] | Keygrip): Promise<{ status: number; cookies: string[]; errors: string[] }> {
    const app = makeApp({ store: track(new CountingStore()) }, routes, null);
    app.keys = keys;
    const errors: string[] = [];
    app.on('error', (error: Error) => errors.push(`${error.name}: ${error.message}`));
    const res = await client(app).get('/set');
    return { status: res.status, cookies: setCookies(res), errors };
  }

  it('refuses `keys` shorter than 32 characters or bytes at session() time, never printing the key', () => {
    expect(() => session({ keys: ['x'] })).toThrow(
      new RangeError('koa-session-kit: `keys[0]` must be at least 32 characters (received 1 character)'),
    );
    expect(() => session({ keys: ['k'.repeat(32), 'short-older-key'] })).toThrow(
      new RangeError('koa-session-kit: `keys[1]` must be at least 32 characters (received 15 characters)'),
    );
    expect(() => session({ keys: [new Uint8Array(16)] })).toThrow(
      new RangeError('koa-session-kit: `keys[0]` must be at least 32 bytes (received 16 bytes)'),
    );
    expect(() => session({ keys: ['k'.repeat(32), new Uint8Array(32)] })).not.toThrow();
  });

  it('answers 500 with no cookie for short app.keys, and tells the app which key and how long', async () => {
    const { status, cookies, errors } = await answer(['app-key']);
    expect(status).toBe(500);
    expect(cookies).toEqual([]);
    expect(errors).toEqual(['RangeError: koa-session-kit: `app.keys[0]` must be at least 32 characters (received 7 characters)']);
  });

  it('answers 500 for app.keys as a Keygrip, telling the app to set the array itself', async () => {
    const { status, cookies, errors } = await answer(new Keygrip(['k'.repeat(40)]));
    expect(status).toBe(500);
    expect(cookies).toEqual([]);
    expect(errors).toEqual([
      'TypeError: koa-session-kit: `app.keys` must be a non-empty array of strings, newest first; a Keygrip hides its keys, ' +
        'so set `app.keys` to the array you gave it (received Keygrip)',
    ]);
  });
});
