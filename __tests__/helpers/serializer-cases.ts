/** Shared pieces for the serializer tests: catching the refusal, and the property every serializer must hold. */

import fc from 'fast-check';
import { SerializationError } from '../../src/errors.js';
import type { Serializer } from '../../src/serializer.js';
import { anySessionValue, sameAfterRoundTrip, type RoundTripRules } from './serializer-equality.js';

/** The SerializationError `serialize` throws for `value`; fails the test when it accepts it or throws anything else. */
export function refusalOf(serializer: Serializer, value: unknown): SerializationError {
  try {
    serializer.serialize(value);
  } catch (error) {
    if (error instanceof SerializationError) return error;
    throw error;
  }
  throw new Error(`expected ${serializer.name} to refuse the value, but it was accepted`);
}

/** Encodes and decodes. */
export function roundTrip(serializer: Serializer, value: unknown): unknown {
  return serializer.deserialize(serializer.serialize(value));
}

/**
 * The property from the issue: session data holding any fast-check value either comes back
 * equal under `rules` or is refused with SerializationError; never another error, never a change.
 * What comes back must also go round again unchanged, as the middleware re-encodes what it loaded.
 */
export function assertEqualOrRefused(serializer: Serializer, rules: RoundTripRules, numRuns = 1500): void {
  fc.assert(
    fc.property(anySessionValue, (value) => {
      const data = { value };
      let bytes: Uint8Array;
      try {
        bytes = serializer.serialize(data);
      } catch (error) {
        return error instanceof SerializationError;
      }
      const back = serializer.deserialize(bytes);
      if (!sameAfterRoundTrip(data, back, rules)) return false;
      return sameAfterRoundTrip(back, serializer.deserialize(serializer.serialize(back)), rules);
    }),
    { numRuns },
  );
}
