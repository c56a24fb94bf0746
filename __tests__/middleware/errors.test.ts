import { describe, expect, it } from '@jest/globals';
import Koa from 'koa';
import {
  CookieTooLargeError,
  isCookieTooLargeError,
  isSessionKitError,
  SerializationError,
  SessionKitError,
  SessionStoreError,
} from '../../src/index.js';
import { client } from '../helpers/app.js';

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

  it('keeps the cause of a store error', () => {
    expect(errors[1]!.cause).toBe(cause);
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
