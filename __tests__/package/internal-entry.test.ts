import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import * as internal from '../../src/internal.js';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };

describe("the bench's internal entry (src/internal.ts)", () => {
  it('offers the signer, envelope codec and cookie formatting the floor scenario needs', () => {
    expect(Object.keys(internal).sort()).toEqual(['EnvelopeCodec', 'IdSigner', 'formatCookie', 'readCookie', 'resolveCookie']);
    for (const value of Object.values(internal)) expect(typeof value).toBe('function');
  });

  it('stays out of package.json exports, so users cannot import it', () => {
    expect(Object.keys(pkg.exports).filter((subpath) => subpath.includes('internal'))).toEqual([]);
    expect(Object.values(pkg.exports).map((target) => JSON.stringify(target))).not.toContainEqual(expect.stringContaining('internal'));
  });
});
