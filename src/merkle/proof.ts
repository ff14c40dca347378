/**
 * RFC 9162 proof generation (§2.1.3.1 PATH, §2.1.4.1 PROOF) in two phases, so storage can
 * fetch all the nodes of a proof in one batch: a plan names the complete nodes to read, then
 * `assemble` turns their hashes into the proof, rehashing right-edge (incomplete) subtrees
 * from their complete parts.
 */
import { ProofError } from '../errors.js';
import { HASH_SIZE, nodeHash } from './hash.js';
import { isTreeSize, trailingZeros } from './math.js';
import type { NodeId } from './node-id.js';

export interface ProofPlan {
  /** Complete nodes to fetch, each existing at the tree size of the proof. */
  readonly ids: NodeId[];
  /** Hashes of `ids`, same order → the RFC 9162 proof (audit path or consistency proof). */
  assemble(hashes: readonly Buffer[]): Buffer[];
}

class Plan implements ProofPlan {
  readonly ids: NodeId[] = [];
  /** How many consecutive ids make each proof element: 1 = a stored node, >1 = fold them. */
  private readonly groups: number[] = [];

  addNode(height: number, index: number): void {
    this.ids.push({ height, index });
    this.groups.push(1);
  }

  /** The (possibly incomplete) subtree over leaves [start, size): its complete parts, largest first. */
  addRange(start: number, size: number): void {
    let count = 0;
    let pos = start;
    // start is aligned to a power of two larger than size - start, so the parts are the set
    // bits of (size - start), high to low.
    let height = 0;
    while (2 ** (height + 1) <= size - start) height++;
    for (; height >= 0; height--) {
      const width = 2 ** height;
      if (pos + width <= size) {
        this.ids.push({ height, index: pos / width });
        pos += width;
        count++;
      }
    }
    this.groups.push(count);
  }

  assemble(hashes: readonly Buffer[]): Buffer[] {
    if (!Array.isArray(hashes) || hashes.length !== this.ids.length) {
      throw new ProofError(`proof plan needs ${this.ids.length} node hashes, got ${hashes?.length}`);
    }
    const proof: Buffer[] = new Array(this.groups.length);
    let at = 0;
    for (let g = 0; g < this.groups.length; g++) {
      const count = this.groups[g]!;
      const last = at + count - 1;
      let h = checkHash(hashes[last], last);
      for (let j = last - 1; j >= at; j--) h = nodeHash(checkHash(hashes[j], j), h);
      proof[g] = h;
      at += count;
    }
    return proof;
  }
}

function checkHash(h: Buffer | undefined, i: number): Buffer {
  if (!(h instanceof Uint8Array) || h.byteLength !== HASH_SIZE) {
    throw new ProofError(`node hash ${i} of the proof plan is not 32 bytes`);
  }
  return h;
}

/**
 * Siblings on the path from the complete node (height, index) up to the root of a tree of
 * `size` leaves, bottom up. Below the level where the node's path meets the right edge, every
 * sibling is complete except possibly the right sibling at the top of that stretch; above it,
 * only left siblings exist (a right-edge node with no left sibling is not a separate RFC level).
 */
function addPath(plan: Plan, height: number, index: number, size: number): void {
  let a = index;
  let b = Math.floor((size - 1) / 2 ** height); // the right-edge node at this height
  let h = height;
  for (; a !== b; a = Math.floor(a / 2), b = Math.floor(b / 2), h++) {
    if (a % 2 === 1) {
      plan.addNode(h, a - 1);
    } else if ((a + 2) * 2 ** h <= size) {
      plan.addNode(h, a + 1);
    } else {
      plan.addRange((a + 1) * 2 ** h, size);
    }
  }
  for (; a > 0; a = Math.floor(a / 2), h++) {
    if (a % 2 === 1) plan.addNode(h, a - 1);
  }
}

function checkSize(x: unknown, name: string): void {
  if (!isTreeSize(x)) throw new ProofError(`${name} must be a safe non-negative integer`);
}

/** Plan for the audit path of leaf `index` in a tree of `size` leaves (RFC 9162 §2.1.3.1). */
export function inclusionPlan(index: number, size: number): ProofPlan {
  checkSize(index, 'leaf index');
  checkSize(size, 'tree size');
  if (index >= size) throw new ProofError(`leaf index ${index} is not below tree size ${size}`);
  const plan = new Plan();
  addPath(plan, 0, index, size);
  return plan;
}

/** Plan for the consistency proof from size1 to size2 (RFC 9162 §2.1.4.1); [] when equal. */
export function consistencyPlan(size1: number, size2: number): ProofPlan {
  checkSize(size1, 'first tree size');
  checkSize(size2, 'second tree size');
  if (size1 === 0) throw new ProofError('no consistency proof from the empty tree');
  if (size1 > size2) throw new ProofError(`first tree size ${size1} is larger than second ${size2}`);
  const plan = new Plan();
  if (size1 === size2) return plan;
  // The old tree's smallest frontier node, then its path in the new tree. When size1 is a
  // power of two that node is the old root itself, which the verifier already holds.
  const height = trailingZeros(size1);
  const index = size1 / 2 ** height - 1;
  if (index > 0) plan.addNode(height, index);
  addPath(plan, height, index, size2);
  return plan;
}
