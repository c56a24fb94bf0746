// The packed tarball, installed as a user gets it: `npm pack` once, then unpacked into a temp
// node_modules beside fixture projects. Dependencies are linked from this repo's node_modules, so
// no network is needed; only what package.json declares is linked, so a missing dependency fails.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const root = process.cwd();
const run = promisify(execFile);

/** What a fixture project or a child process reports. */
export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion within `timeout` ms; a non-zero exit is an outcome, not a throw. */
export async function outcome(file: string, args: string[], cwd: string, timeout = 90_000): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, timeout, env: { ...process.env, NODE_OPTIONS: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? failed.message,
    };
  }
}

/** The unpacked package and the folder that holds it. */
export interface Installed {
  dir: string;
  tarball: string;
  /** The package.json inside the tarball. */
  manifest: { exports: Record<string, unknown>; dependencies: Record<string, string>; peerDependencies: Record<string, string> };
  remove(): void;
}

/** Types a fixture needs beyond what the package declares: Node's, and pg's (it ships none). */
const FIXTURE_EXTRAS = ['@types/node', '@types/pg'];

/** Packs the built dist/ (building it if absent) and installs the tarball under a new temp dir. */
export function packAndInstall(): Installed {
  // `npm test` builds first; a lone jest run builds here. Packing skips the prepack build so it
  // never rewrites dist/ under tests reading it in other workers.
  if (!existsSync(join(root, 'dist/src/index.cjs'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'koa-session-kit-pack-'));
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }),
  ) as [{ filename: string }];
  const tarball = join(dir, packed.filename);
  const target = join(dir, 'node_modules', 'koa-session-kit');
  mkdirSync(target, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', target, '--strip-components=1']);
  const manifest = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8')) as Installed['manifest'];
  for (const name of [...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies), ...FIXTURE_EXTRAS]) {
    const link = join(dir, 'node_modules', name);
    mkdirSync(join(link, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), link, 'dir');
  }
  return { dir, tarball, manifest, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
