/**
 * The compact range of the right edge (RFC 9162 §2.1.2 stack): the roots of the complete
 * subtrees that cover leaves [0, n), largest first — one per set bit of n. With it, appending
 * costs O(log n) hashing per leaf and the root is O(log n) away; no other node is needed.
 */
import { EncodingError, ValidationError } from '../errors.js';
import { EMPTY_ROOT, HASH_SIZE, nodeHash } from './hash.js';
import { isTreeSize, MAX_TREE_SIZE, popcount } from './math.js';
import type { NodeId } from './node-id.js';

export type Frontier = readonly Buffer[];

/** Which complete nodes form the frontier of a tree of `size` leaves, largest first. */
export function frontierNodeIds(size: number): NodeId[] {
  if (!isTreeSize(size)) throw new ValidationError('tree size must be a safe non-negative integer');
  const ids: NodeId[] = [];
  let height = 0;
  for (let rest = size; rest > 0; rest = Math.floor(rest / 2), height++) {
    // floor(size / 2^height) - 1 is the last complete node of that height.
    if (rest % 2 === 1) ids.push({ height, index: rest - 1 });
  }
  return ids.reverse();
}

function checkFrontier(frontier: Frontier, size: number): void {
  if (!isTreeSize(size)) throw new ValidationError('tree size must be a safe non-negative integer');
  if (frontier.length !== popcount(size)) {
    throw new ValidationError(`frontier has ${frontier.length} hashes, size ${size} needs ${popcount(size)}`);
  }
  for (const h of frontier) {
    if (!(h instanceof Uint8Array) || h.byteLength !== HASH_SIZE) {
      throw new ValidationError('frontier hashes must be 32 bytes');
    }
  }
}

/** Append leaf hashes to a frontier. Pure: the input array is not modified. */
export function frontierAppend(
  frontier: Frontier,
  size: number,
  leafHashes: readonly Uint8Array[],
): { frontier: Frontier; size: number } {
  checkFrontier(frontier, size);
  if (leafHashes.length > MAX_TREE_SIZE - size) throw new ValidationError('tree size would exceed 2^53 - 1');
  const stack = frontier.slice();
  let n = size;
  for (const leaf of leafHashes) {
    if (!(leaf instanceof Uint8Array) || leaf.byteLength !== HASH_SIZE) {
      throw new ValidationError(`leaf hash ${n - size} is not 32 bytes`);
    }
    // Each trailing 1 bit of n closes a complete subtree: merge it with the new node.
    let top: Buffer | undefined;
    for (let j = n; j % 2 === 1; j = (j - 1) / 2) top = nodeHash(stack.pop()!, top ?? leaf);
    // Copy an unmerged leaf so the result never aliases the caller's buffer.
    stack.push(top ?? Buffer.from(leaf));
    n++;
  }
  return { frontier: stack, size: n };
}

/** The tree root from its frontier: fold right to left. EMPTY_ROOT for the empty tree. */
export function frontierRoot(frontier: Frontier): Buffer {
  const last = frontier.length - 1;
  if (last < 0) return Buffer.from(EMPTY_ROOT);
  let root = frontier[last]!;
  for (let i = last - 1; i >= 0; i--) root = nodeHash(frontier[i]!, root);
  return last === 0 ? Buffer.from(root) : root;
}

/** Concatenated 32-byte hashes, largest subtree first. */
export function encodeFrontier(frontier: Frontier): Buffer {
  for (const h of frontier) {
    if (!(h instanceof Uint8Array) || h.byteLength !== HASH_SIZE) {
      throw new ValidationError('frontier hashes must be 32 bytes');
    }
  }
  return Buffer.concat(frontier);
}

/** Inverse of encodeFrontier; the byte length must be 32 · popcount(size). Returns copies. */
export function decodeFrontier(bytes: Uint8Array, size: number): Frontier {
  if (!isTreeSize(size)) throw new EncodingError('tree size must be a safe non-negative integer');
  if (!(bytes instanceof Uint8Array)) throw new EncodingError('encoded frontier must be bytes');
  const count = popcount(size);
  if (bytes.byteLength !== count * HASH_SIZE) {
    throw new EncodingError(
      `encoded frontier has ${bytes.byteLength} bytes, size ${size} needs ${count} hashes (${count * HASH_SIZE} bytes)`,
    );
  }
  const out: Buffer[] = new Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = Buffer.from(bytes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  }
  return out;
}
