/** The `ctx.session` view (`session({ ctxSession })`): a plain-object face of the request's Session. */

import { afterAll, describe, expect, it } from '@jest/globals';
import Koa, { type Context } from 'koa';
import { digestId, getSession, session } from '../../src/index.js';
import { client, closeStores, cookiePair, cookieValue, CountingStore, makeApp, setCookies, track } from '../helpers/app.js';

afterAll(closeStores);

type View = Record<string, unknown> & {
  regenerate(cb?: (e?: unknown) => void): Promise<void>;
  save(cb?: (e?: unknown) => void): Promise<void>;
  destroy(cb?: (e?: unknown) => void): Promise<void>;
  reload(cb?: (e?: unknown) => void): Promise<void>;
  isNew: boolean;
  maxAge: number;
  length: number;
  populated: boolean;
};
const view = (ctx: Context): View => ctx.session as unknown as View;

function viewApp(store = track(new CountingStore())) {
  const routes = {
    '/set': (ctx: Context) => {
      const s = view(ctx);
      s.user = { id: String(ctx.query.id ?? 'ada'), roles: ['reader'] };
      s.count = ((s.count as number | undefined) ?? 0) + 1;
      ctx.body = 'ok';
    },
    '/push': (ctx: Context) => {
      (view(ctx).user as { roles: string[] }).roles.push('admin');
      ctx.body = 'ok';
    },
    '/read': (ctx: Context) => {
      const s = view(ctx);
      ctx.body = {
        json: JSON.parse(JSON.stringify(s)) as unknown,
        keys: Object.keys(s),
        spread: { ...s },
        hasUser: 'user' in s,
        hasRegenerate: 'regenerate' in s,
        isNew: s.isNew,
        length: s.length,
        populated: s.populated,
        maxAge: s.maxAge,
        stateIsView: ctx.state.session === ctx.session,
      };
    },
    '/delete': (ctx: Context) => {
      delete view(ctx).count;
      ctx.body = 'ok';
    },
    '/both': async (ctx: Context) => {
      const s = await getSession(ctx);
      s.set('fromMap', 1);
      view(ctx).fromView = 2;
      ctx.body = { map: s.get('fromView'), view: view(ctx).fromMap };
    },
    '/null': (ctx: Context) => {
      ctx.session = null;
      ctx.body = 'ok';
    },
    '/replace': (ctx: Context) => {
      ctx.session = { only: 'this' };
      ctx.body = 'ok';
    },
    '/regenerate': async (ctx: Context) => {
      const calls: unknown[] = [];
      await new Promise<void>((resolve) => void view(ctx).regenerate((error) => (calls.push(error), resolve())));
      view(ctx).after = 'login';
      ctx.body = { calls: calls.length, error: calls[0] ?? 'none', isNew: view(ctx).isNew, keys: Object.keys(view(ctx)) };
    },
    '/save': async (ctx: Context) => {
      await view(ctx).save();
      ctx.body = 'ok';
    },
    '/destroy': async (ctx: Context) => {
      await view(ctx).destroy();
      ctx.body = 'ok';
    },
    '/reload': async (ctx: Context) => {
      view(ctx).count = 999;
      await view(ctx).reload();
      ctx.body = { count: view(ctx).count };
    },
    '/remember': (ctx: Context) => {
      view(ctx).maxAge = 30 * 86_400_000;
      ctx.body = 'ok';
    },
    '/reserved': async (ctx: Context) => {
      const map = await getSession(ctx);
      const errors: string[] = [];
      for (const write of [() => (view(ctx).save = 1 as never), () => (ctx.session = { regenerate: 1 }), () => map.set('length', 1)]) {
        try {
          write();
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
      ctx.body = { errors };
    },
    '/misuse': (ctx: Context) => {
      const errors: string[] = [];
      for (const misuse of [
        () => (ctx.session = 5 as never),
        () => (ctx.session = new Map() as never),
        () => Object.defineProperty(ctx.session, 'x', { get: () => 1 }),
        () => ((view(ctx) as Record<symbol, unknown>)[Symbol('k')] = 1),
      ]) {
        try {
          misuse();
        } catch (error) {
          errors.push(`${(error as Error).name}: ${(error as Error).message}`);
        }
      }
      Object.defineProperty(ctx.session, 'defined', { value: 1, enumerable: true, configurable: true, writable: true });
      ctx.body = { errors, defined: view(ctx).defined };
    },
    '/date': (ctx: Context) => {
      view(ctx).when = new Date(0);
      ctx.body = 'ok';
    },
  };
  return { store, app: client(makeApp({ store, ctxSession: true }, routes)) };
}

describe('ctx.session, with session({ ctxSession: true })', () => {
  it('reads like a plain object: JSON.stringify, Object.keys, spreading and `in` see the data', async () => {
    const { app } = viewApp();
    const cookie = cookiePair(await app.get('/set?id=ada').expect(200));
    const { body } = await app.get('/read').set('Cookie', cookie).expect(200);
    const data = { user: { id: 'ada', roles: ['reader'] }, count: 1 };
    expect(body).toEqual({
      json: data,
      keys: ['user', 'count'],
      spread: data,
      hasUser: true,
      hasRegenerate: true,
      isNew: false,
      length: 2,
      populated: true,
      maxAge: 86_400_000,
      stateIsView: true,
    });
  });

  it('saves nested in-place mutation and property deletes', async () => {
    const { app } = viewApp();
    const cookie = cookiePair(await app.get('/set').expect(200));
    await app.get('/push').set('Cookie', cookie).expect(200);
    await app.get('/delete').set('Cookie', cookie).expect(200);
    expect((await app.get('/read').set('Cookie', cookie)).body.json).toEqual({ user: { id: 'ada', roles: ['reader', 'admin'] } });
  });

  it('is the same session as getSession(ctx), both ways within one request', async () => {
    const { app } = viewApp();
    const response = await app.get('/both').expect(200);
    expect(response.body).toEqual({ map: 2, view: 1 });
    expect((await app.get('/read').set('Cookie', cookiePair(response))).body.json).toEqual({ fromMap: 1, fromView: 2 });
  });

  it('loads before the handler: no store call without a cookie, exactly one read with one', async () => {
    const { app, store } = viewApp();
    await app.get('/read').expect(200);
    expect(store.total).toBe(0);
    const cookie = cookiePair(await app.get('/set').expect(200));
    store.reset();
    await app.get('/read').set('Cookie', cookie).expect(200);
    expect(store.calls).toEqual({ get: 1, create: 0, update: 0, touch: 0, destroy: 0 });
  });

  it('logs out on `ctx.session = null`: record destroyed, cookie cleared', async () => {
    const { app, store } = viewApp();
    const first = await app.get('/set').expect(200);
    const cookie = cookiePair(first);
    const response = await app.get('/null').set('Cookie', cookie).expect(200);
    expect(setCookies(response)[0]).toMatch(/^koa\.sid=; Max-Age=0/);
    expect(await store.get(digestId(cookieValue(first).split('.')[0]!))).toBeUndefined();
  });

  it('replaces the data on `ctx.session = {…}`', async () => {
    const { app } = viewApp();
    const cookie = cookiePair(await app.get('/set').expect(200));
    await app.get('/replace').set('Cookie', cookie).expect(200);
    expect((await app.get('/read').set('Cookie', cookie)).body.json).toEqual({ only: 'this' });
  });

  it('regenerate(cb): calls back once, then a new id with empty data, the old record destroyed', async () => {
    const { app, store } = viewApp();
    const first = await app.get('/set').expect(200);
    const response = await app.get('/regenerate').set('Cookie', cookiePair(first)).expect(200);
    expect(response.body).toEqual({ calls: 1, error: 'none', isNew: true, keys: ['after'] });
    expect(cookieValue(response)).not.toBe(cookieValue(first));
    expect(await store.get(digestId(cookieValue(first).split('.')[0]!))).toBeUndefined();
    expect((await app.get('/read').set('Cookie', cookiePair(response))).body.json).toEqual({ after: 'login' });
    expect((await app.get('/read').set('Cookie', cookiePair(first))).body.json).toEqual({});
  });

  it('save() forces a save; destroy() logs out; reload() drops this request’s changes', async () => {
    const { app, store } = viewApp();
    const first = await app.get('/set').expect(200);
    const cookie = cookiePair(first);
    store.reset();
    await app.get('/save').set('Cookie', cookie).expect(200);
    expect(store.calls.update).toBe(1);
    expect((await app.get('/reload').set('Cookie', cookie)).body).toEqual({ count: 1 });
    const destroyed = await app.get('/destroy').set('Cookie', cookie).expect(200);
    expect(setCookies(destroyed)[0]).toMatch(/^koa\.sid=; Max-Age=0/);
    expect((await app.get('/read').set('Cookie', cookie)).body.json).toEqual({});
  });

  it('persists a maxAge set through the view', async () => {
    const { app } = viewApp();
    const cookie = cookiePair(await app.get('/set').expect(200));
    const response = await app.get('/remember').set('Cookie', cookie).expect(200);
    expect(setCookies(response)[0]).toMatch(/Max-Age=2592000;/);
    expect((await app.get('/read').set('Cookie', cookie)).body.maxAge).toBe(30 * 86_400_000);
  });

  it('refuses data keys that would shadow the view’s own members, through either face', async () => {
    const { app } = viewApp();
    const { body } = await app.get('/reserved').expect(200);
    expect(body.errors).toEqual([
      expect.stringMatching(/`save` cannot be a session key while `ctxSession` is on/),
      expect.stringMatching(/`regenerate` cannot be a session key/),
      expect.stringMatching(/`length` cannot be a session key/),
    ]);
  });

  it('refuses what a plain object would not hold: non-objects, accessors, symbol keys', async () => {
    const { app } = viewApp();
    expect((await app.get('/misuse').expect(200)).body).toEqual({
      errors: [
        expect.stringMatching(/^TypeError: .*ctx\.session can only be set to null or a plain object \(received number\)/),
        expect.stringMatching(/^TypeError: .*received object/),
        expect.stringMatching(/^TypeError: .*session values must be data, not accessors/),
        expect.stringMatching(/^TypeError: .*session keys must be strings \(received symbol\)/),
      ],
      defined: 1,
    });
  });

  it('refuses a ctxSession that is not a property name, at startup', () => {
    expect(() => session({ ctxSession: 'not a name' })).toThrow(/`ctxSession` must be a boolean or a property name/);
    expect(() => session({ ctxSession: 'toString' })).toThrow(TypeError);
    expect(() => session({ ctxSession: 1 as never })).toThrow(TypeError);
  });

  it('keeps the serializer strict: a Date under JSON is a 500 and nothing is stored', async () => {
    const { app, store } = viewApp();
    await app.get('/date').expect(500);
    expect(store.calls.create).toBe(0);
  });

  it('puts a named session at the property it is given', async () => {
    const app = new Koa();
    app.keys = ['ctx-session-test-key-0123456789abcdef'];
    app.use(session({ name: 'admin', cookie: { name: 'admin.sid' }, ctxSession: 'admin' }));
    app.use((ctx) => {
      const admin = (ctx as unknown as { admin: Record<string, unknown> }).admin;
      admin.visits = ((admin.visits as number | undefined) ?? 0) + 1;
      ctx.body = { visits: admin.visits, session: ctx.session === undefined, state: ctx.state.admin === admin };
    });
    const first = await client(app).get('/').expect(200);
    expect(first.body).toEqual({ visits: 1, session: true, state: true });
    expect((await client(app).get('/').set('Cookie', cookiePair(first, 'admin.sid'))).body.visits).toBe(2);
  });

  it('refuses a property Koa already has, with a message naming it', async () => {
    const app = new Koa();
    app.silent = true;
    let message = '';
    app.use(async (_ctx, next) => {
      try {
        await next();
      } catch (error) {
        message = (error as Error).message;
        throw error;
      }
    });
    app.use(session({ ctxSession: 'body' }));
    await client(app).get('/').expect(500);
    expect(message).toMatch(/ctx\.body is already defined/);
  });
});

describe('ctx.session, with the view off (the default)', () => {
  it('is not there, and a request that never asks for its session still costs no store call', async () => {
    const store = track(new CountingStore());
    const app = client(
      makeApp(
        { store },
        {
          '/': (ctx: Context) => {
            ctx.body = { session: ctx.session === undefined, state: ctx.state.session === undefined };
          },
        },
      ),
    );
    expect((await app.get('/').set('Cookie', 'koa.sid=abc').expect(200)).body).toEqual({ session: true, state: true });
    expect(store.total).toBe(0);
  });
});
