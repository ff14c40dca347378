/**
 * Standalone in-memory Merkle tree with the seed's shape (addLeaf, build, getRoot, getProof,
 * verifyProof) but RFC 9162 hashing, built on the pure functions of this folder.
 *
 * Leaf data: bytes are used as given. A string is decoded as hex when it is hex of whole bytes
 * (upper- or lowercase, even length — entry hashes are hex), otherwise as UTF-8. So "cafe" is the
 * two bytes ca fe, "café" is five UTF-8 bytes. Pass a Uint8Array to avoid the ambiguity. Each
 * leaf is hashed once as H(0x00 || bytes).
 */
import { ProofError, ValidationError } from '../errors.js';
import { type Frontier, frontierAppend, frontierRoot } from './frontier.js';
import { HASH_SIZE, leafHash } from './hash.js';
import { consistencyPlan, inclusionPlan, type ProofPlan } from './proof.js';
import {
  appendLeavesToTiles,
  nodesFromTiles,
  rightEdgeTiles,
  type Tile,
  tileKeyString,
  tileKeysForNodes,
} from './tiles.js';
import { isConsistencyValid, isInclusionValid } from './verify.js';

export interface InclusionProof {
  index: number;
  size: number;
  /** Audit path, lowercase hex, leaf level first. */
  path: string[];
}

export interface ConsistencyProof {
  size1: number;
  size2: number;
  /** RFC 9162 consistency proof, lowercase hex. */
  path: string[];
}

const HEX_BYTES_RE = /^(?:[0-9a-fA-F]{2})*$/;
const HASH_HEX_RE = /^[0-9a-fA-F]{64}$/;

function leafBytes(data: Uint8Array | string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data !== 'string') throw new ValidationError('leaf data must be a Uint8Array or a string');
  return HEX_BYTES_RE.test(data) ? Buffer.from(data, 'hex') : Buffer.from(data, 'utf8');
}

/** A 32-byte hash given as bytes or 64 hex digits (either case); undefined if neither. */
function hashBytes(h: unknown): Uint8Array | undefined {
  if (h instanceof Uint8Array) return h.byteLength === HASH_SIZE ? h : undefined;
  if (typeof h === 'string' && HASH_HEX_RE.test(h)) return Buffer.from(h, 'hex');
  return undefined;
}

function hashPath(path: unknown): Uint8Array[] | undefined {
  if (!Array.isArray(path)) return undefined;
  const out: Uint8Array[] = [];
  for (const p of path) {
    const b = hashBytes(p);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return out;
}

export class MerkleTree {
  /** Leaf hashes added since the last build; built ones live only in the tiles. */
  private pending: Buffer[] = [];
  private readonly tiles = new Map<string, Tile>();
  private builtSize = 0;
  private frontier: Frontier = [];

  /** Number of leaves added (built or not). */
  get size(): number {
    return this.builtSize + this.pending.length;
  }

  /** Adds one leaf (see the class comment for how strings are read); returns its index. */
  addLeaf(data: Uint8Array | string): number {
    this.pending.push(leafHash(leafBytes(data)));
    return this.size - 1;
  }

  /** Brings the stored nodes up to date with the added leaves. Incremental; called lazily too. */
  build(): this {
    const fresh = this.pending;
    if (fresh.length === 0) return this;
    const edges = rightEdgeTiles(this.builtSize).map((k) => this.tiles.get(tileKeyString(k))!);
    for (const tile of appendLeavesToTiles(this.builtSize, edges, fresh))
      this.tiles.set(tileKeyString(tile), tile);
    this.frontier = frontierAppend(this.frontier, this.builtSize, fresh).frontier;
    this.builtSize += fresh.length;
    this.pending = [];
    return this;
  }

  /** Root hash (lowercase hex); the empty tree's root is SHA-256(""). */
  getRoot(): string {
    this.build();
    return frontierRoot(this.frontier).toString('hex');
  }

  getProof(index: number): InclusionProof {
    this.build();
    const size = this.builtSize;
    return { index, size, path: this.resolve(inclusionPlan(index, size), size) };
  }

  /** Proof that the tree at `oldSize` (1..size) is a prefix of the current tree. */
  getConsistencyProof(oldSize: number): ConsistencyProof {
    this.build();
    const size = this.builtSize;
    return { size1: oldSize, size2: size, path: this.resolve(consistencyPlan(oldSize, size), size) };
  }

  private resolve(plan: ProofPlan, size: number): string[] {
    const tiles = tileKeysForNodes(plan.ids, size).map((k) => {
      const tile = this.tiles.get(tileKeyString(k));
      if (tile === undefined) throw new ProofError(`tile ${tileKeyString(k)} is missing`);
      return tile;
    });
    return plan.assemble(nodesFromTiles(plan.ids, tiles)).map((h) => h.toString('hex'));
  }

  /** Same as the static MerkleTree.verifyProof. */
  verifyProof(proof: InclusionProof, leafData: Uint8Array | string, root: Uint8Array | string): boolean {
    return MerkleTree.verifyProof(proof, leafData, root);
  }

  /**
   * Whether `proof` shows that `leafData` (as given to addLeaf) is leaf proof.index of the tree
   * of proof.size leaves with this `root` (hex or bytes). Never throws: bad input is false.
   */
  static verifyProof(
    proof: InclusionProof,
    leafData: Uint8Array | string,
    root: Uint8Array | string,
  ): boolean {
    try {
      const rootBytes = hashBytes(root);
      const path = hashPath(proof?.path);
      if (rootBytes === undefined || path === undefined) return false;
      return isInclusionValid(proof.index, proof.size, leafHash(leafBytes(leafData)), path, rootBytes);
    } catch {
      return false;
    }
  }

  /** Whether `proof` shows the tree with `oldRoot` is a prefix of the one with `newRoot`. Never throws. */
  static verifyConsistencyProof(
    proof: ConsistencyProof,
    oldRoot: Uint8Array | string,
    newRoot: Uint8Array | string,
  ): boolean {
    try {
      const r1 = hashBytes(oldRoot);
      const r2 = hashBytes(newRoot);
      const path = hashPath(proof?.path);
      if (r1 === undefined || r2 === undefined || path === undefined) return false;
      return isConsistencyValid(proof.size1, proof.size2, r1, r2, path);
    } catch {
      return false;
    }
  }
}
