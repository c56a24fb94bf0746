import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { getSession } from '../../src/index.js';
import type { Serializer } from '../../src/serializer.js';
import { client, closeStores, cookiePair, cookieValue, CountingStore, makeApp, track } from '../helpers/app.js';

const routes = {
  '/set': async (ctx: import('koa').Context) => void (await getSession(ctx)).set('n', 1),
  '/read': async (ctx: import('koa').Context) => {
    const s = await getSession(ctx);
    ctx.body = { isNew: s.isNew, size: s.size };
  },
};

describe('bad cookies give a fresh session, never a 500', () => {
  afterAll(closeStores);
  const store = track(new CountingStore());
  const app = makeApp({ store }, routes, ['right-key-0123456789abcdefghijklmnopqrstuv']);
  let good: string;

  const malformed: [string, () => string][] = [
    ['empty', () => ''],
    ['no dot', () => good.split('.')[0]!],
    ['bad base64url in the id', () => `${'!'.repeat(43)}.${good.split('.')[1]}`],
    ['an id of the wrong length', () => `abc.${good.split('.')[1]}`],
    ['a non-canonical last id character', () => `${good.slice(0, 42)}B.${good.split('.')[1]}`],
    ['a tampered id', () => `${good[0] === 'A' ? 'B' : 'A'}${good.slice(1)}`],
    ['a tampered mac', () => `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`],
    ['a mac of the wrong length', () => `${good}xx`],
    ['a path', () => '../../etc/passwd'],
    ['oversized', () => `${good}${'a'.repeat(5000)}`],
    ['unicode', () => encodeURIComponent('ünïcødé')],
  ];

  it.each(malformed)('starts fresh on %s, without a store read', async (_, make) => {
    good ??= cookieValue(await client(app).get('/set'));
    store.reset();
    await client(app).get('/read').set('Cookie', `koa.sid=${make()}`).expect(200, { isNew: true, size: 0 });
    expect(store.total).toBe(0);
  });

  it('reads a cookie value wrapped in double quotes, which RFC 6265 allows', async () => {
    const quoted = `koa.sid="${good}"`;
    await client(app).get('/read').set('Cookie', quoted).expect(200, { isNew: false, size: 1 });
  });

  it('starts fresh on a cookie signed with a key the app does not have', async () => {
    const other = cookiePair(await client(makeApp({ store }, routes, ['wrong-key-0123456789abcdefghijklmnopqrstuv'])).get('/set'));
    store.reset();
    await client(app).get('/read').set('Cookie', other).expect(200, { isNew: true, size: 0 });
    expect(store.total).toBe(0);
  });

  it('starts fresh on a record written by another serializer', async () => {
    const upper: Serializer = {
      name: 'other',
      serialize: (value) => new TextEncoder().encode(JSON.stringify(value)),
      deserialize: (bytes) => JSON.parse(new TextDecoder().decode(bytes)),
    };
    const cookie = cookiePair(
      await client(makeApp({ store, serializer: upper }, routes, ['right-key-0123456789abcdefghijklmnopqrstuv'])).get('/set'),
    );
    await client(app).get('/read').set('Cookie', cookie).expect(200, { isNew: true, size: 0 });
  });

  it.each([
    ['corrupt bytes', () => Uint8Array.of(0xff, 0xfe, 0x00)],
    ['an array instead of an object', () => new TextEncoder().encode('[1,2]')],
    ['null', () => new TextEncoder().encode('null')],
  ])('starts fresh when the stored data is %s', async (_, bytes) => {
    const liar: Serializer = { name: 'json', serialize: () => bytes(), deserialize: (b) => JSON.parse(new TextDecoder().decode(b)) };
    const cookie = cookiePair(
      await client(makeApp({ store, serializer: liar }, routes, ['right-key-0123456789abcdefghijklmnopqrstuv'])).get('/set'),
    );
    await client(app).get('/read').set('Cookie', cookie).expect(200, { isNew: true, size: 0 });
  });

  it('logs exactly one debug line per bad cookie under NODE_DEBUG=koa-session-kit', () => {
    const script = `
      import Koa from 'koa';
      import request from 'supertest';
      import { session, getSession } from './src/index.js';
      const app = new Koa(); app.keys = ['k-0123456789abcdefghijklmnopqrstuv'];
      app.use(session());
      app.use(async (ctx) => { await getSession(ctx); ctx.body = 'ok'; });
      const bad = ['', 'nodot', 'x'.repeat(43) + '.' + 'y'.repeat(43), 'a'.repeat(5000)];
      for (const value of bad) {
        process.stderr.write('--request--\\n');
        await request(app.callback()).get('/').set('Cookie', 'koa.sid=' + value).expect(200);
      }`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      env: { ...process.env, NODE_DEBUG: 'koa-session-kit', NODE_OPTIONS: '' },
      encoding: 'utf8',
    });
    expect(child.status).toBe(0);
    const perRequest = child.stderr.split('--request--\n').slice(1);
    expect(perRequest).toHaveLength(4);
    for (const output of perRequest) {
      const lines = output.split('\n').filter((line) => line.startsWith('KOA-SESSION-KIT'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/starting a fresh session$/);
    }
  });
});
