/**
 * Compact ranges: the roots of the maximal aligned complete subtrees covering leaves [start, end).
 * Parallel verification hashes each segment of the log into its compact range on a worker, and the
 * coordinator appends those few nodes to the tree's frontier instead of every leaf.
 */
import { ValidationError } from '../errors.js';
import { type Frontier, frontierNodeIds } from './frontier.js';
import { HASH_SIZE, nodeHash } from './hash.js';

export interface RangeNode {
  height: number;
  hash: Uint8Array;
}

export class CompactRange {
  readonly start: number;
  private end: number;
  private readonly nodes: { height: number; hash: Buffer }[] = [];

  constructor(start: number) {
    if (!Number.isSafeInteger(start) || start < 0)
      throw new ValidationError('range start must be a safe non-negative integer');
    this.start = start;
    this.end = start;
  }

  get size(): number {
    return this.end;
  }

  append(leaf: Buffer): void {
    let node = { height: 0, hash: leaf };
    let pos = this.end; // start index of `node`
    // Merge with the left neighbour while it is the same height and the pair is aligned.
    for (;;) {
      const top = this.nodes[this.nodes.length - 1];
      if (!top || top.height !== node.height) break;
      const width = 2 ** node.height;
      const leftStart = pos - width;
      if (leftStart % (width * 2) !== 0 || leftStart < this.start) break;
      this.nodes.pop();
      node = { height: node.height + 1, hash: nodeHash(top.hash, node.hash) };
      pos = leftStart;
    }
    this.nodes.push(node);
    this.end++;
  }

  /** The current nodes, left to right (copies of the list, hashes shared: they are never mutated). */
  snapshot(): RangeNode[] {
    return this.nodes.map((n) => ({ height: n.height, hash: n.hash }));
  }
}

/**
 * Append compact-range nodes (left to right, starting at `size`) to a frontier. Each node of height h
 * must start at a multiple of 2^h, which compact ranges guarantee.
 */
export function frontierAppendNodes(
  frontier: Frontier,
  size: number,
  nodes: readonly RangeNode[],
): { frontier: Buffer[]; size: number } {
  const heights = frontierNodeIds(size).map((id) => id.height);
  if (heights.length !== frontier.length) throw new ValidationError('frontier does not match its size');
  const stack: { height: number; hash: Buffer }[] = frontier.map((h, i) => ({
    height: heights[i]!,
    hash: Buffer.from(h),
  }));
  let n = size;
  for (const node of nodes) {
    const width = 2 ** node.height;
    if (node.hash.byteLength !== HASH_SIZE || n % width !== 0)
      throw new ValidationError('range node is not aligned at the tree edge');
    let cur: { height: number; hash: Buffer } = { height: node.height, hash: Buffer.from(node.hash) };
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top || top.height !== cur.height) break;
      stack.pop();
      cur = { height: cur.height + 1, hash: nodeHash(top.hash, cur.hash) };
    }
    stack.push(cur);
    n += width;
  }
  return { frontier: stack.map((s) => s.hash), size: n };
}
