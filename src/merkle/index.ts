/** RFC 9162 Merkle layer: pure hashing, frontier, proofs, verification and the tile layout. */
export {
  decodeFrontier,
  encodeFrontier,
  type Frontier,
  frontierAppend,
  frontierNodeIds,
  frontierRoot,
} from './frontier.js';
export { EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, rootFromLeafHashes } from './hash.js';
export { MAX_TREE_SIZE } from './math.js';
export { type NodeId, nodeExists, nodeIdString, nodeStart } from './node-id.js';
export { consistencyPlan, inclusionPlan, type ProofPlan } from './proof.js';
export {
  appendLeavesToTiles,
  nodesFromTiles,
  rightEdgeTiles,
  TILE_HEIGHT,
  TILE_WIDTH,
  type Tile,
  type TileKey,
  tileBlobLength,
  tileKeyString,
  tileKeysForNodes,
  tilesForTree,
  validateTile,
} from './tiles.js';
export { type ConsistencyProof, type InclusionProof, MerkleTree } from './tree.js';
export {
  isConsistencyValid,
  isInclusionValid,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './verify.js';
