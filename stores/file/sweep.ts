/** FileStore's prune walk: which files in `dir` are expired sessions, leftover temp files or stale locks. */

import { opendir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from './io.js';
import { breakIfStale } from './lock.js';

/** A temp file older than this belongs to a writer that died; no live write takes a minute. */
const STALE_TEMP_MS = 60_000;

const SESSION_NAME = /^([A-Za-z0-9_-]{43})\.sess$/;
const TEMP_NAME = /^[A-Za-z0-9_-]{43}\.[0-9a-f]{16}\.tmp$/;
const LOCK_NAME = /^[A-Za-z0-9_-]{43}\.lock$/;

/**
 * Walks `dir` once (subdirectories, such as the owner index, are not its business): hands each
 * session id to `pruneSession`, removes temp files older than a minute, breaks stale locks (aside
 * to `tempPath(id)`). Resolves to how many sessions `pruneSession` removed; a missing `dir` is 0.
 */
export async function sweep(
  dir: string,
  pruneSession: (id: string) => Promise<boolean>,
  tempPath: (id: string) => string,
): Promise<number> {
  let entries;
  try {
    entries = await opendir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 0;
    throw error;
  }
  let removed = 0;
  for await (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(dir, entry.name);
    const session = SESSION_NAME.exec(entry.name);
    if (session !== null) {
      if (await pruneSession(session[1]!)) removed++;
    } else if (TEMP_NAME.test(entry.name)) {
      const info = await stat(path).catch(() => undefined);
      if (info !== undefined && Date.now() - info.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(() => undefined);
    } else if (LOCK_NAME.test(entry.name)) {
      await breakIfStale(path, () => tempPath(entry.name.slice(0, 43)));
    }
  }
  return removed;
}
