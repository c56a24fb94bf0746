/** CookieStore keeps no owner: listing and revoking say which store to use instead. */

import { describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import { getSession, session } from '../../../src/index.js';
import { CookieStore } from '../../../stores/cookie.js';
import { client } from '../../helpers/app.js';

const store = (): CookieStore => new CookieStore({ keys: ['cookie-owner-test-secret-0123456789abcdef'] });
const useInstead = /CookieStore .*use any server-side store \(MemoryStore, FileStore, PostgresStore, RedisStore, MySQLStore, SQLiteStore\)/;

describe('CookieStore and a session’s owner', () => {
  it('refuses listSessions, revokeSession and revokeSessions with a message naming the stores that can', async () => {
    const sessions = session({ store: store() });
    await expect(sessions.listSessions('ada')).rejects.toThrow(useInstead);
    await expect(sessions.revokeSessions('ada')).rejects.toThrow(useInstead);
    await expect(sessions.revokeSession('A'.repeat(43))).rejects.toThrow(useInstead);
  });

  it('answers 500 when a handler sets session.owner, naming the stores that keep one', async () => {
    const errors: Error[] = [];
    const app = new Koa();
    app.silent = true;
    app.on('error', (error: Error) => errors.push(error));
    app.use(session({ store: store() }));
    app.use(async (ctx) => {
      const s = await getSession(ctx);
      s.set('user', 'ada');
      s.owner = 'ada';
      ctx.body = 'ok';
    });
    await client(app).get('/').expect(500);
    expect(errors[0]!.message).toMatch(
      /CookieStore keeps no owner.*use any server-side store \(MemoryStore, FileStore, PostgresStore, RedisStore, MySQLStore, SQLiteStore\)/,
    );
  });
});
