/** FileStore: one file per session, atomic temp-file + rename writes, safe between processes. */

import { randomBytes } from 'node:crypto';
import { link, mkdir, open, opendir, rename, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { SessionStoreError } from '../src/errors.js';
import { KeyedQueue } from '../src/keyed-queue.js';
import type { RecordWrite, Store, StoredRecord } from '../src/store.js';
import { EXPIRES_OFFSET, MAX_DATA_BYTES, encodeExpires, encodeHeader, type FileHeader, type HeaderRead } from './file/header.js';
import { errorCode, readHeader, readRecordFile, writeAll } from './file/io.js';
import { LOCK_WAIT_MS, acquireLock, breakIfStale, releaseLock, stillHeld, type HeldLock } from './file/lock.js';
import { resolveOptions, type FileStoreOptions } from './file/options.js';

export type { FileStoreOptions } from './file/options.js';

/** A temp file older than this belongs to a writer that died; no live write takes a minute. */
const STALE_TEMP_MS = 60_000;

/** The ids a store is given: SHA-256 digests in base64url. Nothing else may become a file name. */
const STORE_ID = /^[A-Za-z0-9_-]{43}$/;
const SESSION_NAME = /^([A-Za-z0-9_-]{43})\.sess$/;
const TEMP_NAME = /^[A-Za-z0-9_-]{43}\.[0-9a-f]{16}\.tmp$/;
const LOCK_NAME = /^[A-Za-z0-9_-]{43}\.lock$/;

const log = debuglog('koa-session-kit');
const noop = (): void => undefined;

const isLive = (read: HeaderRead | undefined): read is { kind: 'header'; header: FileHeader } =>
  read?.kind === 'header' && read.header.expires > Date.now();

/**
 * Sessions as files: one per session in `dir`, named after the store id (a SHA-256 digest, so
 * nothing a client sends shapes a path). Each file is a 32-byte header (format, expiry, version,
 * length) and the data bytes exactly as given. Writes go to a temp file in the same directory,
 * are flushed (`fsync` option) and renamed into place, so a crash leaves the old file or the new
 * one. Version checks hold between processes sharing `dir` (see `file/lock.ts` for how); within
 * a process, writes to one id run one after another. Reads take no lock.
 *
 * Pick it for one machine, or several processes on it (cluster), with no database to run.
 */
export class FileStore implements Store {
  readonly #dir: string;
  readonly #fsync: boolean;
  /** Each id's writes in this process, one after another. */
  readonly #queue = new KeyedQueue();
  #dirReady: Promise<void> | undefined;
  #pruning: Promise<number> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: FileStoreOptions) {
    const resolved = resolveOptions(options);
    this.#dir = resolved.dir;
    this.#fsync = resolved.fsync;
    if (resolved.pruneInterval !== false) {
      this.#timer = setInterval(() => {
        this.prune().catch((error: unknown) => log('FileStore: scheduled prune of %s failed: %o', this.#dir, error));
      }, resolved.pruneInterval);
      this.#timer.unref();
    }
  }

  /** The absolute directory the sessions live in. */
  get dir(): string {
    return this.#dir;
  }

  /** Reads without a lock (every file appears whole, by rename); a malformed id, an expired or untrustworthy file is `undefined`. */
  async get(id: string): Promise<StoredRecord | undefined> {
    if (!this.#validId('get', id)) return undefined;
    let read;
    try {
      read = await readRecordFile(this.#sessionPath(id), Date.now());
    } catch (error) {
      throw this.#wrap('get', error);
    }
    if (read === undefined || read.kind === 'expired') return undefined;
    if (read.kind !== 'record') {
      // Only a power loss with `fsync: false`, or a hand-edited file, makes these: a fresh session.
      const why = read.kind === 'newer' ? `format ${read.format}` : read.kind === 'torn' ? 'length differs from its header' : read.reason;
      log('FileStore: ignoring %s (%s)', this.#sessionPath(id), why);
      return undefined;
    }
    return { data: read.data, expires: read.header.expires, version: read.header.version };
  }

  /** Writes version 1 unless a live session has the id, in this process or any other sharing `dir`. */
  async create(id: string, record: RecordWrite): Promise<boolean> {
    this.#checkWrite('create', id, record);
    return this.#queued(id, 'create', async () => {
      const path = this.#sessionPath(id);
      const temp = await this.#writeTemp(id, record, 1);
      let placed = false;
      try {
        try {
          await link(temp, path); // fails with EEXIST when the name is taken: O_EXCL for a whole file
          return true;
        } catch (error) {
          if (errorCode(error) !== 'EEXIST') throw error;
        }
        // Something holds the name: a live session (refuse), or an expired or corrupt file, which
        // create may replace, under the lock so no locked writer is mid-way on it.
        return await this.#locked(id, 'create', async (lock) => {
          const current = await this.#peek(path);
          if (isLive(current) || current?.kind === 'newer') return false;
          await this.#commit(lock, 'create', temp, path);
          placed = true;
          return true;
        });
      } finally {
        if (!placed) await unlink(temp).catch(noop);
      }
    });
  }

  /** Replaces a live session, at `expectedVersion` when given, under the id's lock: a new file renamed into place. */
  async update(id: string, record: RecordWrite, expectedVersion?: number): Promise<number | undefined> {
    this.#checkWrite('update', id, record);
    return this.#queued(id, 'update', () =>
      this.#locked(id, 'update', async (lock) => {
        const path = this.#sessionPath(id);
        const current = await this.#peek(path);
        if (!isLive(current)) return undefined;
        if (expectedVersion !== undefined && current.header.version !== expectedVersion) return undefined;
        const version = current.header.version + 1;
        const temp = await this.#writeTemp(id, record, version);
        try {
          await this.#commit(lock, 'update', temp, path);
        } catch (error) {
          await unlink(temp).catch(noop);
          throw error;
        }
        return version;
      }),
    );
  }

  /** Rewrites the 8 expiry bytes of a live session in place: no data rewrite, same version. */
  async touch(id: string, expires: number): Promise<boolean> {
    this.#checkWrite('touch', id, { data: new Uint8Array(0), expires });
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
          if (!isLive(await readHeader(handle))) return false;
          if (!(await stillHeld(lock))) throw this.#lostLock('touch');
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
    this.#checkWrite('destroy', id, undefined);
    // Under the lock, so a writer that has checked the file but not yet renamed cannot resurrect it.
    await this.#queued(id, 'destroy', () =>
      this.#locked(id, 'destroy', async () => {
        await unlink(this.#sessionPath(id)).catch((error: unknown) => {
          if (errorCode(error) !== 'ENOENT') throw error;
        });
      }),
    );
  }

  /**
   * Removes expired sessions, files this store cannot have written whole, temp files older than
   * a minute and stale locks, reading 32-byte headers only. Resolves to how many sessions
   * (expired or corrupt) went. A call while one runs joins it.
   */
  prune(): Promise<number> {
    this.#pruning ??= this.#prune().finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
  }

  /** Stops the prune timer and waits for running work; the store stays usable (it holds nothing open). */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all([this.#pruning?.catch(noop), this.#queue.settled()]);
  }

  async #prune(): Promise<number> {
    let entries;
    try {
      entries = await opendir(this.#dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return 0;
      throw this.#wrap('prune', error);
    }
    let removed = 0;
    try {
      for await (const entry of entries) {
        if (!entry.isFile()) continue;
        const path = join(this.#dir, entry.name);
        const session = SESSION_NAME.exec(entry.name);
        if (session !== null) {
          if (await this.#pruneSession(session[1]!)) removed++;
        } else if (TEMP_NAME.test(entry.name)) {
          const info = await stat(path).catch(() => undefined);
          if (info !== undefined && Date.now() - info.mtimeMs > STALE_TEMP_MS) await unlink(path).catch(noop);
        } else if (LOCK_NAME.test(entry.name)) {
          await breakIfStale(path, () => this.#tempPath(entry.name.slice(0, 43)));
        }
      }
    } catch (error) {
      throw error instanceof SessionStoreError ? error : this.#wrap('prune', error);
    }
    return removed;
  }

  /** True when the session was removed: expired, or not a whole file of a format we know. */
  async #pruneSession(id: string): Promise<boolean> {
    const path = this.#sessionPath(id);
    if (!this.#prunable(await this.#peek(path))) return false;
    // Check again under the lock: a create may have replaced it since.
    return this.#queued(id, 'prune', () =>
      this.#locked(id, 'prune', async () => {
        if (!this.#prunable(await this.#peek(path))) return false;
        try {
          await unlink(path);
          return true;
        } catch (error) {
          if (errorCode(error) === 'ENOENT') return false;
          throw error;
        }
      }),
    );
  }

  #prunable(read: HeaderRead | undefined): boolean {
    if (read === undefined || read.kind === 'newer') return false;
    return read.kind === 'corrupt' || read.header.expires <= Date.now();
  }

  /** The header of the file at `path` (see `readHeader`), `undefined` when there is none. */
  async #peek(path: string): Promise<HeaderRead | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return await readHeader(handle);
    } finally {
      await handle.close().catch(noop);
    }
  }

  /** Writes header and data to a fresh temp file in `dir`, flushed when `fsync` is on; removes it on failure. */
  async #writeTemp(id: string, record: RecordWrite, version: number): Promise<string> {
    await this.#ensureDir();
    const temp = this.#tempPath(id);
    let handle: FileHandle;
    try {
      handle = await open(temp, 'wx', 0o600);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      // The directory was removed under us: make it again, once.
      this.#dirReady = undefined;
      await this.#ensureDir();
      handle = await open(temp, 'wx', 0o600);
    }
    try {
      await writeAll(handle, [encodeHeader(record.expires, version, record.data.length), record.data]);
      if (this.#fsync) await handle.datasync();
      await handle.close();
    } catch (error) {
      await handle.close().catch(noop);
      await unlink(temp).catch(noop);
      throw error;
    }
    return temp;
  }

  async #commit(lock: HeldLock, operation: string, temp: string, path: string): Promise<void> {
    if (!(await stillHeld(lock))) throw this.#lostLock(operation);
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
    if (lock === undefined) {
      throw new SessionStoreError(
        `koa-session-kit: FileStore could not ${operation} a session in ${this.#dir}: its lock stayed taken for ${LOCK_WAIT_MS} ms`,
        { operation },
      );
    }
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
        throw error instanceof SessionStoreError ? error : this.#wrap(operation, error);
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

  #validId(operation: string, id: unknown): id is string {
    if (typeof id === 'string' && STORE_ID.test(id)) return true;
    log('FileStore: %s refused an id that is not a 43-character base64url digest', operation);
    return false;
  }

  /** Throws (into the caller's rejection) before any file is touched when the input is not a store id and a record. */
  #checkWrite(operation: string, id: unknown, record: RecordWrite | undefined): void {
    if (!this.#validId(operation, id)) {
      throw new SessionStoreError(
        `koa-session-kit: FileStore refused to ${operation} a session: the id is not a 43-character base64url digest`,
        { operation },
      );
    }
    if (record === undefined) return;
    if (!(record.data instanceof Uint8Array) || record.data.length > MAX_DATA_BYTES || !Number.isFinite(record.expires)) {
      throw new SessionStoreError(
        `koa-session-kit: FileStore refused to ${operation} a session: it needs data bytes (at most 4 GiB) and a finite expiry`,
        { operation },
      );
    }
  }

  #sessionPath(id: string): string {
    return join(this.#dir, `${id}.sess`);
  }

  #tempPath(id: string): string {
    return join(this.#dir, `${id}.${randomBytes(8).toString('hex')}.tmp`);
  }

  #lostLock(operation: string): SessionStoreError {
    return new SessionStoreError(
      `koa-session-kit: FileStore gave up on ${operation} in ${this.#dir}: it held the lock so long that another process broke it`,
      { operation },
    );
  }

  #wrap(operation: string, cause: unknown): SessionStoreError {
    const code = errorCode(cause);
    const why = typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
    return new SessionStoreError(`koa-session-kit: FileStore could not ${operation} a session in ${this.#dir} (${why})`, {
      operation,
      cause,
    });
  }
}
