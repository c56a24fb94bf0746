/** A user's sessions over HTTP, as an app sees them: owner, handle, list, revoke one, all, all but current. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Koa, { type Context } from 'koa';
import request from 'supertest';
import { getSession, newSession, session, type SessionMiddleware } from '../../../src/index.js';
import type { Store } from '../../../src/store.js';
import { cookiePair } from '../../helpers/app.js';
import type { ContractTarget } from './contract.js';

/** Registers the owner behaviour (issue 14's per-store test) for one server-side store. */
export function describeOwnerBehaviour(name: string, target: ContractTarget): void {
  describe(`${name}: a user's sessions through session()`, () => {
    let store: Store;
    let sessions: SessionMiddleware;
    let app: ReturnType<typeof request>;
    const user = `user-${Math.random().toString(36).slice(2)}`;

    beforeAll(async () => {
      store = await target.make();
      sessions = session({ store, maxAge: 60_000 });
      const koa = new Koa();
      koa.keys = ['owner-behaviour-test-key-0123456789abcdef'];
      koa.use(sessions);
      koa.use(async (ctx: Context) => {
        if (ctx.path === '/login') {
          const s = await newSession(ctx);
          s.set('device', String(ctx.query.device));
          s.owner = user;
          if (ctx.query.short !== undefined) s.maxAge = 200;
          ctx.body = 'ok';
        } else if (ctx.path === '/me') {
          const s = await getSession(ctx);
          ctx.body = { data: s.toJSON(), owner: s.owner ?? null, handle: s.handle ?? null };
        } else if (ctx.path === '/regenerate') {
          (await getSession(ctx)).regenerate();
          ctx.body = 'ok';
        } else if (ctx.path === '/others-out') {
          const s = await getSession(ctx);
          ctx.body = { revoked: await sessions.revokeSessions(user, { except: s.handle }) };
        }
      });
      app = request(koa.callback());
    });

    afterAll(async () => {
      await store?.close?.();
      await target.cleanup?.();
    });

    const login = async (device: string, extra = ''): Promise<string> =>
      cookiePair(await app.get(`/login?device=${device}${extra}`).expect(200));
    const me = async (cookie: string) =>
      (await app.get('/me').set('Cookie', cookie).expect(200)).body as {
        data: Record<string, unknown>;
        owner: string | null;
        handle: string | null;
      };

    it('keeps the owner and a handle that is not the cookie, and lists the sessions with their data', async () => {
      const phone = await login('phone');
      const seen = await me(phone);
      expect(seen.owner).toBe(user);
      expect(seen.handle).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(phone).not.toContain(seen.handle!);
      const listed = await sessions.listSessions(user);
      const mine = listed.find((s) => s.handle === seen.handle);
      expect(mine).toMatchObject({ data: { device: 'phone' } });
      expect(mine!.expires).toBeGreaterThan(Date.now());
      expect(mine!.lastSeen).toBeGreaterThanOrEqual(mine!.created);
      await sessions.revokeSessions(user);
    });

    it('keeps the owner through regenerate(), under the new handle', async () => {
      const cookie = await login('laptop');
      const before = (await me(cookie)).handle;
      const moved = cookiePair(await app.get('/regenerate').set('Cookie', cookie).expect(200));
      const after = await me(moved);
      expect(after.owner).toBe(user);
      expect(after.handle).not.toBe(before);
      expect((await sessions.listSessions(user)).map((s) => s.handle)).toEqual([after.handle]);
      await sessions.revokeSessions(user);
    });

    it('revokes all three sessions of a user from three clients: each cookie then loads an empty session', async () => {
      const cookies = [await login('a'), await login('b'), await login('c')];
      expect(await sessions.listSessions(user)).toHaveLength(3);
      expect(await sessions.revokeSessions(user)).toBe(3);
      for (const cookie of cookies) expect(await me(cookie)).toEqual({ data: {}, owner: null, handle: null });
      expect(await sessions.listSessions(user)).toEqual([]);
    });

    it('revokes all but the current one ("log out other devices") from a handler', async () => {
      const cookies = [await login('a'), await login('b'), await login('c')];
      const current = cookies[1]!;
      expect((await app.get('/others-out').set('Cookie', current).expect(200)).body).toEqual({ revoked: 2 });
      expect((await me(current)).data).toEqual({ device: 'b' });
      expect((await me(cookies[0]!)).data).toEqual({});
      expect((await me(cookies[2]!)).data).toEqual({});
      expect((await sessions.listSessions(user)).map((s) => s.data)).toEqual([{ device: 'b' }]);
      await sessions.revokeSessions(user);
    });

    it('revokes one session by handle, only for its owner when one is given', async () => {
      const cookie = await login('tablet');
      const { handle } = await me(cookie);
      expect(await sessions.revokeSession(handle!, { owner: 'someone-else' })).toBe(false);
      expect((await me(cookie)).data).toEqual({ device: 'tablet' });
      expect(await sessions.revokeSession(handle!, { owner: user })).toBe(true);
      expect((await me(cookie)).data).toEqual({});
      expect(await sessions.revokeSession(handle!)).toBe(false);
    });

    it('never lists an expired session', async () => {
      await login('old', '&short=1');
      const live = await login('new');
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect((await sessions.listSessions(user)).map((s) => s.data)).toEqual([{ device: 'new' }]);
      void live;
      await sessions.revokeSessions(user);
    });
  });
}
