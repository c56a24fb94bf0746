/**
 * How the bench reaches the package under test: through its public entry points (`koa-session-kit`,
 * `koa-session-kit/stores/*`, `koa-session-kit/serializers/*`) as built into dist/, plus the one
 * declared internal entry (src/internal.ts, loaded as the sibling of the built main entry). Never a
 * src/ file by path, so the bench survives any reshaping of src/ that keeps those entries.
 *
 * `BENCH_PACKAGE_ROOT` names another checkout of the package (`--against <ref>` sets it for the
 * reference's servers); resolution then goes through that checkout's own `exports`.
 */

import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type Koa from 'koa';
import type * as Internal from '../src/internal.js';

/** The repository this bench belongs to. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The checkout whose built package the bench measures. */
export const PACKAGE_ROOT = process.env.BENCH_PACKAGE_ROOT ?? ROOT;
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** The file `--against` writes into another checkout, so specifiers resolve through that checkout's package.json. */
export const RESOLVER_FILE = 'bench-resolve.mjs';
export const RESOLVER_SOURCE = 'export const resolve = (specifier) => import.meta.resolve(specifier);\n';

/** A scenario that cannot run here (an entry point missing, a service down); the reason is printed. */
export class SkipScenario extends Error {}

/** An app and whatever it must release when the process ends. */
export interface BenchApp {
  app: Koa;
  close(): Promise<void>;
}

/** A fresh scratch directory in the OS temp dir, apart from any other run; the caller removes it. */
export async function scratchDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `kss-bench-${name}-`));
}

let resolver: Promise<(specifier: string) => string> | undefined;

/** The URL a specifier of the package resolves to in {@link PACKAGE_ROOT}, through its `exports`. */
async function resolveEntry(specifier: string): Promise<string> {
  resolver ??=
    PACKAGE_ROOT === ROOT
      ? Promise.resolve((s: string) => import.meta.resolve(s))
      : (import(pathToFileURL(join(PACKAGE_ROOT, RESOLVER_FILE)).href) as Promise<{ resolve: (s: string) => string }>).then(
          (module) => module.resolve,
        );
  return (await resolver)(specifier);
}

/**
 * A public entry point of the package (`koa-session-kit`, `koa-session-kit/stores/memory`, ...), or
 * a skip saying why it cannot be loaded (not built, not exported by this version).
 */
export async function loadEntry(specifier: string): Promise<Record<string, unknown>> {
  try {
    return (await import(await resolveEntry(specifier))) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new SkipScenario(`${specifier} did not load (run \`npm run build\` first?): ${reason}`);
  }
}

/** The internal entry (src/internal.ts), found beside the built main entry; a skip for a version without it. */
export async function loadInternal(): Promise<typeof Internal> {
  const main = await resolveEntry('koa-session-kit');
  const url = new URL('internal.js', main).href;
  let module: Partial<typeof Internal>;
  try {
    module = (await import(url)) as Partial<typeof Internal>;
  } catch {
    throw new SkipScenario(`this version of the package has no internal entry (${fileURLToPath(url)})`);
  }
  for (const name of ['formatCookie', 'readCookie', 'resolveCookie', 'EnvelopeCodec', 'IdSigner'] as const) {
    if (typeof module[name] !== 'function') throw new SkipScenario(`the internal entry lacks \`${name}\``);
  }
  // Every export the bench uses was checked just above.
  return module as typeof Internal;
}

/**
 * A module the built store entry `koa-session-kit/stores/<store>` imports (its SQL, its scripts),
 * loaded from beside that entry, so a baseline sends exactly what the store in {@link PACKAGE_ROOT}
 * sends. Not public: the bench types it from the store's sources, and skips when the module or one
 * of the functions it uses (`names`) is missing.
 */
export async function loadStorePart<T>(store: string, part: string, names: readonly (keyof T & string)[]): Promise<T> {
  const url = new URL(`${store}/${part}.js`, await resolveEntry(`koa-session-kit/stores/${store}`)).href;
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch {
    throw new SkipScenario(`this version of the package has no ${fileURLToPath(url)} for the ${store} baseline`);
  }
  for (const name of names) {
    if (typeof module[name] !== 'function') throw new SkipScenario(`${fileURLToPath(url)} lacks \`${name}\` for the ${store} baseline`);
  }
  // Every function the caller uses was checked just above; the type is the source module's.
  return module as T;
}

/** A named export that must be a constructor or factory; a clear skip when the entry lacks it. */
export function exported<T>(module: Record<string, unknown>, name: string, specifier: string): T {
  const value = module[name];
  if (typeof value !== 'function') throw new SkipScenario(`${specifier} does not export \`${name}\``);
  // The bench calls it with the constructor options DESIGN.md documents; the type is that contract.
  return value as T;
}

/** Writes the resolver into another checkout (see {@link RESOLVER_FILE}). */
export async function installResolver(root: string): Promise<void> {
  await writeFile(join(root, RESOLVER_FILE), RESOLVER_SOURCE);
}
