/** grant (OAuth) on the `ctx.session` view, over HTTP: the connect step's state kept in the session, checked at the callback. */

import { afterAll, describe, expect, it } from '@jest/globals';
import Router from '@koa/router';
import grant from 'grant';
import Koa from 'koa';
import { session } from '../../src/index.js';
import { digestId } from '../../src/id.js';
import { client as http, cookiePair, setCookies } from '../helpers/app.js';
import { MemoryStore } from '../../stores/memory.js';

const store = new MemoryStore();
afterAll(() => store.close());

/** GitHub through grant, as its README sets it up for Koa; the response goes to the session (`transport: 'session'`). */
function grantApp(ctxSession = true): Koa {
  const app = new Koa();
  app.keys = ['grant-test-key-2026-32-characters-at-least'];
  app.silent = true;
  app.use(session({ store, ctxSession }));
  app.use(
    grant.default.koa({
      defaults: { origin: 'http://localhost:3000', transport: 'session', state: true, pkce: true },
      github: { key: 'client-id-123', secret: 'client-secret-456', scope: ['read:user'], callback: '/signed-in' },
    }),
  );
  const router = new Router();
  router.get('/signed-in', (ctx) => {
    ctx.body = { grant: ctx.session!.grant ?? null };
  });
  app.use(router.routes());
  return app;
}

describe('grant with session({ ctxSession: true })', () => {
  const app = http(grantApp());

  it('redirects GET /connect/github to GitHub with an OAuth state, and keeps that state in the session', async () => {
    const connect = await app.get('/connect/github').expect(302);
    const location = new URL(connect.headers.location!);
    expect(`${location.origin}${location.pathname}`).toBe('https://github.com/login/oauth/authorize');
    expect(location.searchParams.get('client_id')).toBe('client-id-123');
    expect(location.searchParams.get('redirect_uri')).toBe('http://localhost:3000/connect/github/callback');
    const state = location.searchParams.get('state');
    expect(state).toMatch(/^[0-9a-f]{40}$/);

    const cookie = cookiePair(connect);
    const stored = await store.get(digestId(cookie.slice(cookie.indexOf('=') + 1).split('.')[0]!));
    expect(stored).toBeDefined();
    const seen = await app.get('/signed-in').set('Cookie', cookie).expect(200);
    // PKCE's verifier stays server-side too; `response` is what the session transport keeps of this step.
    expect(seen.body.grant).toEqual({
      provider: 'github',
      state,
      code_verifier: expect.stringMatching(/^[\w-]{43,}$/),
      response: connect.headers.location,
    });
  });

  it('refuses a callback whose state is not the one in the session, before any call to GitHub', async () => {
    const cookie = cookiePair(await app.get('/connect/github').expect(302));
    const callback = await app.get('/connect/github/callback?code=stolen-code&state=forged').set('Cookie', cookie).expect(302);
    expect(callback.headers.location).toBe('/signed-in');
    const seen = await app.get('/signed-in').set('Cookie', cookie).expect(200);
    expect(seen.body.grant.response).toEqual({ error: 'Grant: OAuth2 state mismatch' });
  });

  it('refuses a callback from a browser that never went through the connect step', async () => {
    const callback = await app.get('/connect/github/callback?code=stolen-code&state=forged').expect(302);
    expect(callback.headers.location).toBe(`/?error=${encodeURIComponent('Grant: missing session or misconfigured provider')}`);
    const seen = await app.get('/signed-in').set('Cookie', cookiePair(callback)).expect(200);
    expect(seen.body.grant).toEqual({});
  });
});

describe('grant without the view', () => {
  it('answers 400 "mount session middleware first": grant finds no ctx.session', async () => {
    const connect = await http(grantApp(false)).get('/connect/github').expect(400);
    expect(connect.text).toBe('Grant: mount session middleware first');
    expect(setCookies(connect)).toEqual([]);
  });
});
