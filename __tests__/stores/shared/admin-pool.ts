/** A test file's administrative pool: made before its tests, ended after them. */

import { afterAll, beforeAll } from '@jest/globals';

/** Registers the hooks and returns the pool's getter (the pool exists once the tests run). */
export function useAdminPool<P extends { end(): Promise<void> }>(make: () => P): () => P {
  let pool: P | undefined;
  beforeAll(() => {
    pool = make();
  });
  afterAll(async () => {
    await pool?.end();
  });
  return () => pool as P;
}

/** A store on a table of its own for one describe block: made before its tests, then closed and its table dropped. */
export function useTableStore<S extends { close(): Promise<void> }>(make: () => S, drop: () => Promise<void>): () => S {
  let store: S | undefined;
  beforeAll(() => {
    store = make();
  });
  afterAll(async () => {
    await store?.close();
    await drop();
  });
  return () => store as S;
}
