/** Where the bench finds this package's modules and services, and how it skips a scenario that cannot run. */

import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type Koa from 'koa';

/** The root this module runs from: the repository, or bench/.tmp/build when run compiled by tsc. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** `.ts` under tsx, `.js` when compiled: how this package's own modules are named next to this one. */
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A scenario that cannot run here (a module not written yet, a service down); the reason is printed. */
export class SkipScenario extends Error {}

/** An app and whatever it must release when the process ends. */
export interface BenchApp {
  app: Koa;
  close(): Promise<void>;
}

/** A fresh scratch directory in the OS temp dir, apart from the build and from any other run; the caller removes it. */
export async function scratchDir(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `kss-bench-${name}-`));
}

/** Imports a module of this package by its path from the root (no extension), or skips the scenario. */
export async function loadModule(path: string): Promise<Record<string, unknown>> {
  const file = join(ROOT, `${path}${EXT}`);
  if (!existsSync(file)) throw new SkipScenario(`${path}.ts does not exist yet (or did not compile)`);
  try {
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new SkipScenario(`${path}.ts did not load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
}

/** A named export that must be a constructor or factory; a clear skip when the module lacks it. */
export function exported<T>(module: Record<string, unknown>, name: string, path: string): T {
  const value = module[name];
  if (typeof value !== 'function') throw new SkipScenario(`${path}.ts does not export \`${name}\``);
  // The bench calls it with the constructor options DESIGN.md documents; the type is that contract.
  return value as T;
}
