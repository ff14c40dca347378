import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProofError, ValidationError } from '../../src/errors.js';
import {
  consistencyPlan,
  inclusionPlan,
  leafHash,
  MerkleTree,
  rootFromLeafHashes,
} from '../../src/merkle/index.js';
import { hex, TileStore, vectors } from './helpers.js';

describe('MerkleTree (seed shape, RFC 9162 hashing)', () => {
  it('seed usage: addLeaf(entry.hash), build, getRoot, getProof, verifyProof', () => {
    const hashes = Array.from({ length: 10 }, (_, i) => leafHash(Buffer.from(`e${i}`)).toString('hex'));
    const tree = new MerkleTree();
    for (const h of hashes) tree.addLeaf(h);
    tree.build();
    const root = tree.getRoot();
    expect(tree.size).toBe(10);
    expect(root).toBe(rootFromLeafHashes(hashes.map((h) => leafHash(hex(h)))).toString('hex'));
    const proof = tree.getProof(0);
    expect(proof.index).toBe(0);
    expect(proof.size).toBe(10);
    expect(tree.verifyProof(proof, hashes[0]!, root)).toBe(true);
    expect(tree.verifyProof(proof, hashes[1]!, root)).toBe(false);
  });

  it('matches the merkle.json roots (hex leaves)', () => {
    const tree = new MerkleTree();
    expect(tree.getRoot()).toBe(vectors.tree.rootsBySize[0]);
    for (let i = 0; i < 8; i++) {
      tree.addLeaf(vectors.tree.leaves[i]);
      expect(tree.getRoot()).toBe(vectors.tree.rootsBySize[i + 1]);
    }
    for (const v of vectors.inclusionKnownGood) {
      if (v.treeSize === 8) expect(tree.getProof(v.leafIdx).path).toEqual(v.proof);
    }
    for (const v of vectors.consistencyKnownGood) {
      if (v.size2 === 8) expect(tree.getConsistencyProof(v.size1).path).toEqual(v.proof);
    }
  });

  it('strings: hex of whole bytes (either case) is decoded, anything else is UTF-8', () => {
    const root = (data: Uint8Array | string) => {
      const t = new MerkleTree();
      t.addLeaf(data);
      return t.getRoot();
    };
    expect(root('cafe')).toBe(leafHash(Buffer.from([0xca, 0xfe])).toString('hex'));
    expect(root('CAFE')).toBe(root('cafe'));
    expect(root('caf')).toBe(leafHash(Buffer.from('caf', 'utf8')).toString('hex'));
    expect(root('café')).toBe(leafHash(Buffer.from('café', 'utf8')).toString('hex'));
    expect(root('')).toBe(leafHash(Buffer.alloc(0)).toString('hex'));
    expect(root(new Uint8Array([1, 2]))).toBe(root('0102'));
    expect(() => new MerkleTree().addLeaf(42 as unknown as string)).toThrow(ValidationError);
  });

  it('verifyProof never throws on bad input', () => {
    const tree = new MerkleTree();
    for (let i = 0; i < 5; i++) tree.addLeaf(`leaf ${i}`);
    const root = tree.getRoot();
    const proof = tree.getProof(3);
    expect(MerkleTree.verifyProof(proof, 'leaf 3', root)).toBe(true);
    expect(MerkleTree.verifyProof(proof, 'leaf 3', root.toUpperCase())).toBe(true);
    expect(MerkleTree.verifyProof(proof, 'leaf 3', Buffer.from(root, 'hex'))).toBe(true);
    const junk: unknown[] = [
      null,
      undefined,
      {},
      { ...proof, path: 'x' },
      { ...proof, path: ['zz'] },
      { ...proof, path: [...proof.path, proof.path[0]] },
      { ...proof, index: -1 },
      { ...proof, index: '3' },
      { ...proof, size: 2 ** 60 },
      { ...proof, path: [proof.path[0]!.slice(2), ...proof.path.slice(1)] },
    ];
    for (const p of junk) {
      expect(MerkleTree.verifyProof(p as never, 'leaf 3', root)).toBe(false);
    }
    expect(MerkleTree.verifyProof(proof, 'leaf 3', 'not hex')).toBe(false);
    expect(MerkleTree.verifyProof(proof, 'leaf 3', root.slice(2))).toBe(false);
    expect(MerkleTree.verifyProof(proof, 7 as never, root)).toBe(false);
    expect(MerkleTree.verifyProof(proof, null as never, null as never)).toBe(false);
  });

  it('getProof and getConsistencyProof throw ProofError out of range', () => {
    const tree = new MerkleTree();
    tree.addLeaf('a');
    expect(() => tree.getProof(1)).toThrow(ProofError);
    expect(() => tree.getConsistencyProof(0)).toThrow(ProofError);
    expect(() => tree.getConsistencyProof(2)).toThrow(ProofError);
    expect(tree.getConsistencyProof(1).path).toEqual([]);
  });

  it('is consistent with the pure functions under incremental builds', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.nat(),
        (data, a, b) => {
          const tree = new MerkleTree();
          const hashes: Buffer[] = [];
          const roots: string[] = [];
          for (let i = 0; i < data.length; i++) {
            expect(tree.addLeaf(data[i]!)).toBe(i);
            hashes.push(leafHash(data[i]!));
            if (i % 37 === 0 || i === data.length - 1) roots[i + 1] = tree.getRoot();
          }
          const n = data.length;
          const store = TileStore.of(hashes);
          expect(tree.getRoot()).toBe(rootFromLeafHashes(hashes).toString('hex'));
          const m = a % n;
          const proof = tree.getProof(m);
          expect(proof.path).toEqual(store.serve(inclusionPlan(m, n)).map((h) => h.toString('hex')));
          expect(tree.verifyProof(proof, data[m]!, tree.getRoot())).toBe(true);
          const old = (b % n) + 1;
          const c = tree.getConsistencyProof(old);
          expect(c).toMatchObject({ size1: old, size2: n });
          expect(c.path).toEqual(store.serve(consistencyPlan(old, n)).map((h) => h.toString('hex')));
          const oldRoot = rootFromLeafHashes(hashes.slice(0, old));
          expect(MerkleTree.verifyConsistencyProof(c, oldRoot, tree.getRoot())).toBe(true);
          expect(MerkleTree.verifyConsistencyProof(c, tree.getRoot(), oldRoot)).toBe(old === n);
          for (const [size, r] of roots.entries()) {
            if (r !== undefined) expect(r).toBe(rootFromLeafHashes(hashes.slice(0, size)).toString('hex'));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
