/** The decode-side check: stored bytes must decode to what the serializer would write again. */

import { compileCarries, type Carries } from './carries.js';
import { toSerializationError } from './refusal.js';
import { Walker } from './walker.js';

/**
 * Throws a TypeError (with the refusal as `cause`) unless a decoded value is one the serializer
 * would encode again: bytes it never wrote (hostile, corrupt or foreign: `1e999` in JSON, an
 * invalid Date in superjson, another library's msgpack extension, nesting past `maxDepth`) are
 * rejected on reading, so they give a fresh session instead of failing every later commit.
 */
export function assertDecoded(value: unknown, carries: Carries, maxDepth: number, factory: string): void {
  const refusal = new Walker(compileCarries(carries), maxDepth, false).visit(value, 1);
  if (refusal === undefined) return;
  const error = toSerializationError(refusal, carries.serializer);
  throw new TypeError(`koa-session-kit: stored session data holds what ${factory} never writes (${error.type} at \`${error.path}\`)`, {
    cause: error,
  });
}
