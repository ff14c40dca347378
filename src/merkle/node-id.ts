/**
 * A complete (perfect) subtree of the Merkle tree: height `height`, covering leaves
 * [index·2^height, (index+1)·2^height). Height 0 nodes are leaf hashes. Only complete nodes
 * are ever stored; the right-edge "ephemeral" nodes of RFC 9162 are rehashed from them.
 */
export interface NodeId {
  height: number;
  index: number;
}

/** Whether the complete node exists in a tree of `size` leaves. */
export function nodeExists(id: NodeId, size: number): boolean {
  return (id.index + 1) * 2 ** id.height <= size;
}

/** Stable text key, e.g. for maps: "height/index". */
export function nodeIdString(id: NodeId): string {
  return `${id.height}/${id.index}`;
}

/** First leaf index covered by the node. */
export function nodeStart(id: NodeId): number {
  return id.index * 2 ** id.height;
}
