/**
 * The example app's routes, shared by every example: only the store and serializer differ. It logs
 * in with passport-local through a POST form and protects every form with koa-csrf, both through
 * the `ctx.session` view (`ctxSession: true`), next to a handler that uses `getSession(ctx)`.
 */

import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import CSRF from 'koa-csrf';
import koaPassport from 'koa-passport';
import passportLocal from 'passport-local';
import { getSession, session, type SessionOptions, type SessionView } from '../src/index.js';

type ExampleSession = { views: number; note: string; messages: string[] };
interface User {
  id: string;
  name: string;
}

/** The demo's only user. A real app keeps password hashes (scrypt, argon2), never passwords. */
const USERS = new Map([['ada', { id: 'ada', name: 'Ada Lovelace', password: 'lovelace' }]]);
const REMEMBER_MS = 30 * 86_400_000;

const escape = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Every form carries koa-csrf's token; a POST without it is answered 403. */
const csrfField = (ctx: Context): string => `<input type="hidden" name="_csrf" value="${escape(ctx.state._csrf)}">`;

const page = (ctx: Context, title: string, body: string): string =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1>${body}` +
  '<p><a href="/">home</a> · ' +
  (ctx.isAuthenticated()
    ? `<form method="post" action="/logout" style="display:inline">${csrfField(ctx)}<button>log out</button></form>`
    : '<a href="/login">log in</a>') +
  ' · <a href="/session">show session</a></p>';

/** The view, typed with this app's data (the session middleware runs before every route). */
function sessionOf(ctx: Context): SessionView<ExampleSession> {
  if (ctx.session === undefined) throw new Error('session({ ctxSession: true }) must run before the routes');
  // The view is untyped until an app declares SessionTypes; this example keeps its type local.
  return ctx.session as SessionView<ExampleSession>;
}

/** A Koa app with the example routes on `session(options)`. */
export function createExampleApp(options: SessionOptions = {}): Koa {
  const app = new Koa();
  // Demo keys: in a real app, load them from the environment and rotate them (newest first).
  app.keys = [process.env.SESSION_KEY ?? 'example-only-key-change-me-2026-32-characters-at-least'];

  const passport = new koaPassport.KoaPassport();
  passport.use(
    new passportLocal.Strategy((username, password, done) => {
      const user = USERS.get(username);
      if (user === undefined || user.password !== password) return done(null, false, { message: 'Wrong username or password.' });
      done(null, { id: user.id, name: user.name });
    }),
  );
  passport.serializeUser((user, done) => done(null, (user as User).id));
  passport.deserializeUser((id: string, done) => {
    const user = USERS.get(id);
    done(null, user === undefined ? false : { id: user.id, name: user.name });
  });

  // The view loads the session before the next middleware: koa-csrf and passport read it synchronously.
  app.use(session({ ...options, ctxSession: true }));
  app.use(bodyParser());
  app.use(new CSRF());
  app.use(passport.initialize());
  app.use(passport.session());

  const router = new Router();
  router.get('/', (ctx) => {
    const s = sessionOf(ctx);
    s.views = (s.views ?? 0) + 1;
    const user = ctx.state.user as User | undefined;
    ctx.body = page(
      ctx,
      'koa-session-kit',
      `<p>${user ? `Hello, ${escape(user.name)}.` : 'Not logged in.'} Visits in this session: <b id="views">${s.views}</b></p>` +
        (user
          ? `<form method="post" action="/note">${csrfField(ctx)}<input name="note" value="${escape(s.note ?? '')}"> <button>save note</button></form>`
          : ''),
    );
  });
  router.get('/login', (ctx) => {
    const s = sessionOf(ctx);
    const messages = s.messages ?? [];
    delete s.messages;
    ctx.body = page(
      ctx,
      'Log in',
      messages.map((m) => `<p class="error">${escape(m)}</p>`).join('') +
        `<form method="post" action="/login">${csrfField(ctx)}` +
        '<label>user <input name="username" value="ada"></label> <label>password <input name="password" type="password"></label> ' +
        '<label><input type="checkbox" name="remember" value="1"> remember me 30 days</label> <button>log in</button>' +
        '</form><p>Demo user: ada, password lovelace.</p>',
    );
  });
  // passport regenerates the session at login (a fresh id: one planted before login is worthless after it).
  router.post('/login', passport.authenticate('local', { failureRedirect: '/login', failureMessage: true }), (ctx) => {
    const s = sessionOf(ctx);
    s.views = 0;
    if ((ctx.request.body as { remember?: string }).remember) s.maxAge = REMEMBER_MS;
    ctx.redirect('/');
  });
  router.post('/logout', async (ctx) => {
    await ctx.logout();
    ctx.redirect('/');
  });
  router.post('/note', (ctx) => {
    if (!ctx.isAuthenticated()) ctx.throw(401, 'log in first');
    sessionOf(ctx).note = String((ctx.request.body as { note?: unknown }).note ?? '');
    ctx.redirect('/');
  });
  router.get('/session', async (ctx) => {
    // getSession(ctx) and ctx.session are two faces of one session.
    const s = await getSession(ctx);
    const { secret: _csrfSecret, ...data } = s.toJSON();
    ctx.body = {
      identity: s.identity ?? null,
      isNew: s.isNew,
      created: new Date(s.created).toISOString(),
      maxAgeMs: s.maxAge,
      data,
    };
  });
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}

/** Listens on PORT (default 3000) and prints the URL. */
export function listen(app: Koa, label: string): void {
  const port = Number(process.env.PORT ?? 3000);
  const server = app.listen(port, () => {
    console.log(`koa-session-kit example (${label}) listening on http://localhost:${port}/ (log in as ada, password lovelace)`);
  });
  const stop = (): void => void server.close(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
