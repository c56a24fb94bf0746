import { describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import { types } from 'node:util';
import {
  CookieTooLargeError,
  isCookieTooLargeError,
  isSessionKitError,
  SerializationError,
  SessionKitError,
  SessionStoreError,
  getSession,
} from '../../src/index.js';
import { PostgresStore } from '../../stores/postgres.js';
import { client, makeApp } from '../helpers/app.js';

describe('koa-session-kit errors', () => {
  const cause = new Error('driver said no');
  const errors = [
    new SerializationError({ path: 'a.b', type: 'Date', serializer: 'json', suggestion: 'superjsonSerializer()' }),
    new SessionStoreError('koa-session-kit: store get() failed', { operation: 'get', cause }),
    new CookieTooLargeError('koa.sid', 5000, 4096),
  ];

  it.each(errors.map((e) => [e.name, e] as const))('%s is a SessionKitError with a code, status 500 and expose false', (_, error) => {
    expect(error).toBeInstanceOf(SessionKitError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toMatch(/^ERR_SESSION_/);
    expect(error.status).toBe(500);
    expect(error.expose).toBe(false);
    expect(isSessionKitError(error)).toBe(true);
    expect(typeof error.stack).toBe('string');
  });

  // A real PostgresStore on a port nothing listens on: pg's own connection error is the cause.
  it("answers a request whose store fails with a SessionStoreError that keeps the driver error as cause, and Koa's generic body", async () => {
    const store = new PostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    const thrown: unknown[] = [];
    const app = makeApp(
      { store },
      {
        '/visit': async (ctx) => {
          (await getSession(ctx)).set('visited', true); // a new session to create: the store is called
          ctx.body = 'visited';
        },
      },
    );
    app.on('error', (error) => thrown.push(error));
    try {
      const response = await client(app).get('/visit').expect(500);
      expect(response.text).toBe('Internal Server Error');
      expect(thrown).toHaveLength(1);
      const error = thrown[0] as SessionStoreError;
      expect(error).toBeInstanceOf(SessionStoreError);
      expect(error.operation).toBe('create');
      expect(types.isNativeError(error.cause)).toBe(true); // node's socket error, made outside jest's realm
      expect(isSessionKitError(error.cause)).toBe(false);
      expect((error.cause as { code?: unknown }).code).toBe('ECONNREFUSED');
      expect(error.message).toContain((error.cause as Error).message);
      expect(response.text).not.toContain('ECONNREFUSED');
    } finally {
      await store.close();
    }
  });

  it('states both numbers in a CookieTooLargeError', () => {
    const error = errors[2] as CookieTooLargeError;
    expect(error.message).toMatch(/5000 bytes, over the 4096-byte limit/);
    expect([error.size, error.limit]).toEqual([5000, 4096]);
    expect(isCookieTooLargeError(error)).toBe(true);
  });

  it('recognises errors across realms by code', () => {
    expect(isSessionKitError({ code: 'ERR_SESSION_STORE' })).toBe(true);
    expect(isSessionKitError(new Error('x'))).toBe(false);
    expect(isSessionKitError(null)).toBe(false);
  });

  it("gets Koa's generic 500 body, never its own message", async () => {
    const app = new Koa();
    app.silent = true;
    app.use(() => {
      throw errors[0];
    });
    await client(app).get('/').expect(500, 'Internal Server Error');
  });
});
