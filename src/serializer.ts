/** The contract for turning session data into bytes and back. */

import type { SerializationError } from './errors.js';

/**
 * Turns the user's session data (a plain object of values) into bytes and back.
 * `serialize` must throw a {@link SerializationError} for any value it cannot bring back
 * equal; `deserialize` treats its input as untrusted and may throw anything on bytes that are
 * not its own (the middleware then starts a fresh session).
 */
export interface Serializer {
  /** A short stable tag stored with every record (`json`, `superjson`, `msgpack`), so a record
   * written by another serializer is recognised and never misread. */
  readonly name: string;
  /** Encodes the session data (a plain object); throws {@link SerializationError} on what it cannot carry. */
  serialize(value: unknown): Uint8Array;
  /** Decodes bytes this serializer wrote; throws on anything else. */
  deserialize(bytes: Uint8Array): unknown;
}
