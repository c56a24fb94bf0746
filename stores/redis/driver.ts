/** The one interface RedisStore speaks, whichever Redis client the app passed (see `ioredis.ts`, `node-redis.ts`). */

import type { Arg, Script } from './scripts.js';

/** A reply as the store reads it: bulk strings as Buffers (binary-safe), integers as numbers, nil as null. */
export type Reply = Buffer | number | null | Reply[];

/** The few Redis calls the store makes, each on one key, so each is routed to that key's node on a cluster. */
export interface RedisDriver {
  /** Which library and mode, for messages: `ioredis Redis`, `node-redis cluster`, … */
  readonly label: string;
  /** HMGET, the values as Buffers. */
  hmget(key: string, fields: readonly string[]): Promise<(Buffer | null)[]>;
  /** Runs one of the store's scripts with `key` as its only key (EVALSHA, EVAL when Redis lacks it). */
  run(script: Script, key: string, args: readonly Arg[]): Promise<Reply>;
  /** SMEMBERS, as text. */
  members(key: string): Promise<string[]>;
  /** SREM of one or more members. */
  remove(key: string, members: readonly string[]): Promise<void>;
  /** Listens for the client's connection errors; returns how to stop listening. */
  onError(listener: (error: Error) => void): () => void;
}

/** A reply as a string (owner names are UTF-8 text), '' for nil. */
export function replyText(reply: Reply): string {
  return Buffer.isBuffer(reply) ? reply.toString('utf8') : reply === null ? '' : String(reply);
}

/** A reply as a number, for the scripts' integer answers (and numbers stored as text); NaN otherwise. */
export function replyNumber(reply: Reply | undefined): number {
  if (typeof reply === 'number') return reply;
  return Buffer.isBuffer(reply) ? Number(reply.toString('latin1')) : Number.NaN;
}

/** An EventEmitter's on/off pair, as both libraries' clients have it. */
export interface Emitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/** `onError` for any client that is an EventEmitter. */
export function listenForErrors(client: Emitter, listener: (error: Error) => void): () => void {
  client.on('error', listener);
  return () => void client.off('error', listener);
}
