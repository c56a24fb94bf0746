// Source checks that a formatter cannot make: the habits in STYLE.md that a grep can hold.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const files = (dir) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));

const library = ['src', 'serializers', 'stores'].flatMap(files);
const tests = files('__tests__');
const rules = [
  { files: library, pattern: /\bas any\b|:\s*any\b|<any>/, message: 'use `unknown`, not `any`', code: true },
  { files: library, pattern: /^export default\b/, message: 'named exports only' },
  { files: library, pattern: /\boptions\.\w+\s*\|\|/, message: 'defaults use `??`, never `||`' },
  { files: library, pattern: /\.stack\s*=\s*''/, message: 'never erase a stack' },
  { files: [...library, ...tests], pattern: /\bTODO\b(?!\s*\(?#\d)/, message: 'a TODO names its issue (TODO #N)' },
  { files: tests, pattern: /\b(it|test|describe)\.(only|skip)\(|\bx(it|test|describe)\(/, message: 'no focused or skipped tests' },
];

let failures = 0;
for (const rule of rules) {
  for (const file of rule.files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        // Rules about code skip comment lines, where "any" is an English word.
        if (rule.code && /^\s*(\/\/|\*|\/\*)/.test(line)) return;
        if (rule.pattern.test(line)) {
          failures++;
          console.error(`${file}:${index + 1}: ${rule.message}\n    ${line.trim()}`);
        }
      });
  }
}
if (failures > 0) {
  console.error(`${failures} source check(s) failed`);
  process.exit(1);
}
console.log(`source checks passed on ${library.length + tests.length} files`);
