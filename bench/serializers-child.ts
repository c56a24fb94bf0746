/**
 * Runs bench/serializers.ts (the serializer micro-benchmark, written separately) in its own
 * process for run.ts and sends its results over IPC; reports `missing` when that file is absent.
 */

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface SerializerBenchModule {
  runSerializerBench(options?: { durationMs?: number; rounds?: number }): unknown;
  printSerializerBench?(results: unknown): void;
}

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const file = join(here, `serializers${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`);
  if (!existsSync(file)) {
    process.send?.({ type: 'serializers', result: undefined });
    return;
  }
  // The other module's own contract: runSerializerBench({ durationMs, rounds }) returns plain numbers.
  const module = (await import(pathToFileURL(file).href)) as Partial<SerializerBenchModule>;
  if (typeof module.runSerializerBench !== 'function') throw new Error('bench/serializers.ts does not export runSerializerBench');
  const quick = process.argv.includes('--quick');
  const result = module.runSerializerBench(quick ? { durationMs: 100, rounds: 3 } : {});
  module.printSerializerBench?.(result);
  process.send?.({ type: 'serializers', result });
}

main().catch((error: unknown) => {
  process.send?.({ type: 'serializers-error', message: error instanceof Error ? error.message : String(error) });
  process.exitCode = 1;
});
