/** The session type declared once: an app augmenting SessionTypes compiles, with its negative cases refused. */

import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

describe('SessionTypes, declared once by module augmentation', () => {
  it('types getSession(ctx), newSession(ctx), ctx.state.session and ctx.session with no generic at the call', () => {
    // Its own compilation: the augmentation would retype the other type tests in the main one.
    const run = spawnSync(process.execPath, [tsc, '-p', join(process.cwd(), '__tests__/types/declared-once/tsconfig.json')], {
      encoding: 'utf8',
    });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);
});
