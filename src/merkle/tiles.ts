/**
 * Persistent tree layout shared by every storage backend (derived from C2SP tlog-tiles,
 * tile height 8).
 *
 * Tile (level L, index t) covers the nodes of height 8L with indexes [256t, 256t + 256);
 * `width` (1..256) says how many of them exist. Its blob holds, for h' = 0..7, every complete
 * node of height 8L + h' inside the tile — floor(width / 2^h') of them, 32 bytes each, in index
 * order — section after section. The first width·32 bytes are exactly a tlog-tile; the rest
 * caches interior nodes, so a proof reads O(1) tiles per level instead of rehashing. The
 * tile's own root (height 8L + 8) is not stored in it: it is a bottom node of level L + 1.
 */
import { IntegrityError, ProofError, ValidationError } from '../errors.js';
import { frontierNodeIds } from './frontier.js';
import { HASH_SIZE, nodeHash, nodeHashAt, nodeHashInto } from './hash.js';
import { isTreeSize, MAX_TREE_SIZE } from './math.js';
import { type NodeId, nodeExists } from './node-id.js';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

export interface TileKey {
  level: number;
  index: number;
}

export interface Tile {
  level: number;
  index: number;
  width: number;
  hashes: Buffer;
}

export function tileKeyString(k: TileKey): string {
  return `${k.level}/${k.index}`;
}

/**
 * The first of `keys` (stored tiles) that is no tile of a tree of `size` leaves, or null: a tile at
 * a level the tree does not reach, past the level's last tile, or with a negative or non-integer
 * key. Backends report such a tile from `auditStore` (verify() checks the tiles that should exist).
 */
export function strayTile(keys: Iterable<TileKey>, size: number): TileKey | null {
  for (const k of keys) {
    const { level, index } = k;
    if (!Number.isSafeInteger(level) || !Number.isSafeInteger(index) || level < 0 || index < 0) return k;
    // Complete nodes at the level's bottom height, then the tiles that hold them (the last partial).
    const nodes = level >= 7 ? 0 : Math.floor(size / TILE_WIDTH ** level);
    if (index >= Math.ceil(nodes / TILE_WIDTH)) return k;
  }
  return null;
}

/** The failure auditStore reports for a stray tile. */
export function strayTileFailure(
  k: TileKey,
  size: number,
): {
  kind: 'tree_mismatch';
  message: string;
} {
  return {
    kind: 'tree_mismatch',
    message: `a tile is stored at level ${String(k.level)}, index ${String(k.index)}, where the tree of ${size} entries has none`,
  };
}

// SECTIONS[w * 9 + h'] = node offset of section h' in a tile of width w; h' = 8 gives the total.
const SECTIONS: number[] = [];
for (let w = 0; w <= TILE_WIDTH; w++) {
  let offset = 0;
  for (let h = 0; h <= TILE_HEIGHT; h++) {
    SECTIONS.push(offset);
    offset += Math.floor(w / 2 ** h);
  }
}

function section(width: number, h: number): number {
  return SECTIONS[width * (TILE_HEIGHT + 1) + h]!;
}

/** Node offset (in 32-byte nodes) of the height-`h` section (0..8; 8 gives the node count) in a tile of `width`. */
export function tileSectionOffset(width: number, h: number): number {
  if (!isWidth(width) || !Number.isInteger(h) || h < 0 || h > TILE_HEIGHT)
    throw new ValidationError(`no section ${h} in a tile of width ${width}`);
  return section(width, h);
}

function isWidth(w: unknown): w is number {
  return Number.isInteger(w) && (w as number) >= 1 && (w as number) <= TILE_WIDTH;
}

/** Bytes in the blob of a tile of `width` (1..256); 16 320 for a full tile. */
export function tileBlobLength(width: number): number {
  if (!isWidth(width)) throw new ValidationError(`tile width must be an integer in 1..256, got ${width}`);
  return section(width, TILE_HEIGHT) * HASH_SIZE;
}

function tileMismatch(message: string): IntegrityError {
  return new IntegrityError({ kind: 'tree_mismatch', message });
}

/** Shape checks only (no hashing); throws IntegrityError('tree_mismatch'). */
function checkTileShape(tile: Tile): void {
  if (tile === null || typeof tile !== 'object') throw tileMismatch('tile is not an object');
  if (!isTreeSize(tile.level) || !isTreeSize(tile.index)) {
    throw tileMismatch('tile level and index must be safe non-negative integers');
  }
  if (!isWidth(tile.width)) throw tileMismatch(`tile ${tileKeyString(tile)} has invalid width ${tile.width}`);
  if (!(tile.hashes instanceof Uint8Array) || tile.hashes.byteLength !== tileBlobLength(tile.width)) {
    throw tileMismatch(
      `tile ${tileKeyString(tile)} of width ${tile.width} must hold ${tileBlobLength(tile.width)} bytes`,
    );
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Checks that the blob length matches the width and that every cached interior node is the
 * hash of its two children. Does not (cannot) check the bottom nodes: compare the tree root.
 * Throws IntegrityError with kind 'tree_mismatch'.
 */
export function validateTile(tile: Tile): void {
  checkTileShape(tile);
  const blob = asBuffer(tile.hashes);
  const w = tile.width;
  for (let h = 1; h < TILE_HEIGHT; h++) {
    const below = section(w, h - 1) * HASH_SIZE;
    const here = section(w, h) * HASH_SIZE;
    const count = Math.floor(w / 2 ** h);
    for (let p = 0; p < count; p++) {
      const left = below + 2 * p * HASH_SIZE;
      const at = here + p * HASH_SIZE;
      if (nodeHashAt(blob, left, left + HASH_SIZE).compare(blob, at, at + HASH_SIZE) !== 0) {
        throw tileMismatch(
          `tile ${tileKeyString(tile)}: node ${p} of height ${TILE_HEIGHT * tile.level + h} is not the hash of its children`,
        );
      }
    }
  }
}

/** The partial tiles (width < 256) at the right edge of a tree of `size`: what an append reads. */
export function rightEdgeTiles(size: number): TileKey[] {
  if (!isTreeSize(size)) throw new ValidationError('tree size must be a safe non-negative integer');
  const keys: TileKey[] = [];
  for (let level = 0, count = size; count > 0; level++, count = Math.floor(count / TILE_WIDTH)) {
    if (count % TILE_WIDTH !== 0) keys.push({ level, index: Math.floor(count / TILE_WIDTH) });
  }
  return keys;
}

/**
 * The right-edge tiles of a tree of `size` as an append sees them, rebuilt from the tree's frontier
 * (the roots of its complete right-edge subtrees, `frontierNodeIds(size)` order) instead of read
 * from storage. appendPackedLeavesToTiles reads an old node only where it is the left sibling of a
 * new one, and such a node is always a frontier node (bit H of `size` is set exactly when the
 * section of height H in its level's edge tile holds an odd number of nodes); every other old node
 * is only copied. So these tiles hold the frontier nodes in place and zeros elsewhere: appending to
 * them yields the right new nodes (`tileNewNodes`), while their old sections are placeholders that a
 * backend must not write (it keeps the stored bytes: see the PostgreSQL backend).
 */
export function edgeTilesFromFrontier(size: number, frontier: readonly Uint8Array[]): Tile[] {
  const keys = rightEdgeTiles(size);
  const ids = frontierNodeIds(size);
  if (frontier.length !== ids.length)
    throw new ValidationError(`frontier has ${frontier.length} hashes, size ${size} needs ${ids.length}`);
  const tiles: Tile[] = [];
  const byLevel = new Map<number, Tile>();
  for (const k of keys) {
    const width = Math.floor(size / TILE_WIDTH ** k.level) % TILE_WIDTH;
    const tile = { level: k.level, index: k.index, width, hashes: Buffer.alloc(tileBlobLength(width)) };
    tiles.push(tile);
    byLevel.set(k.level, tile);
  }
  for (let i = 0; i < ids.length; i++) {
    const { height, index } = ids[i]!;
    const level = Math.floor(height / TILE_HEIGHT);
    const h = height - level * TILE_HEIGHT;
    const tile = byLevel.get(level);
    const node = frontier[i]!;
    if (!tile || !(node instanceof Uint8Array) || node.byteLength !== HASH_SIZE)
      throw new ValidationError(`frontier node ${i} does not fit size ${size}`);
    const position = index - tile.index * 2 ** (TILE_HEIGHT - h);
    tile.hashes.set(node, (section(tile.width, h) + position) * HASH_SIZE);
  }
  return tiles;
}

/**
 * Where an append that took a tile from `oldWidth` to `width` nodes changed its blob: for each
 * height section, the old nodes (unchanged by any append: complete nodes never change) as a byte
 * range of the old blob, followed by the new nodes as a byte range of the new blob. Concatenating
 * the pieces in order gives the new blob.
 */
export function tileSplice(
  oldWidth: number,
  width: number,
): { oldStart: number; oldLength: number; newStart: number; newLength: number }[] {
  if (!Number.isInteger(oldWidth) || oldWidth < 0 || !isWidth(width) || oldWidth > width)
    throw new ValidationError(`cannot grow a tile from width ${oldWidth} to ${width}`);
  const out = [];
  for (let h = 0; h < TILE_HEIGHT; h++) {
    const oldN = Math.floor(oldWidth / 2 ** h);
    const newN = Math.floor(width / 2 ** h);
    out.push({
      oldStart: oldWidth === 0 ? 0 : section(oldWidth, h) * HASH_SIZE,
      oldLength: oldN * HASH_SIZE,
      newStart: (section(width, h) + oldN) * HASH_SIZE,
      newLength: (newN - oldN) * HASH_SIZE,
    });
  }
  return out;
}

/**
 * The right-edge tiles after an append: for each key of rightEdgeTiles(newSize), the tile the
 * append wrote, else the unchanged one from before it. Lets a writer build its next group on its
 * own last commit without reading the tiles back.
 */
export function edgeTilesAfter(before: readonly Tile[], written: readonly Tile[], newSize: number): Tile[] {
  const byKey = new Map<string, Tile>();
  for (const t of before) byKey.set(tileKeyString(t), t);
  for (const t of written) byKey.set(tileKeyString(t), t);
  return rightEdgeTiles(newSize).map((key) => {
    const t = byKey.get(tileKeyString(key));
    if (t === undefined)
      throw tileMismatch(`right-edge tile ${tileKeyString(key)} is unknown at size ${newSize}`);
    return t;
  });
}

/**
 * Append leaf hashes to a tree of `size` leaves stored as tiles. Pure: returns every tile
 * created or changed (new blobs; inputs untouched), level by level, in index order. Hashes
 * each new node once: O(new leaves + log n).
 * `edgeTiles` must be exactly the tiles named by rightEdgeTiles(size), at their current widths.
 */
export function appendLeavesToTiles(
  size: number,
  edgeTiles: readonly Tile[],
  leafHashes: readonly Uint8Array[],
): Tile[] {
  for (let i = 0; i < leafHashes.length; i++) {
    const h = leafHashes[i];
    if (!(h instanceof Uint8Array) || h.byteLength !== HASH_SIZE) {
      throw new ValidationError(`leaf hash ${i} is not 32 bytes`);
    }
  }
  const packed = Buffer.allocUnsafe(leafHashes.length * HASH_SIZE);
  for (let i = 0; i < leafHashes.length; i++) packed.set(leafHashes[i]!, i * HASH_SIZE);
  return appendPackedLeavesToTiles(size, edgeTiles, packed);
}

/**
 * appendLeavesToTiles with the leaf hashes concatenated in one buffer (32 bytes each): what the
 * append path builds, so no object per leaf is made and each tile takes its leaves in one copy.
 */
export function appendPackedLeavesToTiles(size: number, edgeTiles: readonly Tile[], leaves: Buffer): Tile[] {
  if (!isTreeSize(size)) throw new ValidationError('tree size must be a safe non-negative integer');
  if (!Buffer.isBuffer(leaves) || leaves.length % HASH_SIZE !== 0)
    throw new ValidationError('packed leaf hashes must be a Buffer of 32-byte hashes');
  if (leaves.length / HASH_SIZE > MAX_TREE_SIZE - size)
    throw new ValidationError('tree size would exceed 2^53 - 1');
  const edges = matchEdgeTiles(size, edgeTiles);
  const out: Tile[] = [];
  // New bottom nodes of the current level: leaf hashes, then the roots of tiles filled below.
  let inputs = leaves;
  let start = size; // index of the first new bottom node at this level
  for (let level = 0; inputs.length > 0; level++) {
    const n = inputs.length / HASH_SIZE;
    // At most one root per tile this level fills: ceil(n / 256) + 1 bounds them.
    const filled = Buffer.allocUnsafe((Math.floor(n / TILE_WIDTH) + 2) * HASH_SIZE);
    let filledCount = 0;
    for (let i = 0, pos = start; i < n; ) {
      const index = Math.floor(pos / TILE_WIDTH);
      const oldWidth = pos % TILE_WIDTH;
      const count = Math.min(TILE_WIDTH - oldWidth, n - i);
      const width = oldWidth + count;
      // Every byte is written below (old sections copied, new nodes computed).
      const blob = Buffer.allocUnsafeSlow(tileBlobLength(width));
      if (oldWidth > 0) {
        const old = edges.get(tileKeyString({ level, index }))!;
        for (let h = 0; h < TILE_HEIGHT; h++) {
          const from = section(oldWidth, h) * HASH_SIZE;
          const len = Math.floor(oldWidth / 2 ** h) * HASH_SIZE;
          old.copy(blob, section(width, h) * HASH_SIZE, from, from + len);
        }
      }
      inputs.copy(blob, oldWidth * HASH_SIZE, i * HASH_SIZE, (i + count) * HASH_SIZE);
      i += count;
      for (let h = 1; h < TILE_HEIGHT; h++) {
        const below = section(width, h - 1) * HASH_SIZE;
        const here = section(width, h) * HASH_SIZE;
        const end = Math.floor(width / 2 ** h);
        for (let p = Math.floor(oldWidth / 2 ** h); p < end; p++) {
          const left = below + 2 * p * HASH_SIZE;
          nodeHashInto(blob, left, left + HASH_SIZE, blob, here + p * HASH_SIZE);
        }
      }
      out.push({ level, index, width, hashes: blob });
      if (width === TILE_WIDTH) {
        const top = section(TILE_WIDTH, TILE_HEIGHT - 1) * HASH_SIZE;
        nodeHashInto(blob, top, top + HASH_SIZE, filled, filledCount++ * HASH_SIZE);
      }
      pos += count;
    }
    inputs = filled.subarray(0, filledCount * HASH_SIZE);
    start = Math.floor(start / TILE_WIDTH);
  }
  return out;
}

/** Edge tiles by key; throws IntegrityError unless they are exactly rightEdgeTiles(size). */
function matchEdgeTiles(size: number, edgeTiles: readonly Tile[]): Map<string, Buffer> {
  const want = new Map<string, number>();
  for (let level = 0, count = size; count > 0; level++, count = Math.floor(count / TILE_WIDTH)) {
    const width = count % TILE_WIDTH;
    if (width !== 0) want.set(tileKeyString({ level, index: Math.floor(count / TILE_WIDTH) }), width);
  }
  if (!Array.isArray(edgeTiles)) throw new ValidationError('edge tiles must be an array');
  const got = new Map<string, Buffer>();
  for (const tile of edgeTiles) {
    checkTileShape(tile);
    const key = tileKeyString(tile);
    const width = want.get(key);
    if (width === undefined) throw tileMismatch(`tile ${key} is not a right-edge tile at size ${size}`);
    if (got.has(key)) throw tileMismatch(`tile ${key} given twice`);
    if (tile.width !== width) {
      throw tileMismatch(`tile ${key} has width ${tile.width}, size ${size} needs ${width}`);
    }
    got.set(key, asBuffer(tile.hashes));
  }
  for (const key of want.keys()) {
    if (!got.has(key)) throw tileMismatch(`right-edge tile ${key} is missing at size ${size}`);
  }
  return got;
}

interface NodeLocation {
  key: TileKey;
  /** Height within the tile, 0..7. */
  sub: number;
  /** Position within its height section. */
  position: number;
}

function locate(id: NodeId): NodeLocation {
  if (id === null || typeof id !== 'object' || !isTreeSize(id.height) || !isTreeSize(id.index)) {
    throw new ProofError('node id must have safe non-negative integer height and index');
  }
  const level = Math.floor(id.height / TILE_HEIGHT);
  const sub = id.height - level * TILE_HEIGHT;
  const span = 2 ** (TILE_HEIGHT - sub); // nodes of this height per tile
  const index = Math.floor(id.index / span);
  return { key: { level, index }, sub, position: id.index - index * span };
}

/** The distinct tiles holding `ids` (first-seen order); every node must exist at `size`. */
export function tileKeysForNodes(ids: readonly NodeId[], size: number): TileKey[] {
  if (!isTreeSize(size)) throw new ProofError('tree size must be a safe non-negative integer');
  const seen = new Set<string>();
  const keys: TileKey[] = [];
  for (const id of ids) {
    const { key } = locate(id);
    if (!nodeExists(id, size)) {
      throw new ProofError(`node ${id.height}/${id.index} does not exist in a tree of size ${size}`);
    }
    const s = tileKeyString(key);
    if (!seen.has(s)) {
      seen.add(s);
      keys.push(key);
    }
  }
  return keys;
}

/** Hashes of `ids` read from `tiles` (copies). Throws ProofError if a node is not there. */
export function nodesFromTiles(ids: readonly NodeId[], tiles: readonly Tile[]): Buffer[] {
  const byKey = new Map<string, Tile>();
  for (const tile of tiles) {
    checkTileShape(tile);
    const key = tileKeyString(tile);
    const prev = byKey.get(key);
    // A tile may be given at several widths; the widest holds all the others' nodes.
    if (prev === undefined || prev.width < tile.width) byKey.set(key, tile);
  }
  const out: Buffer[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const { key, sub, position } = locate(id);
    const tile = byKey.get(tileKeyString(key));
    if (tile === undefined)
      throw new ProofError(`tile ${tileKeyString(key)} for node ${id.height}/${id.index} is missing`);
    if (position >= Math.floor(tile.width / 2 ** sub)) {
      throw new ProofError(
        `node ${id.height}/${id.index} is not in tile ${tileKeyString(key)} of width ${tile.width}`,
      );
    }
    const at = (section(tile.width, sub) + position) * HASH_SIZE;
    // A pooled copy: cheaper than a view, and the result never aliases the tile blob.
    const node = Buffer.allocUnsafe(HASH_SIZE);
    asBuffer(tile.hashes).copy(node, 0, at, at + HASH_SIZE);
    out[i] = node;
  }
  return out;
}

/**
 * Every tile of the tree over `leafHashes`, built from scratch level by level (independent of
 * appendLeavesToTiles, so each cross-checks the other). For tests, rebuilds and verification.
 */
export function tilesForTree(leafHashes: readonly Uint8Array[]): Tile[] {
  // heights[h] = all complete nodes of height h, in index order.
  const heights: Uint8Array[][] = [];
  let current: readonly Uint8Array[] = leafHashes;
  for (let i = 0; i < current.length; i++) {
    const h = current[i];
    if (!(h instanceof Uint8Array) || h.byteLength !== HASH_SIZE) {
      throw new ValidationError(`leaf hash ${i} is not 32 bytes`);
    }
  }
  while (current.length > 0) {
    heights.push(current as Uint8Array[]);
    const next: Buffer[] = new Array(Math.floor(current.length / 2));
    for (let i = 0; i < next.length; i++) next[i] = nodeHash(current[2 * i]!, current[2 * i + 1]!);
    current = next;
  }
  const tiles: Tile[] = [];
  for (let level = 0; TILE_HEIGHT * level < heights.length; level++) {
    const bottom = heights[TILE_HEIGHT * level]!;
    for (let index = 0; index * TILE_WIDTH < bottom.length; index++) {
      const width = Math.min(TILE_WIDTH, bottom.length - index * TILE_WIDTH);
      const blob = Buffer.alloc(tileBlobLength(width));
      for (let h = 0; h < TILE_HEIGHT; h++) {
        const count = Math.floor(width / 2 ** h);
        const first = index * 2 ** (TILE_HEIGHT - h);
        const nodes = heights[TILE_HEIGHT * level + h];
        for (let p = 0; p < count; p++) blob.set(nodes![first + p]!, (section(width, h) + p) * HASH_SIZE);
      }
      tiles.push({ level, index, width, hashes: blob });
    }
  }
  return tiles;
}

/**
 * The frontier after an append, without hashing: every frontier node of the new tree is either an old
 * frontier node or a node completed by the append, which then lives in one of the tiles the append
 * changed (`appendLeavesToTiles`' result). Saves the per-leaf merge hashing of `frontierAppend`.
 */
export function frontierAfterAppend(
  oldFrontier: readonly Buffer[],
  oldSize: number,
  newSize: number,
  changedTiles: readonly Tile[],
): Buffer[] {
  const old = new Map<string, Buffer>();
  frontierNodeIds(oldSize).forEach((id, i) => {
    old.set(`${id.height}/${id.index}`, oldFrontier[i]!);
  });
  const ids = frontierNodeIds(newSize);
  const fresh = ids.filter((id) => !old.has(`${id.height}/${id.index}`));
  const hashes = fresh.length ? nodesFromTiles(fresh, changedTiles) : [];
  let k = 0;
  return ids.map((id) => old.get(`${id.height}/${id.index}`) ?? hashes[k++]!);
}
