import { afterAll, describe, expect, it } from '@jest/globals';
import { getSession, session, type CookieOptions } from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';

const routes = {
  '/set': async (ctx: import('koa').Context) => {
    (await getSession(ctx)).set('n', 1);
    ctx.body = 'ok';
  },
  '/logout': async (ctx: import('koa').Context) => {
    (await getSession(ctx)).invalidate();
    ctx.body = 'ok';
  },
};

async function lines(cookie: CookieOptions, options: { proxy?: boolean; https?: boolean } = {}): Promise<[string, string]> {
  const app = makeApp({ store: track(new CountingStore()), cookie }, routes);
  app.proxy = options.proxy ?? false;
  const proto = options.https ? 'https' : 'http';
  const set = await client(app).get('/set').set('X-Forwarded-Proto', proto);
  const out = await client(app).get('/logout').set('Cookie', cookiePair(set, cookie.name)).set('X-Forwarded-Proto', proto);
  return [setCookies(set)[0]!, setCookies(out)[0]!];
}

describe('session cookie attributes', () => {
  afterAll(closeStores);

  it('defaults to Path=/, HttpOnly, SameSite=Lax and a Max-Age equal to maxAge', async () => {
    const [line] = await lines({});
    expect(line).toMatch(
      /^koa\.sid=[\w-]{43}\.[\w-]{43}; Max-Age=86400; Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    const expires = Date.parse(/Expires=([^;]+)/.exec(line)![1]!);
    expect(Math.abs(expires - (Date.now() + 86_400_000))).toBeLessThan(3000);
  });

  it("adds Secure under secure: 'auto' only when ctx.secure (app.proxy honoured)", async () => {
    expect((await lines({}, { proxy: true, https: true }))[0]).toMatch(/; Secure; SameSite=Lax$/);
    expect((await lines({}, { proxy: false, https: true }))[0]).not.toMatch(/Secure/);
    expect((await lines({ secure: true }))[0]).toMatch(/; Secure/);
  });

  it('writes Domain, Partitioned and Priority when set, and no Max-Age or Expires when not persistent', async () => {
    const [line] = await lines({
      domain: 'example.com',
      partitioned: true,
      priority: 'high',
      persistent: false,
      secure: true,
      sameSite: 'none',
    });
    expect(line).toMatch(/^koa\.sid=[^;]+; Path=\/; Domain=example\.com; HttpOnly; Secure; SameSite=None; Partitioned; Priority=High$/);
  });

  it('clears with the same Path, Domain, SameSite, Secure and HttpOnly', async () => {
    const [, clearing] = await lines({ name: '__Host-sid', secure: true, sameSite: 'strict' });
    expect(clearing).toBe('__Host-sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; Secure; SameSite=Strict');
    const [, other] = await lines({ path: '/app', domain: '.example.com', httpOnly: false, sameSite: false });
    expect(other).toBe('koa.sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/app; Domain=.example.com');
  });
});

describe("secure: 'auto' on plain HTTP for cookies that browsers drop without Secure", () => {
  afterAll(closeStores);

  it.each([
    [{ name: '__Host-sid' }, '__Host-sid'],
    [{ name: '__host-sid' }, '__host-sid'],
    [{ name: '__Secure-sid' }, '__Secure-sid'],
    [{ name: '__SECURE-sid' }, '__SECURE-sid'],
    [{ sameSite: 'none' }, 'koa.sid'],
    [{ partitioned: true }, 'koa.sid'],
  ] as [CookieOptions, string][])('sends Secure anyway for %j, on the cookie and on its clearing', async (cookie, name) => {
    const [set, clearing] = await lines(cookie, { proxy: false, https: false });
    expect(set).toMatch(new RegExp(`^${name}=[^;]+;.*; Secure(;|$)`));
    expect(clearing).toMatch(new RegExp(`^${name}=; Max-Age=0;.*; Secure(;|$)`));
  });

  it("still follows ctx.secure for an ordinary cookie under secure: 'auto'", async () => {
    expect((await lines({ name: 'Host-sid' }))[0]).not.toMatch(/Secure/);
  });
});

describe('session({ cookie }) validation', () => {
  it.each([
    [{ name: 'a;b' }, 'cookie.name'],
    [{ name: 'a b' }, 'cookie.name'],
    [{ name: 'a\r\nSet-Cookie: x' }, 'cookie.name'],
    [{ name: '' }, 'cookie.name'],
    [{ domain: 'example.com; Secure' }, 'cookie.domain'],
    [{ domain: 'exa mple.com' }, 'cookie.domain'],
    [{ path: '/a;b' }, 'cookie.path'],
    [{ path: 'relative' }, 'cookie.path'],
    [{ path: '/a\nb' }, 'cookie.path'],
    [{ name: '__Host-x', domain: 'example.com' }, 'cookie.domain'],
    [{ name: '__Host-x', path: '/app' }, 'cookie.path'],
    [{ name: '__Host-x', secure: false }, 'cookie.secure'],
    [{ name: '__Secure-x', secure: false }, 'cookie.secure'],
    [{ sameSite: 'none', secure: false }, 'cookie.secure'],
    [{ partitioned: true, secure: false }, 'cookie.secure'],
    [{ name: '__host-x', domain: 'example.com' }, 'cookie.domain'],
    [{ name: '__HOST-x', path: '/app' }, 'cookie.path'],
    [{ name: '__host-x', secure: false }, 'cookie.secure'],
    [{ name: '__secure-x', secure: false }, 'cookie.secure'],
    [{ sameSite: 'loose' }, 'cookie.sameSite'],
    [{ priority: 'urgent' }, 'cookie.priority'],
  ] as [CookieOptions, string][])('refuses %j at session() time, naming %s', (cookie, option) => {
    expect(() => session({ cookie })).toThrow(TypeError);
    expect(() => session({ cookie })).toThrow(`koa-session-kit: \`${option}\` must be`);
  });

  it("refuses an unknown cookie option, pointing express-session's cookie.maxAge at maxAge", () => {
    expect(() => session({ cookie: { maxAge: 1000 } as CookieOptions })).toThrow(
      new TypeError('koa-session-kit: `cookie.maxAge` is not a session() option; did you mean `maxAge` on session() (ms)?'),
    );
    expect(() => session({ cookie: { httponly: true } as CookieOptions })).toThrow(/did you mean `httpOnly`\?/);
    expect(() => session({ cookie: 'koa.sid' as CookieOptions })).toThrow(
      new TypeError('koa-session-kit: `cookie` must be an object (received "koa.sid")'),
    );
  });

  it("accepts a __Host- name with the defaults (Path=/, no Domain, secure 'auto')", () => {
    expect(() => session({ cookie: { name: '__Host-sid' } })).not.toThrow();
  });
});
