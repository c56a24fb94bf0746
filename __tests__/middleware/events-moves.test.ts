/** Lifecycle events for sessions that move: logout and a new login in one request, and every move of a sealed cookie. */

import { afterAll, describe, expect, it } from '@jest/globals';
import type { Context } from 'koa';
import { getSession, type SessionEvent, type SessionOptions } from '../../src/index.js';
import { CookieStore } from '../../stores/cookie.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, track } from '../helpers/app.js';

afterAll(closeStores);

const routes = {
  '/seed': async (ctx: Context) => void ((await getSession(ctx)).set('a', 1), (ctx.body = 'ok')),
  '/relogin': async (ctx: Context) => {
    const s = await getSession(ctx);
    s.invalidate();
    s.set('user', 'bob');
    ctx.body = 'ok';
  },
  '/regenerate': async (ctx: Context) => void ((await getSession(ctx)).regenerate(), (ctx.body = 'ok')),
  '/change': async (ctx: Context) => void ((await getSession(ctx)).set('a', 2), (ctx.body = 'ok')),
};

/** The event types one request emitted, after a seeding request whose events are dropped. */
async function typesOf(options: SessionOptions, path: string): Promise<string[]> {
  const events: SessionEvent[] = [];
  const app = client(makeApp({ ...options, onEvent: (event) => void events.push(event) }, routes));
  const cookie = cookiePair(await app.get('/seed'));
  events.length = 0;
  await app.get(path).set('Cookie', cookie).expect(200);
  return events.map((e) => e.type).filter((type) => type !== 'loaded');
}

describe('events of sessions that move', () => {
  it('invalidate() then new data in one request: invalidated, then created', async () => {
    expect(await typesOf({ store: track(new CountingStore()) }, '/relogin')).toEqual(['invalidated', 'created']);
  });

  describe.each([
    ['/relogin', ['invalidated', 'created']],
    ['/regenerate', ['regenerated']],
    ['/change', ['saved']],
  ])('with CookieStore, %s', (path, expected) => {
    it(`emits ${expected.join(', ')}`, async () => {
      const store = new CookieStore({ keys: ['events-moves-test-secret-0123456789abcdef'] });
      expect(await typesOf({ store }, path)).toEqual(expected);
    });
  });

  it('with CookieStore, a first save: created', async () => {
    const events: SessionEvent[] = [];
    const store = new CookieStore({ keys: ['events-moves-test-secret-0123456789abcdef'] });
    const app = client(makeApp({ store, onEvent: (event) => void events.push(event) }, routes));
    await app.get('/seed').expect(200);
    expect(events.map((e) => e.type)).toEqual(['created']);
  });
});
