/** session() on SQLiteStore through Koa: core behaviour, a user's sessions, two apps on one file, a restart. */

import { afterAll, beforeAll, describe, it } from '@jest/globals';
import { client as http, cookiePair, makeApp } from '../../helpers/app.js';
import { describeSessionBehaviour, itSharesOneSession, sessionRoutes } from '../shared/behaviour.js';
import { describeOwnedSessions } from '../shared/owned-sessions.js';
import { describeOwnerBehaviour } from '../shared/owners.js';
import { cleanUp, openStore, tempDatabase } from './temp-files.js';

afterAll(cleanUp);

describeSessionBehaviour('SQLiteStore', { make: async () => openStore({ filename: await tempDatabase('behaviour') }), serverSide: true });
describeOwnerBehaviour('SQLiteStore', { make: async () => openStore({ filename: await tempDatabase('owner-behaviour') }) });

let ownedFile: Promise<string> | undefined;
describeOwnedSessions('SQLiteStore', { make: async () => openStore({ filename: await (ownedFile ??= tempDatabase('owned')) }) });

describe('two Koa apps, each with its own SQLiteStore on one file', () => {
  let apps: ReturnType<typeof http>[];

  beforeAll(async () => {
    const filename = await tempDatabase('two-apps');
    apps = [0, 1].map(() => http(makeApp({ store: openStore({ filename }) }, sessionRoutes)));
  });

  itSharesOneSession(() => apps);
});

describe('an app restarted on the same file', () => {
  it('carries on with the sessions the previous process left', async () => {
    const filename = await tempDatabase('restart');
    const before = openStore({ filename });
    const cookie = cookiePair(
      await http(makeApp({ store: before }, sessionRoutes))
        .get('/count')
        .expect(200, { views: 1 }),
    );
    await before.close();
    const after = http(makeApp({ store: openStore({ filename }) }, sessionRoutes));
    await after.get('/count').set('Cookie', cookie).expect(200, { views: 2 });
  });
});
