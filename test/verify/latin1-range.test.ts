import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CompactRange } from '../../src/merkle/range.js';
import { Latin1Range } from '../../src/verify/latin1-range.js';

describe('Latin1Range', () => {
  it('holds the same nodes as CompactRange for any start and leaf count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 300 }), (start, count) => {
        const a = new CompactRange(start);
        const b = new Latin1Range(start);
        for (let i = 0; i < count; i++) {
          const leaf = createHash('sha256')
            .update(`leaf ${start + i}`)
            .digest();
          a.append(leaf);
          b.append(leaf.toString('latin1'));
          if (i % 37 === 0) expect(b.snapshot()).toEqual(a.snapshot());
        }
        expect(b.snapshot()).toEqual(a.snapshot());
      }),
      { numRuns: 200 },
    );
  });
});
