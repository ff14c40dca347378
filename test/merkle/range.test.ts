import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frontierAppend, frontierRoot } from '../../src/merkle/frontier.js';
import { leafHash } from '../../src/merkle/hash.js';
import { CompactRange, frontierAppendNodes } from '../../src/merkle/range.js';

const leaves = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${from + i}`)));

describe('compact ranges', () => {
  it('appending a range as its compact nodes equals appending its leaves (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 600 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 5 }),
        (start, cuts) => {
          const before = frontierAppend([], 0, leaves(0, start));
          let frontier = before.frontier;
          let expected = before.frontier;
          let size = start;
          for (const n of cuts) {
            const ls = leaves(size, n);
            const range = new CompactRange(size);
            for (const l of ls) range.append(l);
            const viaRange = frontierAppendNodes(frontier, size, range.snapshot());
            const viaLeaves = frontierAppend(expected, size, ls);
            expect(viaRange.size).toBe(viaLeaves.size);
            expect(frontierRoot(viaRange.frontier).equals(frontierRoot(viaLeaves.frontier))).toBe(true);
            frontier = viaRange.frontier;
            expected = viaLeaves.frontier;
            size += n;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses nodes that are not aligned at the tree edge', () => {
    const f = frontierAppend([], 0, leaves(0, 3));
    expect(() => frontierAppendNodes(f.frontier, 3, [{ height: 1, hash: Buffer.alloc(32) }])).toThrow();
  });
});
