import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  appendLeavesToTiles,
  nodesFromTiles,
  type ProofPlan,
  rightEdgeTiles,
  type Tile,
  tileKeyString,
  tileKeysForNodes,
  tilesForTree,
} from '../../src/merkle/index.js';
import { VECTORS_DIR } from '../fixtures/vectors-dir.js';

// biome-ignore lint/suspicious/noExplicitAny: untyped vector file
export const vectors: any = JSON.parse(readFileSync(join(VECTORS_DIR, 'merkle.json'), 'utf8'));

export const hex = (s: string): Buffer => Buffer.from(s, 'hex');
export const b64 = (s: string): Buffer => Buffer.from(s, 'base64');

/** Distinct, deterministic 32-byte "leaf hashes" without hashing: leaf i holds i in its bytes. */
export function fakeLeafHashes(n: number, seed = 0): Buffer[] {
  const out: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(32, seed);
    b.writeUInt32BE(i, 0);
    b.writeUInt32BE(i * 7 + 1, 28);
    out[i] = b;
  }
  return out;
}

/** Reference MTH by the recursive definition of RFC 9162 §2.1.1, over leaf hashes. */
export function refRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  const k = largestPow2Below(leaves.length);
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(refRoot(leaves.slice(0, k)))
    .update(refRoot(leaves.slice(k)))
    .digest();
}

export function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Reference PATH(m, D[0:n]) (RFC 9162 §2.1.3.1). */
export function refPath(m: number, leaves: readonly Buffer[]): Buffer[] {
  const n = leaves.length;
  if (n === 1) return [];
  const k = largestPow2Below(n);
  if (m < k) return [...refPath(m, leaves.slice(0, k)), refRoot(leaves.slice(k))];
  return [...refPath(m - k, leaves.slice(k)), refRoot(leaves.slice(0, k))];
}

/** Reference PROOF(m, D[0:n]) (RFC 9162 §2.1.4.1). */
export function refConsistency(m: number, leaves: readonly Buffer[]): Buffer[] {
  const sub = (mm: number, d: readonly Buffer[], b: boolean): Buffer[] => {
    if (mm === d.length) return b ? [] : [refRoot(d)];
    const k = largestPow2Below(d.length);
    if (mm <= k) return [...sub(mm, d.slice(0, k), b), refRoot(d.slice(k))];
    return [...sub(mm - k, d.slice(k), false), refRoot(d.slice(0, k))];
  };
  return sub(m, leaves, true);
}

/** In-memory node source over tiles, the way storage serves a plan: tiles by key, one batch. */
export class TileStore {
  readonly tiles = new Map<string, Tile>();
  size = 0;

  static of(leafHashes: readonly Buffer[]): TileStore {
    const s = new TileStore();
    for (const t of tilesForTree(leafHashes)) s.tiles.set(tileKeyString(t), t);
    s.size = leafHashes.length;
    return s;
  }

  append(leafHashes: readonly Buffer[]): Tile[] {
    const edges = rightEdgeTiles(this.size).map((k) => this.tiles.get(tileKeyString(k))!);
    const changed = appendLeavesToTiles(this.size, edges, leafHashes);
    for (const t of changed) this.tiles.set(tileKeyString(t), t);
    this.size += leafHashes.length;
    return changed;
  }

  serve(plan: ProofPlan): Buffer[] {
    const tiles = tileKeysForNodes(plan.ids, this.size).map((k) => this.tiles.get(tileKeyString(k))!);
    return plan.assemble(nodesFromTiles(plan.ids, tiles));
  }
}
