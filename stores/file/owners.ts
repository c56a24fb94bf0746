/** FileStore's owner index: a directory per owner holding an empty file per session id. */

import { createHash } from 'node:crypto';
import { mkdir, readdir, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STORE_ID } from './checks.js';
import { errorCode } from './io.js';
/** An owner's directory is recreated this many times when another process removes it as it adds an entry. */
const ADD_ATTEMPTS = 5;

/*
 * Why entries are hints, and why that is safe. `<dir>/owners/<digest of owner>/<id>` says "the
 * session <id> may be this owner's": an entry is written before a record gets that owner and
 * removed after it loses it (both under the record's lock), so every record with an owner has its
 * entry, whatever crashes in between. What a crash can leave is the reverse, an entry whose record
 * is gone or someone else's: listOwned and destroyOwned read each record's own owner before they
 * trust an entry, and remove the entries that lie (again under the record's lock, so an entry
 * written for a create still in flight is never taken for a lie). The directory name is a digest,
 * so no owner string shapes a path; a directory left empty is removed, and made again on demand.
 */

/** The owner index under one store directory. */
export class OwnerIndex {
  readonly #root: string;

  constructor(dir: string) {
    this.#root = join(dir, 'owners');
  }

  /** Records that `id` may be `owner`'s session; call before the record gets that owner. */
  async add(owner: string, id: string): Promise<void> {
    const dir = this.#dirOf(owner);
    for (let attempt = 1; ; attempt++) {
      try {
        await writeFile(join(dir, id), '', { mode: 0o600 });
        return;
      } catch (error) {
        if (errorCode(error) !== 'ENOENT' || attempt === ADD_ATTEMPTS) throw error;
        await mkdir(dir, { recursive: true, mode: 0o700 });
      }
    }
  }

  /** Forgets that `id` is `owner`'s, and the owner's directory once it is empty. */
  async remove(owner: string, id: string): Promise<void> {
    const dir = this.#dirOf(owner);
    try {
      await unlink(join(dir, id));
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    // Fails while other entries remain, or when another process removed it first: both are fine.
    await rmdir(dir).catch(() => undefined);
  }

  /** The ids that may be `owner`'s sessions (each to be checked against its record). */
  async ids(owner: string): Promise<string[]> {
    try {
      return (await readdir(this.#dirOf(owner))).filter((name) => STORE_ID.test(name));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
  }

  #dirOf(owner: string): string {
    return join(this.#root, createHash('sha256').update(owner, 'utf8').digest('base64url'));
  }
}
