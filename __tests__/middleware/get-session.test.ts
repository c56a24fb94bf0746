import { afterAll, describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import {
  getSession,
  isSessionKitError,
  isSessionNotInstalledError,
  newSession,
  session,
  SessionNotInstalledError,
} from '../../src/index.js';
import { client, closeStores, cookiePair, CountingStore, makeApp, track } from '../helpers/app.js';

describe('getSession(ctx)', () => {
  afterAll(closeStores);

  it('returns the same Session for every call in a request and sets ctx.state.session', async () => {
    const app = makeApp(
      { store: track(new CountingStore()) },
      {
        '/': async (ctx) => {
          const [a, b] = await Promise.all([getSession(ctx), getSession(ctx)]);
          const c = await getSession(ctx);
          ctx.body = { same: a === b && b === c, onState: ctx.state.session === a };
        },
      },
    );
    await client(app).get('/').expect(200, { same: true, onState: true });
  });

  it('loads once: one store read for many calls', async () => {
    const store = track(new CountingStore());
    const app = makeApp(
      { store },
      {
        '/set': async (ctx) => void (await getSession(ctx)).set('a', 1),
        '/read': async (ctx) => {
          await getSession(ctx);
          await getSession(ctx);
          ctx.body = 'ok';
        },
      },
    );
    const cookie = cookiePair(await client(app).get('/set'));
    store.reset();
    await client(app).get('/read').set('Cookie', cookie).expect(200);
    expect(store.calls.get).toBe(1);
    expect(store.total).toBe(1);
  });

  it('rejects with a message that says to install session() when the middleware is missing', async () => {
    const app = new Koa();
    let caught: unknown;
    app.use(async (ctx) => {
      try {
        await getSession(ctx);
      } catch (error) {
        caught = error;
      }
      ctx.body = 'ok';
    });
    await client(app).get('/').expect(200);
    expect(caught).toBeInstanceOf(SessionNotInstalledError);
    expect(isSessionKitError(caught)).toBe(true);
    expect(isSessionNotInstalledError(caught)).toBe(true);
    expect(isSessionNotInstalledError(new Error('other'))).toBe(false);
    expect((caught as Error).message).toMatch(/install it with app\.use\(session\(\)\)/);
    expect((caught as { code: string }).code).toBe('ERR_SESSION_NOT_INSTALLED');
  });

  it('names the missing session in the message for getSession(ctx, name)', async () => {
    const app = new Koa();
    app.use(session());
    app.use(async (ctx) => {
      ctx.body = await getSession(ctx, 'admin').then(
        () => 'found',
        (error: Error) => error.message,
      );
    });
    const res = await client(app).get('/');
    expect(res.text).toMatch(/session\(\{ name: 'admin' \}\)/);
  });
});

describe('several sessions in one app', () => {
  afterAll(closeStores);
  /** The default session and an `admin` one (cookie `admin.sid`), in front of `handler`. */
  const twoSessions = (handler: Koa.Middleware): Koa => {
    const app = new Koa();
    app.keys = ['multi-key-0123456789abcdefghijklmnopqrstuv'];
    app.use(session({ store: track(new CountingStore()) }));
    app.use(session({ name: 'admin', store: track(new CountingStore()), cookie: { name: 'admin.sid' } }));
    app.use(handler);
    return app;
  };

  it('keeps session({ name }) apart, each with its own cookie and ctx.state[name]', async () => {
    const app = twoSessions(async (ctx) => {
      const user = await getSession(ctx);
      const admin = await getSession(ctx, 'admin');
      if (ctx.path === '/write') {
        user.set('who', 'user');
        admin.set('who', 'admin');
      }
      ctx.body = { user: user.get('who') ?? null, admin: admin.get('who') ?? null, state: ctx.state.admin === admin };
    });
    const first = await client(app).get('/write').expect(200);
    const cookies = [cookiePair(first), cookiePair(first, 'admin.sid')];
    await client(app).get('/read').set('Cookie', cookies.join('; ')).expect(200, { user: 'user', admin: 'admin', state: true });
    await client(app).get('/read').set('Cookie', cookies[0]!).expect(200, { user: 'user', admin: null, state: true });
  });

  it('refuses a signed cookie of one session presented under the other name', async () => {
    const app = twoSessions(async (ctx) => {
      const s = await getSession(ctx);
      const admin = await getSession(ctx, 'admin');
      if (ctx.path === '/write') s.set('who', 'user');
      ctx.body = { admin: admin.isNew };
    });
    const value = cookiePair(await client(app).get('/write')).slice('koa.sid='.length);
    await client(app).get('/read').set('Cookie', `admin.sid=${value}`).expect(200, { admin: true });
  });

  it('fails the request when two session() middlewares with one name run on it, and says to name them apart', async () => {
    const app = new Koa();
    app.keys = ['multi-key-0123456789abcdefghijklmnopqrstuv'];
    const errors: Error[] = [];
    app.on('error', (error: Error) => errors.push(error));
    app.use(session({ store: track(new CountingStore()) }));
    app.use(session({ store: track(new CountingStore()) }));
    app.use((ctx) => void (ctx.body = 'unreachable'));
    await client(app).get('/').expect(500);
    expect(errors[0]?.message).toBe(
      'koa-session-kit: two session() middlewares named `session` ran on one request; give each its own `name`',
    );
  });

  it('adds its Set-Cookie line after the ones the handler and other middleware set', async () => {
    const app = twoSessions(async (ctx) => {
      ctx.append('Set-Cookie', 'theme=dark; Path=/');
      ctx.cookies.set('lang', 'en', { signed: false });
      (await getSession(ctx)).set('who', 'user');
      (await getSession(ctx, 'admin')).set('who', 'admin');
      ctx.body = 'ok';
    });
    const res = await client(app).get('/').expect(200);
    const names = (res.headers['set-cookie'] as unknown as string[]).map((line) => line.slice(0, line.indexOf('=')));
    // The inner session commits first (it is nearer the handler), then the outer one.
    expect(names).toEqual(['theme', 'lang', 'admin.sid', 'koa.sid']);
  });

  it('leaves the response alone when the handler already sent the headers itself', async () => {
    const store = track(new CountingStore());
    const app = makeApp(
      { store },
      {
        '/anything': async (ctx) => {
          (await getSession(ctx)).set('n', 1);
          ctx.respond = false;
          ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
          ctx.res.end('raw');
        },
      },
    );
    const errors: unknown[] = [];
    app.on('error', (error) => errors.push(error));
    const res = await client(app).get('/anything').expect(200, 'raw');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(errors).toEqual([]);
  });
});

describe('newSession(ctx)', () => {
  afterAll(closeStores);

  it('returns a fresh empty session that replaces the current one on ctx.state', async () => {
    const app = makeApp(
      { store: track(new CountingStore()) },
      {
        '/set': async (ctx) => void (await getSession(ctx)).set('old', true),
        '/login': async (ctx) => {
          const old = await getSession(ctx);
          const fresh = await newSession(ctx);
          ctx.body = {
            size: fresh.size,
            isNew: fresh.isNew,
            replaced: old !== fresh,
            onState: ctx.state.session === fresh,
            again: (await getSession(ctx)) === fresh,
          };
        },
      },
    );
    const cookie = cookiePair(await client(app).get('/set'));
    await client(app).get('/login').set('Cookie', cookie).expect(200, { size: 0, isNew: true, replaced: true, onState: true, again: true });
  });
});
