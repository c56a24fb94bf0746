/**
 * Telling "replaced" from "logged out". When a session moves to a new id (login through
 * `newSession()` or `regenerate()`), a small marker record is left under a key derived from the
 * old one. A request that loaded the old session and commits late finds its record gone: with a
 * marker, the session lives on under its new id and the late request sends no cookie (a clearing
 * cookie would log the user out of the new session); without one, it was logged out, and the
 * cookie is cleared as before. The late request's changes go nowhere in both cases.
 */

import { callStore } from './errors.js';
import { digestId } from './id.js';
import type { Store } from './store.js';

/** The marker's bytes: nothing reads them, and no cookie leads to a marker's key. */
const MARKER = new Uint8Array(0);

/** The marker's key: a digest of the old key, so no id (whose digest a cookie yields) can reach it. */
function markerKey(digest: string): string {
  return digestId(`replaced:${digest}`);
}

/** Leaves the marker for a session that moves to a new id, until the old record would have expired. */
export async function markReplaced(store: Store, digest: string, expires: number): Promise<void> {
  const key = markerKey(digest);
  await callStore('create', key, () => store.create(key, { data: MARKER, expires }));
}

/** True when the session behind `digest` moved to a new id rather than being logged out. */
export async function wasReplaced(store: Store, digest: string): Promise<boolean> {
  const key = markerKey(digest);
  const marker = await callStore('get', key, () => store.get(key));
  return marker !== undefined && marker !== null;
}
