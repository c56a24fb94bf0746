import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
const importsOf = (file: string): string[] =>
  [...readFileSync(join(root, file), 'utf8').matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
const runtimeImportsOf = (file: string): string[] =>
  [...readFileSync(join(root, file), 'utf8').matchAll(/^\s*import\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);

describe('the module layout', () => {
  it('keeps every source file under 400 lines, and src/ modules under 300', () => {
    for (const file of [...sources('src'), ...sources('serializers'), ...sources('stores')]) {
      const lines = readFileSync(join(root, file), 'utf8').split('\n').length;
      expect({ file, over: lines > (file.startsWith('src') ? 300 : 400) }).toEqual({ file, over: false });
    }
  });

  it('lets stores and serializers import only the contracts in src/, never the middleware or each other', () => {
    // A module may have private helpers in a folder of its own name (stores/file/*.ts).
    const contract = /^(\.\.\/)+src\/(store|serializer|errors|id|strict|option-checks|keyed-queue|prune-timer|once)\.js$|^node:|^[a-z@]/;
    for (const file of [...sources('stores'), ...sources('serializers')]) {
      const [area, owner] = file.split('/') as [string, string];
      const own = file.split('/').length === 2 ? `./${owner.replace(/\.ts$/, '')}/` : './';
      for (const spec of importsOf(file)) {
        const ok = contract.test(spec) || (spec.startsWith(own) && !spec.slice(own.length).includes('..'));
        expect({ file, spec, ok }).toEqual({ file, spec, ok: true });
      }
      void area;
    }
  });

  it('keeps the contracts one-way: what stores and serializers import from src/ imports only other contracts', () => {
    const contracts = ['store', 'serializer', 'errors', 'id', 'strict', 'option-checks', 'keyed-queue', 'prune-timer', 'once'];
    const files = [...contracts.map((name) => `src/${name}.ts`), ...sources('src/strict')];
    for (const file of files) {
      for (const spec of importsOf(file)) {
        const target = join(file, '..', spec).replace(/\.js$/, '');
        const ok = !spec.startsWith('.') || target.startsWith('src/strict/') || contracts.some((name) => target === `src/${name}`);
        expect({ file, spec, ok }).toEqual({ file, spec, ok: true });
      }
    }
  });

  it('loads no database driver at module level', () => {
    for (const file of [...sources('src'), ...sources('serializers'), ...sources('stores')]) {
      for (const spec of runtimeImportsOf(file))
        expect({ file, spec }).not.toEqual({
          file,
          spec: expect.stringMatching(/^(pg|ioredis|redis|@redis\/[\w-]+|mysql2|better-sqlite3)(\/.*)?$/),
        });
    }
  });

  it.each(['memory', 'file', 'postgres', 'redis', 'cookie', 'mysql', 'sqlite'])(
    'imports stores/%s in a fresh process without loading pg, ioredis, redis, mysql2 or better-sqlite3',
    (store) => {
      const script = `
      import { createRequire } from 'node:module';
      await import('./stores/${store}.ts');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => /node_modules\\/(pg|ioredis|redis|@redis|mysql2|better-sqlite3)\\//.test(p));
      console.log(JSON.stringify(loaded));`;
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: root,
        env: { ...process.env, NODE_OPTIONS: '' },
        encoding: 'utf8',
      });
      expect(child.stderr).toBe('');
      expect(JSON.parse(child.stdout.trim())).toEqual([]);
    },
  );
});
