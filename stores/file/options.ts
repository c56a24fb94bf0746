/** FileStore's options: their documentation, validation and defaults, checked once in the constructor. */

import { resolve } from 'node:path';

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
   * Run `FileStore#prune()` every this many ms on an unref'd timer (it never keeps the process
   * alive); `close()` stops it. Expired sessions are never served either way: pruning only frees disk.
   * @default undefined (no timer: call `prune()` yourself, e.g. from a cron job)
   * @example 3_600_000
   */
  pruneInterval?: number;
}

/** Options after validation, every default applied. */
export interface ResolvedFileStoreOptions {
  /** Absolute, so a later `process.chdir()` changes nothing. */
  readonly dir: string;
  readonly fsync: boolean;
  readonly pruneInterval: number | undefined;
}

/** One entry per option, so the compiler fails when an option is added to the type but not here. */
const OPTION_KEYS: { readonly [K in keyof Required<FileStoreOptions>]: true } = { dir: true, fsync: true, pruneInterval: true };
/** Names other file stores use, and ours. */
const FOREIGN_OPTIONS: Readonly<Record<string, string>> = {
  path: '`dir`',
  directory: '`dir`',
  reapInterval: '`pruneInterval` (ms)',
  ttl: 'nothing: expiry comes from the session middleware',
};
/** setInterval() treats anything larger as 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** Validates `options` synchronously (TypeError for a wrong type, RangeError out of range); never mutates them. */
export function resolveOptions(options: unknown): ResolvedFileStoreOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`koa-session-kit: FileStore options must be an object (received ${describeValue(options)})`);
  }
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(OPTION_KEYS, key)) continue;
    const hint = FOREIGN_OPTIONS[key];
    throw new TypeError(`koa-session-kit: \`${key}\` is not a FileStore option` + (hint === undefined ? '' : `; did you mean ${hint}?`));
  }
  const { dir, fsync = true, pruneInterval } = options as Partial<Record<keyof FileStoreOptions, unknown>>; // keys checked above
  if (typeof dir !== 'string' || dir === '' || dir.includes('\0')) {
    throw new TypeError(`koa-session-kit: \`dir\` must be a non-empty path without NUL characters (received ${describeValue(dir)})`);
  }
  if (typeof fsync !== 'boolean') {
    throw new TypeError(`koa-session-kit: \`fsync\` must be a boolean (received ${describeValue(fsync)})`);
  }
  if (pruneInterval !== undefined) {
    if (typeof pruneInterval !== 'number') {
      throw new TypeError(`koa-session-kit: \`pruneInterval\` must be a number of ms (received ${describeValue(pruneInterval)})`);
    }
    if (!(pruneInterval > 0 && pruneInterval <= MAX_TIMER_MS)) {
      throw new RangeError(
        `koa-session-kit: \`pruneInterval\` must be more than 0 and at most ${MAX_TIMER_MS} ms (received ${pruneInterval})`,
      );
    }
  }
  return { dir: resolve(dir), fsync, pruneInterval };
}
