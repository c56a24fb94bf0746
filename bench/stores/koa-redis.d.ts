/** The slice of koa-redis 4's API the side-by-side uses; the package ships no types. */

declare module 'koa-redis' {
  /** koa-session's external store contract, on an ioredis 4 client of its own. */
  export interface KoaRedisStore {
    get(key: string): Promise<unknown>;
    set(key: string, value: unknown, maxAge: number): Promise<void>;
    destroy(key: string): Promise<void>;
    client: { status: string; once(event: string, listener: (...args: unknown[]) => void): unknown; quit(): Promise<unknown> };
  }

  export default function redisStore(options: { url: string }): KoaRedisStore;
}
