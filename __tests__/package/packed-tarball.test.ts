import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { outcome, packAndInstall, root, type Installed, type Outcome } from './packed.js';

/** One fixture project per TypeScript module mode a user may have; all compile fixtures/consumer.ts. */
const FIXTURES = [
  { name: 'commonjs (node10 resolution)', type: 'commonjs', options: { module: 'commonjs', moduleResolution: 'node10' } },
  { name: 'node16, CommonJS package', type: 'commonjs', options: { module: 'node16' } },
  { name: 'node16, ESM package', type: 'module', options: { module: 'node16' } },
  { name: 'nodenext, CommonJS package', type: 'commonjs', options: { module: 'nodenext' } },
  { name: 'nodenext, ESM package', type: 'module', options: { module: 'nodenext' } },
  { name: 'bundler', type: 'module', options: { module: 'preserve', moduleResolution: 'bundler' } },
] as const;

/** Modules inside the package that no exports entry reaches. */
const PRIVATE = [
  'koa-session-kit/stores/file/lock',
  'koa-session-kit/stores/file/io',
  'koa-session-kit/stores/file/header',
  'koa-session-kit/stores/file/options',
  'koa-session-kit/src/session.js',
  'koa-session-kit/dist/src/index.js',
];

/** Loads each specifier with require() and with import() in one CommonJS child process. */
const PROBE = `
const specifiers = JSON.parse(process.argv[2]);
(async () => {
  const report = {};
  for (const specifier of specifiers) {
    const entry = {};
    try { entry.required = require(specifier); } catch (error) { entry.requireError = error.code; }
    try { entry.imported = await import(specifier); } catch (error) { entry.importError = error.code; }
    report[specifier] = {
      names: entry.required && Object.keys(entry.required).sort(),
      sameModule: entry.required !== undefined && entry.required === entry.imported,
      requireError: entry.requireError,
      importError: entry.importError,
    };
  }
  console.log(JSON.stringify(report));
})();
`;

interface Probe {
  names?: string[];
  sameModule: boolean;
  requireError?: string;
  importError?: string;
}

let installed: Installed;
let compiled: Map<string, { diagnostics: string[]; run: Outcome }>;
let attw: Outcome;
let probed: Record<string, Probe>;
let probeStderr: string;

const publicSpecifiers = (): string[] =>
  Object.keys(installed.manifest.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => `koa-session-kit${subpath.slice(1)}`);

/** Writes one fixture project: its package.json (the module type), tsconfig.json and consumer.ts. */
function writeFixture(fixture: (typeof FIXTURES)[number]): string {
  const dir = join(installed.dir, fixture.name.replace(/\W+/g, '-'));
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: fixture.type }));
  const compilerOptions = {
    ...fixture.options,
    target: 'es2022',
    lib: ['es2022'],
    strict: true,
    esModuleInterop: true,
    types: ['node'],
    outDir: 'out',
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
  copyFileSync(join(root, '__tests__/package/fixtures/consumer.ts'), join(dir, 'consumer.ts'));
  return dir;
}

/** Type-checks and emits every fixture in one child process, then runs each emitted consumer.js. */
async function compileAndRun(): Promise<Map<string, { diagnostics: string[]; run: Outcome }>> {
  const dirs = FIXTURES.map(writeFixture);
  const compiler = await outcome(process.execPath, [join(root, '__tests__/package/fixtures/compile.mjs'), ...dirs], root, 180_000);
  if (compiler.code !== 0) throw new Error(`compiling the fixture projects failed: ${compiler.stderr}`);
  const diagnostics = JSON.parse(compiler.stdout) as Record<string, string[]>;
  const runs = await Promise.all(
    dirs.map((dir) => (diagnostics[dir]!.length === 0 ? outcome(process.execPath, ['out/consumer.js'], dir) : undefined)),
  );
  return new Map(
    FIXTURES.map((fixture, i) => [
      fixture.name,
      { diagnostics: diagnostics[dirs[i]!]!, run: runs[i] ?? { code: 1, stdout: '', stderr: 'not compiled' } },
    ]),
  );
}

beforeAll(async () => {
  installed = packAndInstall();
  writeFileSync(join(installed.dir, 'probe.cjs'), PROBE);
  const probe = outcome(process.execPath, ['probe.cjs', JSON.stringify([...publicSpecifiers(), ...PRIVATE])], installed.dir);
  const attwBin = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js');
  // --no-definitely-typed: look for no @types package on the registry; the tarball is the whole input.
  const checked = outcome(process.execPath, [attwBin, installed.tarball, '--format', 'json', '--no-definitely-typed'], installed.dir);
  compiled = await compileAndRun();
  attw = await checked;
  const probeOutcome = await probe;
  if (probeOutcome.code !== 0) throw new Error(`the require/import probe failed: ${probeOutcome.stderr}`);
  probed = JSON.parse(probeOutcome.stdout) as Record<string, Probe>;
  probeStderr = probeOutcome.stderr;
}, 240_000);

afterAll(() => installed?.remove());

describe(`require() and import() of the packed tarball on Node ${process.versions.node}`, () => {
  it('loads every public entry with require(), the same module object import() gives, without a warning', () => {
    for (const specifier of publicSpecifiers()) {
      expect({ specifier, ...probed[specifier] }).toEqual({
        specifier,
        names: expect.arrayContaining([expect.any(String)]),
        sameModule: true,
      });
    }
    expect(probeStderr).toBe('');
  });

  it('gives require() the same names as import(), with no default export', () => {
    expect(probed['koa-session-kit']!.names).toEqual(expect.arrayContaining(['session', 'getSession', 'MemoryStore', 'SessionStoreError']));
    expect(probed['koa-session-kit/stores/redis']!.names).toContain('RedisStore');
    expect(probed['koa-session-kit/serializers/superjson']!.names).toContain('superjsonSerializer');
    for (const specifier of publicSpecifiers()) expect(probed[specifier]!.names).not.toContain('default');
  });

  it.each(PRIVATE)('refuses the private module %s to both require() and import()', (specifier) => {
    expect(probed[specifier]).toEqual({
      sameModule: false,
      requireError: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      importError: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });
});

describe('TypeScript projects compiled against the packed tarball', () => {
  it.each(FIXTURES.map((fixture) => fixture.name))('type-checks and runs consumer.ts under module mode %s', (name) => {
    const { diagnostics, run } = compiled.get(name)!;
    expect(diagnostics).toEqual([]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      middleware: 2,
      sameMemoryStore: true,
      serializers: ['json', 'msgpack', 'superjson'],
      stores: ['MemoryStore', 'MemoryStore', 'FileStore', 'PostgresStore', 'RedisStore', 'CookieStore'],
    });
  });

  it('passes @arethetypeswrong/cli on every entry point', () => {
    expect(attw.stderr).toBe('');
    const report = JSON.parse(attw.stdout) as { analysis: { problems: unknown[]; entrypoints: Record<string, unknown> } };
    expect(report.analysis.problems).toEqual([]);
    expect(Object.keys(report.analysis.entrypoints).sort()).toEqual(Object.keys(installed.manifest.exports).sort());
  });
});

describe('the packed files', () => {
  const shipped = (): string[] => readdirSync(join(installed.dir, 'node_modules/koa-session-kit'), { recursive: true, encoding: 'utf8' });

  it('ship no source maps, and no JavaScript points at one', () => {
    expect(shipped().filter((file) => file.endsWith('.map'))).toEqual([]);
    const pointing = shipped()
      .filter((file) => /\.c?js$/.test(file))
      .filter((file) => readFileSync(join(installed.dir, 'node_modules/koa-session-kit', file), 'utf8').includes('sourceMappingURL'));
    expect(pointing).toEqual([]);
  });

  it('hold every file the exports map names', () => {
    const targets = (value: unknown): string[] =>
      typeof value === 'string' ? [value.slice(2)] : Object.values(value as object).flatMap(targets);
    const files = new Set(shipped());
    expect(targets(installed.manifest.exports).filter((target) => !files.has(target))).toEqual([]);
  });
});
