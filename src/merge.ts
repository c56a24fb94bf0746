/** Re-applying one request's key-level changes on a fresher copy of its session (no deep merge). */

import type { Serializer } from './serializer.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  // The same view (an untouched session's loaded payload) needs no byte comparison.
  return a === b || (a.length === b.length && Buffer.compare(a, b) === 0);
}

/** Serialized form of one key's value, so "changed" means what the store would see change. */
function encodeEntry(serializer: Serializer, key: string, value: unknown): Uint8Array {
  const single: Record<string, unknown> = Object.create(null);
  single[key] = value;
  return serializer.serialize(single);
}

/**
 * The data this request should write when another request saved first. Keys this request set,
 * changed in place or deleted (compared with what it loaded) are applied on top of `fresh`; every
 * other key keeps the fresh value. After `clear()` the request's own data wins whole, since
 * clearing is a statement about every key, the ones added meanwhile included.
 */
export function reapplyChanges(
  serializer: Serializer,
  loaded: ReadonlyMap<string, unknown>,
  current: ReadonlyMap<string, unknown>,
  fresh: ReadonlyMap<string, unknown>,
  cleared: boolean,
): Map<string, unknown> {
  if (cleared) return new Map(current);
  const merged = new Map(fresh);
  for (const [key, value] of current) {
    if (!loaded.has(key) || !sameBytes(encodeEntry(serializer, key, value), encodeEntry(serializer, key, loaded.get(key)))) {
      merged.set(key, value);
    }
  }
  for (const key of loaded.keys()) if (!current.has(key)) merged.delete(key);
  return merged;
}

export { sameBytes };
