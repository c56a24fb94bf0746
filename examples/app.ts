/** The example app's routes, shared by every example: only the store and serializer differ. */

import Koa from 'koa';
import Router from '@koa/router';
import { getSession, newSession, session, type SessionOptions } from '../src/index.js';

type ExampleSession = { views: number; user?: string };

const page = (title: string, body: string): string =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1>${body}` +
  '<p><a href="/">home</a> · <a href="/login?user=ada">log in as ada</a> · ' +
  '<a href="/login?user=ada&remember=1">log in, remember me 30 days</a> · <a href="/logout">log out</a> · <a href="/session">show session</a></p>';

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A Koa app with the example routes on `session(options)`. */
export function createExampleApp(options: SessionOptions = {}): Koa {
  const app = new Koa();
  // Demo keys: in a real app, load them from the environment and rotate them (newest first).
  app.keys = [process.env.SESSION_KEY ?? 'example-only-key-change-me-2026-32-characters-at-least'];
  app.use(session(options));

  const router = new Router();
  router.get('/', async (ctx) => {
    const s = await getSession<ExampleSession>(ctx);
    s.set('views', (s.get('views') ?? 0) + 1);
    const who = s.get('user');
    ctx.body = page(
      'koa-session-kit',
      `<p>${who ? `Hello, ${escape(who)}.` : 'Not logged in.'} Visits in this session: <b id="views">${s.get('views')}</b></p>`,
    );
  });
  router.get('/login', async (ctx) => {
    // A fresh id at login: any id planted before it (session fixation) is worthless after it.
    const s = await newSession<ExampleSession>(ctx);
    s.set('user', String(ctx.query.user ?? 'guest')).set('views', 0);
    if (ctx.query.remember) s.maxAge = 30 * 86_400_000;
    ctx.redirect('/');
  });
  router.get('/logout', async (ctx) => {
    (await getSession(ctx)).invalidate();
    ctx.redirect('/');
  });
  router.get('/session', async (ctx) => {
    const s = await getSession<ExampleSession>(ctx);
    ctx.body = {
      identity: s.identity ?? null,
      isNew: s.isNew,
      created: new Date(s.created).toISOString(),
      maxAgeMs: s.maxAge,
      data: s.toJSON(),
    };
  });
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/** Listens on PORT (default 3000) and prints the URL. */
export function listen(app: Koa, label: string): void {
  const port = Number(process.env.PORT ?? 3000);
  const server = app.listen(port, () => {
    console.log(`koa-session-kit example (${label}) listening on http://localhost:${port}/`);
  });
  const stop = (): void => void server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
