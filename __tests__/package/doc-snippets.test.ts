import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/*
 * Every ```ts / ```typescript block in README.md and docs/ is type-checked against the built
 * package, imported by its name (`koa-session-kit`, `koa-session-kit/stores/redis`, ...) the way
 * an app imports it: the blocks are written to a temp directory whose node_modules links the
 * repo's dependencies and the repo itself as `koa-session-kit`, so resolution goes through
 * package.json `exports` to dist/. One compiler run checks them all.
 *
 * A block that is a fragment names what it leaves undeclared in an HTML comment just before its
 * fence (blank lines between are fine), e.g. `<!-- prelude: app, router -->`; PRELUDES below
 * says what each name is.
 */

const root = process.cwd();

/** What a fragment may take as given. Declarations only, with inline import types, so they never clash with a block's own imports. */
const PRELUDES: Readonly<Record<string, string>> = {
  app: "declare const app: import('koa');",
  router: "declare const router: import('@koa/router').Router;",
  ctx: "declare const ctx: import('koa').Context;",
};

/** How a careful app compiles: strict, plus the repo's own stricter flags; unused names are fine in an excerpt. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  verbatimModuleSyntax: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
};

interface Snippet {
  file: string;
  /** The line of the opening fence in the markdown file (1-based); the code starts on the next. */
  fenceLine: number;
  preludes: string[];
  code: string;
}

/** README.md and every markdown file under docs/, generated API pages excepted. */
function markdownFiles(): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path !== join('docs', 'api')) walk(path);
      } else if (entry.name.endsWith('.md')) {
        files.push(path);
      }
    }
  };
  if (existsSync('docs')) walk('docs');
  return files;
}

const FENCE_OPEN = /^```(ts|typescript)\s*$/;
const PRELUDE = /^<!--\s*prelude:\s*([\w,\s]+?)\s*-->\s*$/;

function extractSnippets(file: string): Snippet[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE_OPEN.test(lines[i]!)) continue;
    // Prettier puts a blank line between the comment and the fence.
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const prelude = before >= 0 ? PRELUDE.exec(lines[before]!) : null;
    const preludes = prelude === null ? [] : prelude[1]!.split(/[\s,]+/).filter(Boolean);
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`${file}:${i + 1}: a \`\`\`ts block is never closed`);
    snippets.push({ file, fenceLine: i + 1, preludes, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return snippets;
}

/** A temp directory laid out like an app that installed the package: node_modules holds the repo's dependencies and the repo. */
function appDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'koa-session-kit-snippets-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'snippets', private: true, type: 'module' }));
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(root, 'node_modules'))) {
    if (entry === 'koa-session-kit' || entry.startsWith('.')) continue;
    symlinkSync(join(root, 'node_modules', entry), join(modules, entry));
  }
  symlinkSync(root, join(modules, 'koa-session-kit'), 'dir');
  return dir;
}

/** Type-checks the snippets in one program; one line per diagnostic, pointing into the markdown. */
function typeCheck(snippets: Snippet[], dir: string): string[] {
  const byPath = new Map<string, { snippet: Snippet; offset: number }>();
  snippets.forEach((snippet, index) => {
    const unknown = snippet.preludes.filter((name) => PRELUDES[name] === undefined);
    if (unknown.length > 0)
      throw new Error(
        `${snippet.file}:${snippet.fenceLine}: unknown prelude ${unknown.join(', ')}; known: ${Object.keys(PRELUDES).join(', ')}`,
      );
    const header = snippet.preludes.map((name) => PRELUDES[name]!);
    const path = join(dir, `snippet-${index}.ts`);
    writeFileSync(path, [...header, snippet.code, ''].join('\n'));
    byPath.set(path, { snippet, offset: header.length });
  });
  const program = ts.createProgram([...byPath.keys()], { ...COMPILER_OPTIONS, typeRoots: [join(dir, 'node_modules', '@types')] });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
    const source = diagnostic.file === undefined ? undefined : byPath.get(resolve(diagnostic.file.fileName));
    if (diagnostic.file === undefined || diagnostic.start === undefined || source === undefined) {
      return `${diagnostic.file?.fileName ?? '(program)'}: TS${diagnostic.code}: ${text}`;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const { file, fenceLine } = source.snippet;
    return `${file}:${fenceLine + 1 + line - source.offset} (block at line ${fenceLine}): TS${diagnostic.code}: ${text}`;
  });
}

interface Link {
  /** The file part, relative to the markdown file; `''` for a link within the same page. */
  path: string;
  /** The part after `#`, if any. */
  anchor: string | undefined;
  line: number;
}

/** Relative links in a markdown file: `[text](target)` and `[text]: target`, outside code; web links left out. */
function relativeLinks(file: string): Link[] {
  const links: Link[] = [];
  let inFence = false;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (/^```/.test(text)) inFence = !inFence;
      if (inFence) return;
      const prose = text.replace(/`[^`]*`/g, '');
      for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|^\[[^\]]+\]:\s*(\S+)/g)) {
        const target = (match[1] ?? match[2])!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        links.push({ path: decodeURIComponent(path), anchor, line: index + 1 });
      }
    });
  return links;
}

/** The anchors GitHub makes for a page's headings: lower case, punctuation dropped, spaces to hyphens. */
function headingAnchors(file: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (/^```/.test(text)) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*)$/.exec(text);
    if (heading === null) continue;
    anchors.add(
      heading[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return anchors;
}

/** Every link that does not lead to a file, folder or heading in the repo, as `file:line: target`. */
function brokenLinks(files: string[]): string[] {
  return files.flatMap((file) =>
    relativeLinks(file).flatMap(({ path, anchor, line }) => {
      const target = path === '' ? file : resolve(dirname(file), path);
      const shown = `${file}:${line}: ${path}${anchor === undefined ? '' : `#${anchor}`}`;
      // A link out of the repo (../../x) would resolve on this machine only.
      if (relative(root, resolve(target)).startsWith('..') || !existsSync(target)) return [shown];
      if (anchor !== undefined && target.endsWith('.md') && !headingAnchors(target).has(anchor)) return [shown];
      return [];
    }),
  );
}

describe('the code and links in README.md and docs/', () => {
  const files = markdownFiles();
  const snippets = files.flatMap(extractSnippets);
  let dir: string | undefined;

  beforeAll(() => {
    // `npm test` builds first; a lone `jest` run builds here.
    if (!existsSync('dist/src/index.d.ts')) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
    dir = appDirectory();
  }, 120_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the TypeScript blocks of the README and of several docs pages', () => {
    expect(snippets.filter((s) => s.file === 'README.md').length).toBeGreaterThanOrEqual(2);
    expect(new Set(snippets.map((s) => s.file)).size).toBeGreaterThanOrEqual(8);
  });

  it('type-checks every TypeScript block against the built package, imported by its name', () => {
    expect(typeCheck(snippets, dir!)).toEqual([]);
  }, 120_000);

  it('links only to files, folders and headings that exist in the repo', () => {
    expect(brokenLinks(files)).toEqual([]);
  });
});
