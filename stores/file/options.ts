/** FileStore's options: their documentation, validation and defaults, checked once in the constructor. */

import { resolve } from 'node:path';
import {
  checkBoolean,
  checkOptions,
  checkPruneInterval,
  wrongType,
  type ForeignOptions,
  type OptionRegistry,
} from '../../src/option-checks.js';

/** Options for `FileStore`. */
export interface FileStoreOptions {
  /**
   * The directory holding one file per session. Created (mode 0700) on first write when missing;
   * an existing directory keeps its mode. Point every process that serves the site at the same one.
   * @example new FileStore({ dir: '/var/lib/myapp/sessions' })
   */
  dir: string;
  /**
   * Flush each write to disk (`fdatasync`) before renaming it into place. Off, writes are several
   * times faster, and a power loss (not a process crash) may lose or tear recent sessions: a torn
   * file then reads as missing, so its user starts a fresh session.
   * @default true
   */
  fsync?: boolean;
  /**
   * How often, in ms, to remove expired session files (`FileStore#prune()`) on an unref'd timer (it
   * never keeps the process alive); `false` for no timer, e.g. when a cron job calls `prune()`.
   * `close()` stops it. Expired sessions are never served either way: pruning only frees disk.
   * @default false (no timer: call `prune()` yourself, or set an interval)
   * @example 3_600_000
   */
  pruneInterval?: number | false;
}

/** Options after validation, every default applied. */
export interface ResolvedFileStoreOptions {
  /** Absolute, so a later `process.chdir()` changes nothing. */
  readonly dir: string;
  readonly fsync: boolean;
  readonly pruneInterval: number | false;
}

/** One entry per option, so the compiler fails when an option is added to the type but not here. */
const OPTION_KEYS: OptionRegistry<FileStoreOptions> = { dir: true, fsync: true, pruneInterval: true };
/** Names other file stores use, and ours. */
const FOREIGN_OPTIONS: ForeignOptions = {
  path: '`dir`',
  directory: '`dir`',
  reapInterval: '`pruneInterval` (ms)',
  ttl: 'nothing: expiry comes from the session middleware',
};

/** Validates `options` synchronously (TypeError for a wrong type, RangeError out of range); never mutates them. */
export function resolveOptions(options: unknown): ResolvedFileStoreOptions {
  checkOptions('FileStore', options, OPTION_KEYS, FOREIGN_OPTIONS);
  const { dir } = options;
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0')) throw wrongType('dir', 'a non-empty path without NUL characters', dir);
  const fsync = checkBoolean('fsync', options.fsync ?? true);
  return { dir: resolve(dir), fsync, pruneInterval: checkPruneInterval(options.pruneInterval, false) };
}
