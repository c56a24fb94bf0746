/** FileStore's per-id lock file: what makes read-check-write steps safe between processes. */

import { randomBytes } from 'node:crypto';
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { errorCode, unlessMissing } from './io.js';

/*
 * Why a lock file, and how it stays safe.
 *
 * Readers never lock: every session file appears by rename() or link(), so a reader that opens
 * the name sees a whole file, old or new. Writers that must check before they act (update at a
 * version, touch, destroy, create over an expired file, prune) first link() a temp file holding
 * their {pid, host, time, token} to `<id>.lock`, which exactly one process can win and which is
 * never seen empty (an O_EXCL create is, between open and write: a writer killed there left a lock
 * nobody could attribute, and every request on that session waited LOCK_STALE_MS); the holder reads the header, writes a temp
 * file, renames it over the session and unlinks the lock. A plain create needs no lock: link()
 * of its temp file fails with EEXIST when the name is taken, and locked writers only ever act on a
 * name that exists, so the two never step on each other.
 *
 * A holder that dies leaves its lock behind. The lock file holds {pid, host, time, token}; it is
 * stale when its owner is a process on this host that no longer exists (recovered at once, which
 * covers crashes and SIGKILL), or when it is older than LOCK_STALE_MS (other hosts on a shared
 * directory, and recycled pids). A stale lock is broken by rename()-ing it aside, which only one
 * of several breakers can do; the breaker then checks it moved the lock it judged stale, and puts
 * back (link) a fresh one it moved by mistake. A holder whose work outlasts LOCK_VERIFY_AFTER_MS
 * re-reads its lock before committing, and gives up if the lock is no longer its own. The one
 * window left, a holder paused for over LOCK_STALE_MS between that check and its rename(), is the
 * price of not having fencing tokens on a plain filesystem; the critical section is one file write.
 */

/** A lock older than this is stale whoever holds it: the critical section is one file write. */
export const LOCK_STALE_MS = 5_000;
/** How long an operation waits for a lock before failing; longer than {@link LOCK_STALE_MS} so
 * a lock left by a crashed process on another host is always broken within one wait. */
export const LOCK_WAIT_MS = 10_000;
/** A holder that has held its lock this long checks it is still its own before committing. */
const LOCK_VERIFY_AFTER_MS = 1_000;
/** Retry delays grow from 1 ms to this cap (with jitter) while another process holds the lock. */
const MAX_BACKOFF_MS = 20;

const HOST = hostname();

/** A lock this process holds. */
export interface HeldLock {
  readonly path: string;
  /** The exact bytes written, so the holder can tell its lock from someone else's. */
  readonly content: string;
  /** `performance.now()` when it was taken. */
  readonly acquiredAt: number;
}

interface LockOwner {
  pid: number;
  host: string;
  time: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function parseOwner(content: string): LockOwner | undefined {
  try {
    const value: unknown = JSON.parse(content);
    if (typeof value !== 'object' || value === null) return undefined;
    const { pid, host, time } = value as Record<string, unknown>;
    if (Number.isSafeInteger(pid) && typeof host === 'string' && typeof time === 'number') {
      return { pid: pid as number, host, time }; // pid checked by isSafeInteger just above
    }
  } catch {
    // Locks are linked whole; an empty or foreign one (an older version's, a hand-made one) is judged by its mtime.
  }
  return undefined;
}

/** True unless the OS says there is no such process (EPERM means it exists under another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Takes the lock at `path`, waiting while a live holder has it and breaking a stale one.
 * Resolves to `undefined` after {@link LOCK_WAIT_MS} without success. `aside` names a fresh
 * temp path (prune collects leftovers) for breaking a stale lock.
 */
export async function acquireLock(path: string, aside: () => string): Promise<HeldLock | undefined> {
  const deadline = performance.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    // Written fresh on every attempt, so `time` says when the lock was taken, not when waiting began.
    const content = JSON.stringify({ pid: process.pid, host: HOST, time: Date.now(), token: randomBytes(8).toString('hex') });
    if (await linkLock(path, content, aside())) return { path, content, acquiredAt: performance.now() };
    if (await breakIfStale(path, aside)) continue;
    if (performance.now() > deadline) return undefined;
    await sleep(Math.min(2 ** attempt, MAX_BACKOFF_MS) * (0.5 + Math.random()));
  }
}

/** Writes `content` to `temp` and links it to `path`: true when this made the lock, false when one exists. */
async function linkLock(path: string, content: string, temp: string): Promise<boolean> {
  try {
    // Inside the try: a write that fails after the open (ENOSPC on a full disk) leaves an empty temp file.
    await writeFile(temp, content, { flag: 'wx', mode: 0o600 });
    await link(temp, path);
    return true;
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
    return false;
  } finally {
    // A process killed before this line leaves the temp file; prune() collects such leftovers.
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * Removes the lock at `path` if its holder is gone or it is older than {@link LOCK_STALE_MS}.
 * True when the lock is gone (broken here, or released meanwhile); false while it is live.
 */
export async function breakIfStale(path: string, aside: () => string): Promise<boolean> {
  const content = await unlessMissing(readFile(path, 'utf8'));
  if (content === undefined) return true;
  const owner = parseOwner(content);
  let age: number;
  if (owner !== undefined) {
    age = Date.now() - owner.time;
  } else {
    try {
      age = Date.now() - (await stat(path)).mtimeMs;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return true;
      throw error;
    }
  }
  const ownerGone = owner !== undefined && owner.host === HOST && !processExists(owner.pid);
  if (!ownerGone && age <= LOCK_STALE_MS) return false;

  const moved = aside();
  try {
    await rename(path, moved);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true; // another breaker, or the holder, got there first
    throw error;
  }
  let movedContent = '';
  try {
    movedContent = await readFile(moved, 'utf8');
  } catch {
    // Unreadable: treat as the fresh lock of someone else and try to put it back.
  }
  if (movedContent !== content) {
    // Between our read and our rename the stale lock was broken and retaken: we moved a live
    // lock. Put it back unless yet another process already holds the name (then its holder's
    // pre-commit check, or the next stale check, sorts it out).
    await link(moved, path).catch(() => undefined);
  }
  await unlink(moved).catch(() => undefined);
  return true;
}

/** False when the lock was broken and is no longer this holder's; only checked after a long hold. */
export async function stillHeld(lock: HeldLock): Promise<boolean> {
  if (performance.now() - lock.acquiredAt < LOCK_VERIFY_AFTER_MS) return true;
  return (await unlessMissing(readFile(lock.path, 'utf8'))) === lock.content; // a missing lock is no one's
}

/** Gives the lock up; leaves alone a lock that is no longer this holder's. */
export async function releaseLock(lock: HeldLock): Promise<void> {
  if (!(await stillHeld(lock))) return;
  await unlessMissing(unlink(lock.path));
}
