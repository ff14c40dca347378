import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EncodingError, ValidationError } from '../../src/errors.js';
import {
  decodeFrontier,
  EMPTY_ROOT,
  encodeFrontier,
  frontierAppend,
  frontierNodeIds,
  frontierRoot,
  nodesFromTiles,
  rootFromLeafHashes,
  tilesForTree,
} from '../../src/merkle/index.js';
import { fakeLeafHashes, refRoot } from './helpers.js';

const pool = fakeLeafHashes(1100, 9);

describe('frontier', () => {
  it('node ids: one per set bit of the size, largest first', () => {
    expect(frontierNodeIds(0)).toEqual([]);
    expect(frontierNodeIds(7)).toEqual([
      { height: 2, index: 0 },
      { height: 1, index: 2 },
      { height: 0, index: 6 },
    ]);
    expect(frontierNodeIds(2 ** 52)).toEqual([{ height: 52, index: 0 }]);
    expect(frontierNodeIds(2 ** 53 - 1)).toHaveLength(53);
  });

  it('matches the recursive MTH and the frontier nodes read from tiles, for random batches', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1100 }), fc.integer({ min: 1, max: 300 }), (n, step) => {
        let f = { frontier: [] as readonly Buffer[], size: 0 };
        while (f.size < n) {
          const next = frontierAppend(f.frontier, f.size, pool.slice(f.size, Math.min(n, f.size + step)));
          expect(next.frontier.length).toBe(frontierNodeIds(next.size).length);
          f = next;
        }
        const leaves = pool.slice(0, n);
        expect(frontierRoot(f.frontier).equals(refRoot(leaves))).toBe(true);
        expect(nodesFromTiles(frontierNodeIds(n), tilesForTree(leaves))).toEqual(f.frontier);
      }),
      { numRuns: 80 },
    );
  });

  it('is pure and does not alias the caller’s leaf buffers', () => {
    const start = frontierAppend([], 0, pool.slice(0, 5));
    const copy = [...start.frontier];
    const leaf = Buffer.from(pool[5]!);
    const next = frontierAppend(start.frontier, 5, [leaf]);
    expect(start.frontier).toEqual(copy);
    expect(start.frontier).toHaveLength(2);
    const last = frontierAppend(next.frontier, 6, [leaf]);
    leaf.fill(0);
    expect(frontierRoot(last.frontier).equals(rootFromLeafHashes([...pool.slice(0, 6), pool[5]!]))).toBe(
      true,
    );
  });

  it('empty tree root', () => {
    expect(frontierRoot([]).equals(EMPTY_ROOT)).toBe(true);
    expect(frontierRoot([]).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('rejects a frontier that does not fit the size, bad leaf hashes and overflow', () => {
    const f = frontierAppend([], 0, pool.slice(0, 6)).frontier;
    expect(() => frontierAppend(f, 7, [pool[0]!])).toThrow(ValidationError);
    expect(() => frontierAppend(f, 6, [Buffer.alloc(31)])).toThrow(ValidationError);
    expect(() => frontierAppend([Buffer.alloc(31)], 1, [])).toThrow(ValidationError);
    expect(() => frontierAppend(f, 1.5, [])).toThrow(ValidationError);
    const top = frontierNodeIds(2 ** 53 - 1).map(() => Buffer.alloc(32));
    expect(() => frontierAppend(top, 2 ** 53 - 1, [pool[0]!])).toThrow(/2\^53/);
  });
});

describe('frontier encoding', () => {
  it('round-trips as concatenated hashes', () => {
    for (const n of [0, 1, 6, 255, 256, 1023]) {
      const f = frontierAppend([], 0, pool.slice(0, n)).frontier;
      const bytes = encodeFrontier(f);
      expect(bytes.length).toBe(32 * f.length);
      const back = decodeFrontier(bytes, n);
      expect(back).toEqual(f);
      expect(frontierRoot(back).equals(rootFromLeafHashes(pool.slice(0, n)))).toBe(true);
    }
  });

  it('decode validates the count against popcount(size)', () => {
    const bytes = encodeFrontier(frontierAppend([], 0, pool.slice(0, 6)).frontier);
    expect(() => decodeFrontier(bytes, 7)).toThrow(EncodingError);
    expect(() => decodeFrontier(bytes, 8)).toThrow(EncodingError);
    expect(() => decodeFrontier(bytes.subarray(1), 6)).toThrow(EncodingError);
    expect(() => decodeFrontier(bytes, -6)).toThrow(EncodingError);
    expect(() => decodeFrontier(Buffer.alloc(0), 0)).not.toThrow();
    expect(() => encodeFrontier([Buffer.alloc(5)])).toThrow(ValidationError);
  });

  it('decoded hashes are copies', () => {
    const bytes = encodeFrontier(frontierAppend([], 0, pool.slice(0, 3)).frontier);
    const f = decodeFrontier(bytes, 3);
    bytes.fill(0);
    expect(f[0]!.equals(Buffer.alloc(32))).toBe(false);
  });
});
