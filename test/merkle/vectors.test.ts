import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProofError } from '../../src/errors.js';
import {
  consistencyPlan,
  EMPTY_ROOT,
  frontierAppend,
  frontierRoot,
  inclusionPlan,
  isConsistencyValid,
  isInclusionValid,
  leafHash,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../src/merkle/index.js';
import { b64, hex, TileStore, vectors } from './helpers.js';

const leaves: Buffer[] = vectors.tree.leaves.map(hex);
const leafHashes = leaves.map((d) => leafHash(d));
const roots: Buffer[] = vectors.tree.rootsBySize.map(hex);
const store = TileStore.of(leafHashes);

describe('merkle.json hasher', () => {
  it('has the 4 vectors', () => expect(vectors.hasher).toHaveLength(4));
  for (const v of vectors.hasher) {
    it(v.desc, () => {
      let got: Buffer;
      if (v.kind === 'empty_root') got = EMPTY_ROOT;
      else if (v.kind === 'leaf') got = leafHash(hex(v.input));
      else got = nodeHash(hex(v.left), hex(v.right));
      expect(got.toString('hex')).toBe(v.want);
    });
  }
  it('EMPTY_ROOT is the root of no leaves', () => {
    expect(rootFromLeafHashes([]).equals(EMPTY_ROOT)).toBe(true);
    expect(frontierRoot([]).equals(EMPTY_ROOT)).toBe(true);
  });
  it('hashes long leaf data (beyond the scratch buffer) the same way', () => {
    const big = Buffer.alloc(10_000, 7);
    const want = createHash('sha256')
      .update(Buffer.from([0]))
      .update(big)
      .digest();
    expect(leafHash(big).equals(want)).toBe(true);
  });
});

describe('merkle.json tree', () => {
  it('node hashes by level (15)', () => {
    const levels: string[][] = vectors.tree.nodeHashesByLevel;
    expect(levels.flat()).toHaveLength(15);
    let current = leafHashes;
    for (const level of levels) {
      expect(current.map((h) => h.toString('hex'))).toEqual(level);
      const next: Buffer[] = [];
      for (let i = 0; i + 1 < current.length; i += 2) next.push(nodeHash(current[i]!, current[i + 1]!));
      current = next;
    }
  });

  it('roots by size 0..8 from leaf hashes, from the frontier and from tiles', () => {
    expect(roots).toHaveLength(9);
    let frontier = { frontier: [] as readonly Buffer[], size: 0 };
    for (let n = 0; n <= 8; n++) {
      expect(rootFromLeafHashes(leafHashes.slice(0, n)).equals(roots[n]!)).toBe(true);
      expect(frontierRoot(frontier.frontier).equals(roots[n]!)).toBe(true);
      if (n < 8) frontier = frontierAppend(frontier.frontier, frontier.size, [leafHashes[n]!]);
    }
  });
});

describe('merkle.json known-good proofs', () => {
  for (const v of vectors.inclusionKnownGood) {
    it(`inclusion ${v.leafIdx} in ${v.treeSize}`, () => {
      const proof = store.serve(inclusionPlan(v.leafIdx, v.treeSize));
      expect(proof.map((h) => h.toString('hex'))).toEqual(v.proof);
      const root = roots[v.treeSize]!;
      expect(() =>
        verifyInclusion(v.leafIdx, v.treeSize, leafHashes[v.leafIdx]!, v.proof.map(hex), root),
      ).not.toThrow();
    });
  }
  for (const v of vectors.consistencyKnownGood) {
    it(`consistency ${v.size1} -> ${v.size2}`, () => {
      const proof = store.serve(consistencyPlan(v.size1, v.size2));
      expect(proof.map((h) => h.toString('hex'))).toEqual(v.proof);
      expect(() =>
        verifyConsistency(v.size1, v.size2, roots[v.size1]!, roots[v.size2]!, v.proof.map(hex)),
      ).not.toThrow();
    });
  }
});

describe('RFC 9162 §2.1.5 example', () => {
  const ex = vectors.rfc9162Example;
  const size: number = ex.treeSize;
  const letter = (l: string): Buffer => {
    const [start, end] = ex.nodes[l] as [number, number];
    return rootFromLeafHashes(leafHashes.slice(start, end));
  };
  const root = rootFromLeafHashes(leafHashes.slice(0, size));
  it('root is H(k, l)', () => expect(root.equals(nodeHash(letter('k'), letter('l')))).toBe(true));
  for (const v of ex.inclusion) {
    it(`inclusion d${v.leafIdx} -> [${v.proof.join(', ')}]`, () => {
      const want: Buffer[] = v.proof.map(letter);
      expect(store.serve(inclusionPlan(v.leafIdx, size))).toEqual(want);
      expect(isInclusionValid(v.leafIdx, size, leafHashes[v.leafIdx]!, want, root)).toBe(true);
    });
  }
  for (const v of ex.consistency) {
    it(`consistency ${v.size1} -> 7 = [${v.proof.join(', ')}]`, () => {
      const want: Buffer[] = v.proof.map(letter);
      expect(store.serve(consistencyPlan(v.size1, size))).toEqual(want);
      const old = rootFromLeafHashes(leafHashes.slice(0, v.size1));
      expect(isConsistencyValid(v.size1, size, old, root, want)).toBe(true);
    });
  }
});

/** Upstream serializes uint64; JSON.parse rounds 2^64-1 to a non-safe number, which must be rejected. */
describe('transparency-dev inclusion probes', () => {
  it('has 98 probes, 6 valid', () => {
    expect(vectors.inclusionProbes).toHaveLength(98);
    expect(vectors.inclusionProbes.filter((p: { wantErr: boolean }) => !p.wantErr)).toHaveLength(6);
  });
  for (const p of vectors.inclusionProbes) {
    it(`${p.file}: ${p.wantErr ? 'rejects' : 'accepts'}`, () => {
      const proof = (p.proof ?? []).map(b64);
      const run = () => verifyInclusion(p.leafIdx, p.treeSize, b64(p.leafHash), proof, b64(p.root));
      if (p.wantErr) expect(run).toThrow(ProofError);
      else expect(run).not.toThrow();
      expect(isInclusionValid(p.leafIdx, p.treeSize, b64(p.leafHash), proof, b64(p.root))).toBe(!p.wantErr);
    });
  }
});

describe('transparency-dev consistency probes', () => {
  it('has 98 probes, 6 valid upstream, one strict record', () => {
    expect(vectors.consistencyProbes).toHaveLength(98);
    expect(vectors.consistencyProbes.filter((p: { wantErr: boolean }) => !p.wantErr)).toHaveLength(6);
    expect(
      vectors.consistencyProbes.filter((p: { strictWantErr?: boolean }) => p.strictWantErr),
    ).toHaveLength(1);
  });
  for (const p of vectors.consistencyProbes) {
    const wantErr: boolean = p.strictWantErr ?? p.wantErr;
    it(`${p.file}: ${wantErr ? 'rejects' : 'accepts'}`, () => {
      const proof = (p.proof ?? []).map(b64);
      const run = () => verifyConsistency(p.size1, p.size2, b64(p.root1), b64(p.root2), proof);
      if (wantErr) expect(run).toThrow(ProofError);
      else expect(run).not.toThrow();
      expect(isConsistencyValid(p.size1, p.size2, b64(p.root1), b64(p.root2), proof)).toBe(!wantErr);
    });
  }
  it('the strict record is rejected for its 12-byte roots', () => {
    const p = vectors.consistencyProbes.find((x: { strictWantErr?: boolean }) => x.strictWantErr);
    expect(() => verifyConsistency(p.size1, p.size2, b64(p.root1), b64(p.root2), [])).toThrow(/not 32/);
  });
});
