import { describe, expect, it } from '@jest/globals';
import { generateId, isValidId } from '../../src/id.js';

describe('generateId()', () => {
  it('gives well-formed ids that never repeat, across many refills of its random pool', () => {
    const ids = Array.from({ length: 5_000 }, () => generateId());
    for (const id of ids) expect(isValidId(id)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('spreads its bytes evenly: every base64url character shows up in the first position', () => {
    // 64 symbols over 5,000 draws: a missing one would mean the pool is not random (p < 1e-30).
    const first = new Set(Array.from({ length: 5_000 }, () => generateId()[0]));
    expect(first.size).toBe(64);
  });
});
