/** session() on CookieStore through Koa: core behaviour, rotation, the size guard, replay and bad cookies. */

import { describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { getSession, isCookieTooLargeError, MAX_COOKIE_BYTES } from '../../../src/index.js';
import { CookieStore } from '../../../stores/cookie.js';
import { client as http, cookiePair, cookieValue, makeApp, setCookies, sleep } from '../../helpers/app.js';
import { describeSessionBehaviour, sessionRoutes } from '../shared/behaviour.js';

/** The cookie name every value here is sealed for (the default, as session() passes it). */
const NAME = 'koa.sid';

const SECRET_A = 'app-secret-a-0123456789-0123456789-abcd';
const SECRET_B = 'app-secret-b-0123456789-0123456789-abcd';
const SECRET_C = 'app-secret-c-0123456789-0123456789-abcd';

const routes = {
  ...sessionRoutes,
  '/big': async (ctx: Context) => {
    (await getSession(ctx)).set('blob', 'x'.repeat(Number(ctx.query.n)));
    ctx.body = 'stored';
  },
  '/logout': async (ctx: Context) => {
    (await getSession(ctx)).invalidate();
    ctx.body = 'bye';
  },
};

const appWith = (keys: string[], maxAge?: number) =>
  http(makeApp({ store: new CookieStore({ keys }), ...(maxAge === undefined ? {} : { maxAge }) }, routes));

describeSessionBehaviour('CookieStore', { make: async () => new CookieStore({ keys: [SECRET_A] }), serverSide: false });

describe('CookieStore key rotation under session()', () => {
  it('reseals a cookie sealed with an older key in the same response, keeping its data and expiry', async () => {
    const cookie = cookieValue(await appWith([SECRET_A]).get('/count').expect(200, { views: 1 }));
    const opened = new CookieStore({ keys: [SECRET_A] }).open(cookie, Date.now(), NAME)!;

    const read = await appWith([SECRET_B, SECRET_A]).get('/read').set('Cookie', `koa.sid=${cookie}`).expect(200, { views: 1 });
    const resealed = cookieValue(read);
    expect(resealed).not.toBe(cookie);
    const reopened = new CookieStore({ keys: [SECRET_B] }).open(resealed, Date.now(), NAME);
    expect(reopened?.stale).toBe(false);
    expect(reopened?.expires).toBe(opened.expires); // rotation never stretches a session's life
    expect(new CookieStore({ keys: [SECRET_A] }).open(resealed, Date.now(), NAME)).toBeUndefined();

    await appWith([SECRET_B]).get('/count').set('Cookie', `koa.sid=${resealed}`).expect(200, { views: 2 });
  });

  it('sends no cookie on a read when the newest key sealed it', async () => {
    const app = appWith([SECRET_B, SECRET_A]);
    const cookie = cookiePair(await app.get('/count'));
    expect(setCookies(await app.get('/read').set('Cookie', cookie).expect(200))).toEqual([]);
  });
});

describe('CookieStore size guard under session()', () => {
  it('answers 500 with no cookie for a session over 4096 bytes, and the previous cookie still works', async () => {
    const koa = makeApp({ store: new CookieStore({ keys: [SECRET_A] }) }, routes);
    const errors: unknown[] = [];
    koa.on('error', (error: unknown) => errors.push(error));
    const app = http(koa);
    const cookie = cookiePair(await app.get('/count').expect(200, { views: 1 }));

    const refused = await app.get('/big?n=4000').set('Cookie', cookie).expect(500);
    expect(refused.text).toBe('Internal Server Error');
    expect(setCookies(refused)).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(isCookieTooLargeError(errors[0])).toBe(true);
    expect(errors[0]).toMatchObject({ limit: MAX_COOKIE_BYTES });
    expect((errors[0] as { size: number }).size).toBeGreaterThan(MAX_COOKIE_BYTES);

    await app.get('/read').set('Cookie', cookie).expect(200, { views: 1 });
  });

  it('accepts a session that fits, with the whole Set-Cookie line within the limit', async () => {
    const app = appWith([SECRET_A]);
    const response = await app.get('/big?n=2500').expect(200);
    expect(setCookies(response)[0]!.length).toBeLessThanOrEqual(MAX_COOKIE_BYTES);
    expect(((await app.get('/read').set('Cookie', cookiePair(response))).body as { blob: string }).blob).toHaveLength(2500);
  });
});

describe('CookieStore expiry and revocation under session()', () => {
  it('starts a fresh session for a cookie replayed after its sealed expiry', async () => {
    const app = appWith([SECRET_A], 300);
    const first = cookiePair(await app.get('/count').expect(200, { views: 1 }));
    const second = cookiePair(await app.get('/count').set('Cookie', first).expect(200, { views: 2 }));
    await sleep(450);
    for (const replayed of [first, second]) {
      await app.get('/count').set('Cookie', replayed).expect(200, { views: 1 });
    }
  });

  it('cannot revoke a copied cookie at logout: it works until it expires (the documented trade-off)', async () => {
    const app = appWith([SECRET_A]);
    const cookie = cookiePair(await app.get('/count'));
    const out = await app.get('/logout').set('Cookie', cookie).expect(200);
    expect(setCookies(out)[0]).toMatch(/^koa\.sid=; Max-Age=0;/);
    await app.get('/read').set('Cookie', cookie).expect(200, { views: 1 });
  });
});

describe('CookieStore bad cookies under session()', () => {
  it('answers every tampered, truncated, foreign, expired or garbage cookie with a fresh session', async () => {
    const app = appWith([SECRET_A]);
    const real = cookieValue(await app.get('/count'));
    const bytes = Buffer.from(real, 'base64url');
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 20] = flipped[bytes.length - 20]! ^ 0x01;
    const foreign = cookieValue(await appWith([SECRET_C]).get('/count'));
    const expired = new CookieStore({ keys: [SECRET_A] }).seal({ data: Buffer.from(bytes), expires: Date.now() - 1 }, NAME);
    const bad = {
      garbage: 'not-a-sealed-cookie',
      empty: '',
      truncated: real.slice(0, -5),
      extended: `${real}AAAA`,
      flipped: flipped.toString('base64url'),
      foreign,
      expired,
      dotted: `${real}.mac`,
    };
    for (const [reason, value] of Object.entries(bad)) {
      const response = await app.get('/count').set('Cookie', `koa.sid=${value}`);
      expect({ reason, status: response.status, body: response.body }).toEqual({ reason, status: 200, body: { views: 1 } });
      expect(cookieValue(response)).not.toBe(value);
    }
  });
});
