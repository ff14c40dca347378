import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProofError } from '../../src/errors.js';
import {
  consistencyPlan,
  inclusionPlan,
  isConsistencyValid,
  isInclusionValid,
  rootFromInclusionProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/index.js';
import { fakeLeafHashes, largestPow2Below, refConsistency, refPath, refRoot, TileStore } from './helpers.js';

const N = 70;
const leaves = fakeLeafHashes(N);
const store = TileStore.of(leaves);
const otherLeaves = fakeLeafHashes(N, 0xaa);
const otherStore = TileStore.of(otherLeaves);
const other = Array.from({ length: N + 1 }, (_, k) => rootFromLeafHashes(otherLeaves.slice(0, k)));
const roots = Array.from({ length: N + 1 }, (_, n) => rootFromLeafHashes(leaves.slice(0, n)));

/** Left/right sibling sequence of PATH(m, D[0:n]) by the RFC recursion, leaf level first. */
function pathShape(m: number, n: number): string {
  if (n === 1) return '';
  const k = largestPow2Below(n);
  return m < k ? pathShape(m, k) + 'R' : pathShape(m - k, n - k) + 'L';
}

describe('proof generation matches the RFC 9162 recursive definitions', () => {
  it(`every inclusion proof for sizes 1..${N}`, () => {
    for (let n = 1; n <= N; n++) {
      expect(roots[n]!.equals(refRoot(leaves.slice(0, n)))).toBe(true);
      for (let m = 0; m < n; m++) {
        const proof = store.serve(inclusionPlan(m, n));
        expect(proof).toEqual(refPath(m, leaves.slice(0, n)));
        verifyInclusion(m, n, leaves[m]!, proof, roots[n]!);
      }
    }
  });

  it(`every consistency proof for sizes 1..${N}`, () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = store.serve(consistencyPlan(m, n));
        expect(proof).toEqual(refConsistency(m, leaves.slice(0, n)));
        verifyConsistency(m, n, roots[m]!, roots[n]!, proof);
      }
    }
  });

  it('plans only name complete nodes that exist at the size', () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m < n; m++) {
        for (const id of [...inclusionPlan(m, n).ids, ...consistencyPlan(m + 1, n).ids]) {
          expect((id.index + 1) * 2 ** id.height).toBeLessThanOrEqual(n);
        }
      }
    }
  });
});

describe('plan errors', () => {
  it.each([
    [0, 0],
    [5, 5],
    [6, 5],
    [-1, 5],
    [0.5, 5],
    [0, 2 ** 53],
    [Number.NaN, 3],
  ])('inclusionPlan(%s, %s) throws ProofError', (i, n) => {
    expect(() => inclusionPlan(i, n)).toThrow(ProofError);
  });
  it.each([
    [0, 0],
    [0, 5],
    [6, 5],
    [1, 2 ** 53],
    [-1, 3],
  ])('consistencyPlan(%s, %s) throws ProofError', (a, b) => {
    expect(() => consistencyPlan(a, b)).toThrow(ProofError);
  });
  it('equal sizes give an empty plan and proof', () => {
    const plan = consistencyPlan(9, 9);
    expect(plan.ids).toEqual([]);
    expect(plan.assemble([])).toEqual([]);
  });
  it('assemble rejects the wrong number or length of hashes', () => {
    const plan = inclusionPlan(3, 10);
    const hashes = store.serve(inclusionPlan(3, 10));
    expect(hashes.length).toBeGreaterThan(0);
    expect(() => plan.assemble([])).toThrow(ProofError);
    const nodes = plan.ids.map(() => Buffer.alloc(32));
    nodes[0] = Buffer.alloc(31);
    expect(() => plan.assemble(nodes)).toThrow(ProofError);
  });
  it('handles sizes near 2^53 without 32-bit truncation', () => {
    const size = 2 ** 53 - 1;
    const plan = inclusionPlan(size - 1, size);
    expect(plan.ids).toHaveLength(52);
    for (const id of plan.ids) expect((id.index + 1) * 2 ** id.height).toBeLessThanOrEqual(size);
    const big = 2 ** 40 + 3;
    const c = consistencyPlan(2 ** 33 + 1, big);
    for (const id of c.ids) expect((id.index + 1) * 2 ** id.height).toBeLessThanOrEqual(big);
  });
});

describe('verification, property-based', () => {
  const sizes = fc.integer({ min: 1, max: N });

  it('every generated inclusion proof verifies; any bit flip, other index or size fails', () => {
    fc.assert(
      fc.property(sizes, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (n, mi, flipAt, bit) => {
        const m = mi % n;
        const proof = store.serve(inclusionPlan(m, n));
        const root = roots[n]!;
        expect(isInclusionValid(m, n, leaves[m]!, proof, root)).toBe(true);
        expect(rootFromInclusionProof(m, n, leaves[m]!, proof).equals(root)).toBe(true);
        if (proof.length > 0) {
          const k = flipAt % proof.length;
          const bad = proof.map((p) => Buffer.from(p));
          bad[k]![bit >> 3]! ^= 1 << (bit & 7);
          expect(isInclusionValid(m, n, leaves[m]!, bad, root)).toBe(false);
          expect(isInclusionValid(m, n, leaves[m]!, proof.slice(0, -1), root)).toBe(false);
        }
        expect(isInclusionValid(m, n, leaves[m]!, [...proof, proof[0] ?? leaves[0]!], root)).toBe(false);
        const otherIndex = (m + 1 + (flipAt % n)) % n;
        if (otherIndex !== m) expect(isInclusionValid(otherIndex, n, leaves[m]!, proof, root)).toBe(false);
        // Another size fails unless its audit path has the same left/right shape: the documented
        // pitfall (a proof does not authenticate the size; the checkpoint pairs size and root).
        for (const n2 of [n - 1, n + 1, 2 * n, n + 7]) {
          if (n2 <= m || n2 === n) continue;
          const sameShape = pathShape(m, n2) === pathShape(m, n);
          expect(isInclusionValid(m, n2, leaves[m]!, proof, root)).toBe(sameShape);
        }
        const flippedLeaf = Buffer.from(leaves[m]!);
        flippedLeaf[bit >> 3]! ^= 1 << (bit & 7);
        expect(isInclusionValid(m, n, flippedLeaf, proof, root)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('every generated consistency proof verifies; any bit flip or other size fails', () => {
    fc.assert(
      fc.property(sizes, sizes, fc.nat(), fc.integer({ min: 0, max: 255 }), (a, b, flipAt, bit) => {
        const m = Math.min(a, b);
        const n = Math.max(a, b);
        const proof = store.serve(consistencyPlan(m, n));
        expect(isConsistencyValid(m, n, roots[m]!, roots[n]!, proof)).toBe(true);
        if (proof.length > 0) {
          const k = flipAt % proof.length;
          const bad = proof.map((p) => Buffer.from(p));
          bad[k]![bit >> 3]! ^= 1 << (bit & 7);
          expect(isConsistencyValid(m, n, roots[m]!, roots[n]!, bad)).toBe(false);
          expect(isConsistencyValid(m, n, roots[m]!, roots[n]!, proof.slice(1))).toBe(false);
          expect(isConsistencyValid(m, n, roots[m]!, roots[n]!, proof.slice(0, -1))).toBe(false);
        }
        expect(isConsistencyValid(m, n, roots[m]!, roots[n]!, [...proof, roots[n]!])).toBe(false);
        const r1 = Buffer.from(roots[m]!);
        r1[bit >> 3]! ^= 1 << (bit & 7);
        expect(isConsistencyValid(m, n, r1, roots[n]!, proof)).toBe(false);
        const r2 = Buffer.from(roots[n]!);
        r2[bit >> 3]! ^= 1 << (bit & 7);
        expect(isConsistencyValid(m, n, roots[m]!, r2, proof)).toBe(false);
        // Other sizes: a proof of the wrong length must fail; one of the right length may pass
        // only structurally (then it passes for any leaves, not by accident of these hashes).
        const otherProof = otherStore.serve(consistencyPlan(m, n));
        for (const [m2, n2] of [
          [m + 1, n],
          [m - 1, n],
          [m, n + 1],
          [m, n - 1],
          [m + 1, n + 1],
        ] as const) {
          if (m2 < 1 || n2 > N || m2 > n2 || (m2 === m && n2 === n)) continue;
          const verdict = isConsistencyValid(m2, n2, roots[m]!, roots[n]!, proof);
          if (refConsistency(m2, leaves.slice(0, n2)).length !== proof.length) expect(verdict).toBe(false);
          expect(isConsistencyValid(m2, n2, other[m]!, other[n]!, otherProof)).toBe(verdict);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('verification input rules', () => {
  const root = roots[5]!;
  const proof = store.serve(inclusionPlan(2, 5));
  it('rejects hashes that are not 32 bytes, before anything else', () => {
    expect(() => verifyInclusion(2, 5, Buffer.alloc(33), proof, root)).toThrow(/leaf hash is 33 bytes/);
    expect(() => verifyInclusion(2, 5, leaves[2]!, proof, root.subarray(1))).toThrow(/root is 31 bytes/);
    expect(() => verifyInclusion(2, 5, leaves[2]!, [...proof.slice(0, -1), Buffer.alloc(0)], root)).toThrow(
      /proof element 2 is 0 bytes/,
    );
    expect(() => verifyConsistency(0, 0, Buffer.alloc(12), Buffer.alloc(12), [])).toThrow(/not 32/);
  });
  it('rejects unsafe or non-integer sizes and indexes', () => {
    for (const bad of [2 ** 53, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => verifyInclusion(bad, 5, leaves[2]!, proof, root)).toThrow(ProofError);
      expect(() => verifyInclusion(2, bad, leaves[2]!, proof, root)).toThrow(ProofError);
      expect(() => verifyConsistency(bad, 5, root, root, proof)).toThrow(ProofError);
      expect(() => verifyConsistency(2, bad, root, root, proof)).toThrow(ProofError);
    }
  });
  it('non-array proofs and non-byte elements are ProofErrors, not crashes', () => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately wrong types
    const junk: any = 'abc';
    expect(() => verifyInclusion(2, 5, leaves[2]!, junk, root)).toThrow(ProofError);
    expect(() => verifyInclusion(2, 5, leaves[2]!, [junk], root)).toThrow(ProofError);
    expect(isConsistencyValid(2, 5, root, root, junk)).toBe(false);
  });
  it('consistency open cases (specs digest §1.3)', () => {
    expect(() => verifyConsistency(3, 2, roots[3]!, roots[2]!, [])).toThrow(/larger/);
    expect(() => verifyConsistency(0, 0, roots[0]!, roots[0]!, [])).toThrow(/empty tree/);
    expect(() => verifyConsistency(0, 4, roots[0]!, roots[4]!, [])).toThrow(/empty tree/);
    expect(() => verifyConsistency(4, 4, roots[4]!, roots[4]!, [])).not.toThrow();
    expect(() => verifyConsistency(4, 4, roots[4]!, roots[5]!, [])).toThrow(/roots differ/);
    expect(() => verifyConsistency(4, 4, roots[4]!, roots[4]!, [roots[4]!])).toThrow(/must be empty/);
    expect(() => verifyConsistency(4, 5, roots[4]!, roots[5]!, [])).toThrow(/empty/);
  });
  it('over-long proofs are rejected', () => {
    const long = [...proof, ...proof, ...proof];
    expect(() => verifyInclusion(2, 5, leaves[2]!, long, root)).toThrow(/too long/);
    const c = store.serve(consistencyPlan(3, 7));
    expect(() => verifyConsistency(3, 7, roots[3]!, roots[7]!, [...c, roots[7]!])).toThrow(/too long/);
  });
  it('documented pitfall: leaf 0 of 3 also fits size 4 with the same root shape', () => {
    const p = store.serve(inclusionPlan(0, 3));
    // The computation succeeds for size 4, but the root differs from the 3-leaf root here:
    // only (size, root) taken together from one checkpoint authenticate the size.
    expect(rootFromInclusionProof(0, 4, leaves[0]!, p).equals(roots[3]!)).toBe(true);
  });
});
