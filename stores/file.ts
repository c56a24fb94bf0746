/** FileStore: one file per session, atomic temp-file + rename writes, safe between processes. */

import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { SessionStoreError } from '../src/errors.js';
import { KeyedQueue } from '../src/keyed-queue.js';
import { PruneTimer } from '../src/prune-timer.js';
import type { OwnedRecord, RecordWrite, Store, StoredRecord, StoreEventSink } from '../src/store.js';
import { EXPIRES_OFFSET, encodeExpires, encodeHeader, isLive, isPrunable, type HeaderRead } from './file/header.js';
import { checkOwner } from '../src/option-checks.js';
import { checkWrite, fsFailure, isStoreId, lockTimeout, lostLock } from './file/checks.js';
import { errorCode, peekHeader, readHeader, readRecordFile, writeNewFile } from './file/io.js';
import { acquireLock, releaseLock, stillHeld, type HeldLock } from './file/lock.js';
import { resolveOptions, type FileStoreOptions } from './file/options.js';
import { OwnerIndex } from './file/owners.js';
import { sweep } from './file/sweep.js';

export type { FileStoreOptions } from './file/options.js';

const log = debuglog('koa-session-kit');
const noop = (): void => undefined;

/**
 * Sessions as files: one per session in `dir`, named after the store id (a SHA-256 digest, so
 * nothing a client sends shapes a path). Each file is a 32-byte header (format, expiry, version,
 * lengths), the owner and the data bytes exactly as given. Writes go to a temp file in the same directory,
 * are flushed (`fsync` option) and renamed into place, so a crash leaves the old file or the new
 * one. Version checks hold between processes sharing `dir` (see `file/lock.ts` for how); within
 * a process, writes to one id run one after another. Reads take no lock. A session's owner is also
 * indexed on disk, in `dir/owners/` (see `file/owners.ts`).
 *
 * Pick it for one machine, or several processes on it (cluster), with no database to run.
 */
export class FileStore implements Store {
  readonly #dir: string;
  readonly #fsync: boolean;
  /** Each id's writes in this process, one after another. */
  readonly #queue = new KeyedQueue();
  readonly #owners: OwnerIndex;
  #dirReady: Promise<void> | undefined;
  readonly #prunes: PruneTimer;

  constructor(options: FileStoreOptions) {
    const resolved = resolveOptions(options);
    this.#dir = resolved.dir;
    this.#fsync = resolved.fsync;
    this.#owners = new OwnerIndex(resolved.dir);
    const failed = (error: unknown): void => log('FileStore: scheduled prune of %s failed: %o', this.#dir, error);
    this.#prunes = new PruneTimer('FileStore', () => this.#prune(), resolved.pruneInterval, failed);
  }

  /** The absolute directory the sessions live in. */
  get dir(): string {
    return this.#dir;
  }

  /** Reads without a lock (every file appears whole, by rename); a malformed id, an expired or untrustworthy file is `undefined`. */
  async get(id: string): Promise<StoredRecord | undefined> {
    if (!isStoreId('get', id)) return undefined;
    let read;
    try {
      read = await readRecordFile(this.#sessionPath(id), Date.now());
    } catch (error) {
      throw fsFailure(this.#dir, 'get', error);
    }
    if (read === undefined || read.kind === 'expired') return undefined;
    if (read.kind !== 'record') {
      // Only a power loss with `fsync: false`, or a hand-edited file, makes these: a fresh session.
      const why = read.kind === 'newer' ? `format ${read.format}` : read.kind === 'torn' ? 'length differs from its header' : read.reason;
      log('FileStore: ignoring %s (%s)', this.#sessionPath(id), why);
      return undefined;
    }
    const { expires, version, owner } = read.header;
    return owner === undefined ? { data: read.data, expires, version } : { data: read.data, expires, version, owner };
  }

  /** Writes version 1 unless a live session has the id, in this process or any other sharing `dir`. */
  async create(id: string, record: RecordWrite): Promise<boolean> {
    checkWrite('create', id, record);
    return this.#queued(id, 'create', async () => {
      const path = this.#sessionPath(id);
      const temp = await this.#writeTemp(id, record, 1);
      let placed = false;
      try {
        if (record.owner === undefined) {
          try {
            await link(temp, path); // fails with EEXIST when the name is taken: O_EXCL for a whole file
            return true;
          } catch (error) {
            if (errorCode(error) !== 'EEXIST') throw error;
          }
        }
        // Something holds the name: a live session (refuse), or an expired or corrupt file, which
        // create may replace, under the lock so no locked writer is mid-way on it. An owned session
        // is created under the lock too, its index entry first (see `file/owners.ts`).
        return await this.#locked(id, 'create', async (lock) => {
          const current = await peekHeader(path);
          if (isLive(current, Date.now()) || current?.kind === 'newer') return false;
          if (record.owner !== undefined) await this.#owners.add(record.owner, id);
          if (current === undefined) {
            // Nothing to replace: link, as above, since a lock-free create may take the name meanwhile.
            if (!(await stillHeld(lock))) throw lostLock(this.#dir, 'create');
            try {
              await link(temp, path);
            } catch (error) {
              if (errorCode(error) === 'EEXIST') return false;
              throw error;
            }
          } else {
            await this.#commit(lock, 'create', temp, path);
            placed = true;
          }
          await this.#leaveOwner(current, record.owner, id);
          return true;
        });
      } finally {
        if (!placed) await unlink(temp).catch(noop);
      }
    });
  }

  /** Replaces a live session, at `expectedVersion` when given, under the id's lock: a new file renamed into place. */
  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    checkWrite('update', id, record);
    return this.#queued(id, 'update', () =>
      this.#locked(id, 'update', async (lock) => {
        const path = this.#sessionPath(id);
        const current = await peekHeader(path);
        if (!isLive(current, Date.now())) return undefined;
        if (expectedVersion !== undefined && current.header.version !== expectedVersion) return undefined;
        const version = current.header.version + 1;
        const temp = await this.#writeTemp(id, record, version);
        try {
          if (record.owner !== undefined && record.owner !== current.header.owner) await this.#owners.add(record.owner, id);
          await this.#commit(lock, 'update', temp, path);
        } catch (error) {
          await unlink(temp).catch(noop);
          throw error;
        }
        await this.#leaveOwner(current, record.owner, id);
        return version;
      }),
    );
  }

  /** Rewrites the 8 expiry bytes of a live session in place: no data rewrite, same version. */
  async touch(id: string, expires: number): Promise<boolean> {
    checkWrite('touch', id, { data: new Uint8Array(0), expires });
    return this.#queued(id, 'touch', () =>
      this.#locked(id, 'touch', async (lock) => {
        let handle: FileHandle;
        try {
          handle = await open(this.#sessionPath(id), 'r+');
        } catch (error) {
          if (errorCode(error) === 'ENOENT') return false;
          throw error;
        }
        try {
          if (!isLive(await readHeader(handle), Date.now())) return false;
          if (!(await stillHeld(lock))) throw lostLock(this.#dir, 'touch');
          // Rewriting 8 bytes in place, under the lock, leaves the data alone. The expiry lives in
          // the first disk sector, which is written whole, so a crash leaves the old or new value.
          await handle.write(encodeExpires(expires), 0, 8, EXPIRES_OFFSET);
          if (this.#fsync) await handle.datasync();
          return true;
        } finally {
          await handle.close().catch(noop);
        }
      }),
    );
  }

  /** Removes the session file; a missing one is fine. */
  async destroy(id: string): Promise<void> {
    checkWrite('destroy', id, undefined);
    // Under the lock, so a writer that has checked the file but not yet renamed cannot resurrect it.
    await this.#queued(id, 'destroy', () =>
      this.#locked(id, 'destroy', async () => {
        const path = this.#sessionPath(id);
        const current = await peekHeader(path);
        await unlink(path).catch((error: unknown) => {
          if (errorCode(error) !== 'ENOENT') throw error;
        });
        await this.#leaveOwner(current, undefined, id);
      }),
    );
  }

  /**
   * The owner's live sessions: the ids in its index directory, each read and checked against the
   * record's own owner; entries whose record is gone, expired or someone else's are removed.
   */
  async listOwned(owner: string): Promise<OwnedRecord[]> {
    checkOwner('owner', owner);
    const ids = await this.#ownedIds('listOwned', owner);
    const listed = await Promise.all(
      ids.map(async (id): Promise<OwnedRecord | undefined> => {
        const read = await readRecordFile(this.#sessionPath(id), Date.now()).catch((error: unknown) =>
          Promise.reject(fsFailure(this.#dir, 'listOwned', error)),
        );
        if (read?.kind === 'record' && read.header.owner === owner) return { id, data: read.data, expires: read.header.expires };
        if (read?.kind !== 'newer') await this.#dropOwned('listOwned', owner, id, false);
        return undefined;
      }),
    );
    return listed.filter((record) => record !== undefined);
  }

  /** Destroys each of the owner's sessions but `except`, each under its lock; resolves to how many live ones went. */
  async destroyOwned(owner: string, except?: string): Promise<number> {
    checkOwner('owner', owner);
    const ids = (await this.#ownedIds('destroyOwned', owner)).filter((id) => id !== except);
    const gone = await Promise.all(ids.map((id) => this.#dropOwned('destroyOwned', owner, id, true)));
    return gone.filter(Boolean).length;
  }

  /**
   * Removes expired sessions, files this store cannot have written whole, temp files older than
   * a minute and stale locks, reading headers only. Resolves to how many sessions
   * (expired or corrupt) went. A call while one runs joins it.
   */
  prune(): Promise<number> {
    return this.#prunes.prune();
  }

  /** Where the scheduled prune reports `prune-finished` and `prune-failed` (see `Store.setEventSink`). */
  setEventSink(sink: StoreEventSink | undefined): void {
    this.#prunes.setEventSink(sink);
  }

  /** Stops the prune timer and waits for running work; the store stays usable (it holds nothing open). */
  async close(): Promise<void> {
    await Promise.all([this.#prunes.stop(), this.#queue.settled()]);
  }

  async #prune(): Promise<number> {
    try {
      return await sweep(
        this.#dir,
        (id) => this.#pruneSession(id),
        (id) => this.#tempPath(id),
      );
    } catch (error) {
      throw error instanceof SessionStoreError ? error : fsFailure(this.#dir, 'prune', error);
    }
  }

  /** True when the session was removed: expired, or not a whole file of a format we know. */
  async #pruneSession(id: string): Promise<boolean> {
    const path = this.#sessionPath(id);
    if (!isPrunable(await peekHeader(path), Date.now())) return false;
    // Check again under the lock: a create may have replaced it since.
    return this.#queued(id, 'prune', () =>
      this.#locked(id, 'prune', async () => {
        const current = await peekHeader(path);
        if (!isPrunable(current, Date.now())) return false;
        try {
          await unlink(path);
        } catch (error) {
          if (errorCode(error) === 'ENOENT') return false;
          throw error;
        }
        await this.#leaveOwner(current, undefined, id);
        return true;
      }),
    );
  }

  #ownedIds(operation: string, owner: string): Promise<string[]> {
    return this.#owners.ids(owner).catch((error: unknown) => Promise.reject(fsFailure(this.#dir, operation, error)));
  }

  /**
   * Under the id's lock: removes the index entry unless the record is a live session of `owner`
   * (when `destroy` is false) and, when `destroy` is true, the owner's record too. True when a live
   * session of the owner was destroyed.
   */
  #dropOwned(operation: string, owner: string, id: string, destroy: boolean): Promise<boolean> {
    return this.#queued(id, operation, () =>
      this.#locked(id, operation, async () => {
        const path = this.#sessionPath(id);
        const current = await peekHeader(path);
        if (current?.kind === 'newer') return false;
        const owned = current?.kind === 'header' && current.header.owner === owner;
        if (owned && !destroy && isLive(current, Date.now())) return false;
        if (owned && destroy) {
          await unlink(path).catch((error: unknown) => {
            if (errorCode(error) !== 'ENOENT') throw error;
          });
        }
        await this.#owners.remove(owner, id);
        return owned && destroy && isLive(current, Date.now());
      }),
    );
  }

  /** After a write under the lock: forgets the record's previous owner when it has another now (or none). */
  async #leaveOwner(previous: HeaderRead | undefined, owner: string | undefined, id: string): Promise<void> {
    if (previous?.kind !== 'header' || previous.header.owner === undefined || previous.header.owner === owner) return;
    // The record is written: a stale entry left by a failure here is dropped by the next listing.
    await this.#owners
      .remove(previous.header.owner, id)
      .catch((error: unknown) => log('FileStore: could not update the owner index: %o', error));
  }

  /** Writes header, owner and data to a fresh temp file in `dir`, flushed when `fsync` is on. */
  async #writeTemp(id: string, record: RecordWrite, version: number): Promise<string> {
    await this.#ensureDir();
    const owner = Buffer.from(record.owner ?? '', 'utf8');
    const chunks = [encodeHeader(record.expires, version, record.data.length, owner.length), owner, record.data];
    const temp = this.#tempPath(id);
    try {
      await writeNewFile(temp, chunks, this.#fsync);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      this.#dirReady = undefined; // the directory was removed under us: make it again, once
      await this.#ensureDir();
      await writeNewFile(temp, chunks, this.#fsync);
    }
    return temp;
  }

  async #commit(lock: HeldLock, operation: string, temp: string, path: string): Promise<void> {
    if (!(await stillHeld(lock))) throw lostLock(this.#dir, operation);
    await rename(temp, path);
  }

  /** Runs `task` holding the id's lock file. */
  async #locked<T>(id: string, operation: string, task: (lock: HeldLock) => Promise<T>): Promise<T> {
    await this.#ensureDir();
    const path = join(this.#dir, `${id}.lock`);
    const lock = await acquireLock(path, () => this.#tempPath(id)).catch(async (error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error;
      this.#dirReady = undefined; // the directory was removed under us: make it again, once
      await this.#ensureDir();
      return acquireLock(path, () => this.#tempPath(id));
    });
    if (lock === undefined) throw lockTimeout(this.#dir, operation);
    try {
      return await task(lock);
    } finally {
      await releaseLock(lock).catch((error: unknown) => log('FileStore: could not release %s: %o', lock.path, error));
    }
  }

  /** Chains `task` after the id's earlier writes in this process; fs errors come out wrapped. */
  #queued<T>(id: string, operation: string, task: () => Promise<T>): Promise<T> {
    return this.#queue.run(id, async () => {
      try {
        return await task();
      } catch (error) {
        throw error instanceof SessionStoreError ? error : fsFailure(this.#dir, operation, error);
      }
    });
  }

  #ensureDir(): Promise<void> {
    this.#dirReady ??= mkdir(this.#dir, { recursive: true, mode: 0o700 }).then(noop, (error: unknown) => {
      this.#dirReady = undefined;
      throw error;
    });
    return this.#dirReady;
  }

  #sessionPath(id: string): string {
    return join(this.#dir, `${id}.sess`);
  }

  #tempPath(id: string): string {
    return join(this.#dir, `${id}.${randomBytes(8).toString('hex')}.tmp`);
  }
}
