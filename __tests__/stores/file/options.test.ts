/** new FileStore(options): every rule checked synchronously, with the library's message pattern. */

import { describe, expect, it } from '@jest/globals';
import { FileStore, type FileStoreOptions } from '../../../stores/file.js';

const make = (options: unknown) => () => new FileStore(options as FileStoreOptions); // wrong on purpose

describe('new FileStore(options)', () => {
  it('throws a TypeError without an options object', () => {
    expect(make(undefined)).toThrow(new TypeError('koa-session-kit: FileStore options must be an object (received undefined)'));
    expect(make('sessions')).toThrow(TypeError);
  });

  it('throws a TypeError when `dir` is missing, empty, not a string, or holds a NUL', () => {
    expect(make({})).toThrow(new TypeError('koa-session-kit: `dir` must be a non-empty path without NUL characters (received undefined)'));
    expect(make({ dir: '' })).toThrow(
      new TypeError('koa-session-kit: `dir` must be a non-empty path without NUL characters (received "")'),
    );
    expect(make({ dir: 42 })).toThrow(TypeError);
    expect(make({ dir: 'a\0b' })).toThrow(TypeError);
  });

  it('throws a TypeError when `fsync` is not a boolean', () => {
    expect(make({ dir: 'x', fsync: 'yes' })).toThrow(new TypeError('koa-session-kit: `fsync` must be a boolean (received "yes")'));
    expect(make({ dir: 'x', fsync: 0 })).toThrow(TypeError);
  });

  it('throws a TypeError for a `pruneInterval` that is not a number, a RangeError outside 1 ms..2^31-1 ms', () => {
    expect(make({ dir: 'x', pruneInterval: '1000' })).toThrow(
      new TypeError('koa-session-kit: `pruneInterval` must be a whole number of milliseconds, or false (received "1000")'),
    );
    expect(make({ dir: 'x', pruneInterval: 0 })).toThrow(
      new RangeError('koa-session-kit: `pruneInterval` must be more than 0 and at most 2147483647 ms (received 0)'),
    );
    for (const value of [-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])
      expect(make({ dir: 'x', pruneInterval: value })).toThrow(RangeError);
  });

  it('throws a TypeError for an unknown option, with a hint for names other stores use', () => {
    expect(make({ dir: 'x', path: 'y' })).toThrow(new TypeError('koa-session-kit: `path` is not a FileStore option; did you mean `dir`?'));
    expect(make({ dir: 'x', reapInterval: 10 })).toThrow(/did you mean `pruneInterval` \(ms\)\?/);
    expect(make({ dir: 'x', nonsense: 1 })).toThrow(new TypeError('koa-session-kit: `nonsense` is not a FileStore option'));
  });

  it('points a misspelt option at the one it resembles, and takes pruneInterval: false', () => {
    expect(make({ dir: 'x', fsnyc: false })).toThrow(
      new TypeError('koa-session-kit: `fsnyc` is not a FileStore option; did you mean `fsync`?'),
    );
    expect(make({ dir: 'x', PruneInterval: 10 })).toThrow(/did you mean `pruneInterval`\?/);
    const store = new FileStore({ dir: 'x', pruneInterval: false });
    return store.close();
  });

  it('accepts a frozen options object, `undefined` values meaning the defaults, and never mutates it', () => {
    const options = Object.freeze({ dir: 'x', fsync: undefined, pruneInterval: undefined });
    expect(make(options)).not.toThrow();
    expect(options).toEqual({ dir: 'x', fsync: undefined, pruneInterval: undefined });
  });
});
