import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = process.cwd();
const srcFiles = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));

/** Every relative import of a src/ module, type-only ones included: a circle of types is still a circle to a reader. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, 'src', file), 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1]!);
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
  return specs.filter((s) => s.startsWith('./') || s.startsWith('../')).map((s) => join(dir, s).replace(/\.js$/, '.ts'));
}

describe('the import graph of src/', () => {
  it('has no circle, counting type-only imports', () => {
    const graph = new Map(srcFiles.map((f) => [f, importsOf(f).filter((d) => !d.startsWith('..'))]));
    const circles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (path.includes(file)) {
        circles.push([...path.slice(path.indexOf(file)), file].join(' -> '));
        return;
      }
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    };
    for (const file of srcFiles) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('writes the per-request slot from slot.ts only and the session state from session.ts only', () => {
    for (const file of srcFiles) {
      const text = readFileSync(join(root, 'src', file), 'utf8');
      const slotWrites = /\bslot\.(session|opened|replaced)\s*(=|\?\?=)[^=]/.test(text);
      const stateWrites =
        /\bstate\.(data|identity|isNew|created|maxAge|forced|touched|metaChanged|cleared|invalidated|regenerated)\s*=[^=]/.test(text);
      expect({ file, slotWrites: slotWrites && file !== 'slot.ts' }).toEqual({ file, slotWrites: false });
      expect({ file, stateWrites: stateWrites && file !== 'session.ts' }).toEqual({ file, stateWrites: false });
    }
  });
});
