/** The encode-side check: a value is written only if the serializer would bring it back equal. */

import { compileCarries, MAX_DEPTH, type Carries } from './carries.js';
import { toSerializationError } from './refusal.js';
import { Walker } from './walker.js';

/**
 * Throws {@link SerializationError} unless every value inside `value` is one `carries` brings
 * back equal (pass {@link compileCarries}' result on hot paths). Paths are built only when refusing.
 *
 * Read once: the encoder reads the value again after this check, so whatever could answer the
 * two reads differently is refused: a Proxy (its traps run on every read, and none is run here)
 * and an accessor property (a getter or setter on an object or an Error, a getter on an array
 * element). No getter runs: object properties are read through their descriptors, and an array
 * element is looked at for a getter before it is read.
 */
export function assertCarries(value: unknown, carries: Carries, maxDepth: number = MAX_DEPTH): void {
  const refusal = new Walker(compileCarries(carries), maxDepth, true).visit(value, 1);
  if (refusal !== undefined) throw toSerializationError(refusal, carries.serializer);
}
