/**
 * Compact ranges: the roots of the maximal aligned complete subtrees covering leaves [start, end).
 * Parallel verification hashes each segment of the log into its compact range on a worker, and the
 * coordinator appends those few nodes to the tree's frontier instead of every leaf.
 */
import { hash } from 'node:crypto';
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
  // Hashes are kept as hex and merged with hex-output hashing: no Buffer per leaf or node (verification
  // workers append one leaf per entry; this is on their hot path).
  private readonly nodes: { height: number; hex: string }[] = [];

  constructor(start: number) {
    if (!Number.isSafeInteger(start) || start < 0)
      throw new ValidationError('range start must be a safe non-negative integer');
    this.start = start;
    this.end = start;
  }

  get size(): number {
    return this.end;
  }

  append(leaf: Uint8Array): void {
    if (leaf.byteLength !== HASH_SIZE) throw new ValidationError('leaf hash must be 32 bytes');
    this.appendHex(Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength).toString('hex'));
  }

  /** Append a leaf hash given as 64 lowercase hex characters. */
  appendHex(leafHex: string): void {
    let height = 0;
    let hex = leafHex;
    let pos = this.end; // start index of the node being placed
    // Merge with the left neighbour while it is the same height and the pair is aligned.
    for (;;) {
      const top = this.nodes[this.nodes.length - 1];
      if (!top || top.height !== height) break;
      const width = 2 ** height;
      const leftStart = pos - width;
      if (leftStart % (width * 2) !== 0 || leftStart < this.start) break;
      this.nodes.pop();
      scratch.write(top.hex, 1, 'hex');
      scratch.write(hex, 1 + HASH_SIZE, 'hex');
      hex = hash('sha256', scratch, 'hex');
      height++;
      pos = leftStart;
    }
    this.nodes.push({ height, hex });
    this.end++;
  }

  /** The current nodes, left to right. */
  snapshot(): RangeNode[] {
    return this.nodes.map((n) => ({ height: n.height, hash: Buffer.from(n.hex, 'hex') }));
  }
}

const scratch = Buffer.alloc(1 + 2 * HASH_SIZE);
scratch[0] = 0x01;

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
