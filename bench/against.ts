/**
 * `--against <git-ref>`: a checkout of another commit to measure beside this tree in one run. The
 * ref's files come from `git archive` into a temp directory (no worktree registered, nothing in
 * .git touched); it shares this tree's node_modules when its package-lock.json is the same, else
 * gets its own from `npm ci` (or always shares them with `linkModules`, for a caller that loads
 * only modules whose dependencies have not changed); then it is built with its own `npm run build`.
 * The servers still run this tree's bench code, only the package they load is the ref's
 * (bench/package.ts).
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from './harness.js';
import { installResolver, ROOT } from './package.js';

/** A built checkout of another commit. */
export interface Reference {
  /** The ref as given, and the commit it named. */
  ref: string;
  commit: string;
  root: string;
  remove(): Promise<void>;
}

const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();

/** Exports, installs and builds `ref` in a temp directory; `remove()` deletes it. */
export async function prepareReference(
  ref: string,
  log: (line: string) => void,
  options: { linkModules?: boolean } = {},
): Promise<Reference> {
  let commit: string;
  try {
    commit = git('rev-parse', '--short', '--verify', `${ref}^{commit}`);
  } catch {
    throw new Error(`bench: --against ${ref}: not a commit in this repository`);
  }
  const root = await mkdtemp(join(tmpdir(), `kss-bench-ref-${commit}-`));
  const remove = (): Promise<void> => rm(root, { recursive: true, force: true });
  try {
    const archive = spawnSync('sh', ['-c', `git archive --format=tar "$0" | tar -x -C "$1"`, commit, root], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (archive.status !== 0) throw new Error(`git archive ${commit} failed: ${archive.stderr}`);
    const lock = (dir: string): string =>
      existsSync(join(dir, 'package-lock.json')) ? readFileSync(join(dir, 'package-lock.json'), 'utf8') : '';
    if (options.linkModules === true || lock(root) === lock(ROOT)) {
      symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    } else {
      log(`bench: ${ref} has other dependencies; npm ci in ${root}`);
      const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: root, encoding: 'utf8', timeout: 600_000 });
      if (ci.status !== 0) throw new Error(`npm ci for ${ref} failed:\n${ci.stderr.slice(-2000)}`);
    }
    log(`bench: building ${ref} (${commit}) in ${root}`);
    build(root);
    await installResolver(root);
  } catch (error) {
    await remove();
    throw error;
  }
  return { ref, commit, root, remove };
}
