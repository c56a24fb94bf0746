/** koa-csrf 5 on the `ctx.session` view, over HTTP: a form's POST needs the token the form rendered. */

import { describe, expect, it } from '@jest/globals';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import CSRF from 'koa-csrf';
import { session } from '../../src/index.js';
import { client as http, cookiePair } from '../helpers/app.js';

/** A form protected by koa-csrf, as its README sets it up; `ctxSession` decides whether koa-csrf sees a session. */
function csrfApp(ctxSession: boolean): Koa {
  const app = new Koa();
  app.keys = ['csrf-test-key-2026-32-characters-at-least'];
  app.silent = true;
  app.use(session({ ctxSession }));
  app.use(bodyParser());
  app.use(new CSRF());
  const router = new Router();
  router.get('/note', (ctx) => {
    ctx.type = 'html';
    ctx.body = `<form method="post" action="/note"><input type="hidden" name="_csrf" value="${ctx.state._csrf}"><input name="note"></form>`;
  });
  router.post('/note', (ctx) => {
    ctx.body = `saved: ${(ctx.request.body as { note: string }).note}`;
  });
  app.use(router.routes());
  return app;
}

/** Renders the form; its session cookie and the token it carries. */
async function renderForm(app: ReturnType<typeof http>): Promise<{ cookie: string; token: string }> {
  const page = await app.get('/note').expect(200);
  const token = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
  if (token === undefined) throw new Error(`the form carried no token: ${page.text}`);
  return { cookie: cookiePair(page), token };
}

describe('koa-csrf with session({ ctxSession: true })', () => {
  const app = http(csrfApp(true));

  it('refuses a form POST without the token with 403', async () => {
    const { cookie } = await renderForm(app);
    const refused = await app.post('/note').set('Cookie', cookie).type('form').send({ note: 'hi' }).expect(403);
    expect(refused.text).toBe('Invalid CSRF token');
  });

  it('accepts the POST carrying the token from the form it rendered, in the body or a header', async () => {
    const { cookie, token } = await renderForm(app);
    await app.post('/note').set('Cookie', cookie).type('form').send({ _csrf: token, note: 'hi' }).expect(200, 'saved: hi');
    await app
      .post('/note')
      .set('Cookie', cookie)
      .set('X-CSRF-Token', token)
      .type('form')
      .send({ note: 'again' })
      .expect(200, 'saved: again');
  });

  it('refuses a token rendered for another session', async () => {
    const mine = await renderForm(app);
    const theirs = await renderForm(app);
    await app.post('/note').set('Cookie', mine.cookie).type('form').send({ _csrf: theirs.token, note: 'hi' }).expect(403);
  });

  it('refuses a POST from a client that has no session cookie at all', async () => {
    const { token } = await renderForm(app);
    await app.post('/note').type('form').send({ _csrf: token, note: 'hi' }).expect(403);
  });
});

describe('koa-csrf without the view (why an app using it needs ctxSession)', () => {
  it('lets a POST without any token through: koa-csrf finds no ctx.session and checks nothing', async () => {
    const app = http(csrfApp(false));
    const page = await app.get('/note').expect(200);
    expect(page.text).toContain('value="undefined"');
    await app.post('/note').type('form').send({ note: 'forged' }).expect(200, 'saved: forged');
  });
});
