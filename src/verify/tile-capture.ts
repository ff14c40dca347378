/**
 * Checking stored tree tiles against the tree the verifier recomputes (docs/FORMAT.md §3.1, §6).
 *
 * A `TileCapture` follows one tile level while a `Latin1Range` merges that level's bottom nodes
 * (leaf hashes at level 0, level-(L-1) tile roots at level L): the range hands it every node of
 * heights 0..7 of the tile being built, as it creates them (no hashing of its own), and the tile's
 * root when it completes. A completed tile is compared with the stored one as one string (the new
 * nodes of each height, concatenated, are the stored layout); a tile ending the run (the log's right edge, or where a
 * failure stopped the stream) is compared node by node. The stored tiles come from the caller
 * (`supply`): the verifier stays pure over what it is given.
 *
 * A run that starts inside a tile (incremental verification) is seeded with the verified frontier
 * nodes in that tile; the tile's older nodes are then checked by hashing them up to those nodes.
 */
import type { IntegrityFailure } from '../errors.js';
import { nodeHashAt } from '../merkle/hash.js';
import { type Tile, type TileKey, tileBlobLength, tileSectionOffset } from '../merkle/tiles.js';

const WIDTH = 256;
const HEIGHT = 8;
/** Node offset of the height-h section in a full tile. */
export const FULL_SECTION: readonly number[] = [0, 256, 384, 448, 480, 496, 504, 508];
const FULL_NODES = 510;
const NODE = 32;

type Supplied = { tile: Tile } | { problem: string };

/** Where the captures of one run put what they found (shared when a capture is replaced). */
export interface TileSink {
  /** Roots of the tiles completed, in order (the next level's bottom nodes), latin1. */
  roots: string[];
  /** Edge tiles stored wider than the verified entries give them: [level, index, stored width]. */
  grown: [number, number, number][];
  /** Tiles compared (whole or their new part). */
  compared: number;
}

export function newTileSink(): TileSink {
  return { roots: [], grown: [], compared: 0 };
}

export class TileCapture {
  readonly level: number;
  /**
   * The tile being built, in the stored layout of a full tile, after one spare byte: Latin1Range
   * writes each node here as it makes it and hashes two siblings in place (they are adjacent, and
   * the byte before the left one is set to 0x01 for the hash), so a complete tile is compared with
   * the stored blob as bytes, at no cost beyond the writes its hashing needed anyway.
   */
  readonly buf = Buffer.alloc(1 + FULL_NODES * NODE);
  /**
   * views[slot] for each right child's slot: the 65 bytes 0x01 || left || right hashed to make its
   * parent (the first is the byte before the left sibling, set to 0x01 for the hash).
   */
  readonly views: Buffer[] = [];
  /** Bottom index (at this level) of the tile being built's first node: a multiple of 256. */
  base: number;
  /** Nodes of the current tile that predate this run (seeded from the verified frontier). */
  private oldWidth: number;
  private seeds: { height: number; position: number }[];
  private readonly stored = new Map<number, Supplied>();
  /** Next tile index not yet asked for. */
  private nextKey: number;
  readonly sink: TileSink;
  private readonly fail: (f: IntegrityFailure) => void;
  private finished = false;

  /**
   * `start`: how many bottom nodes of this level the tree had before this run; `seeds`: the
   * frontier nodes of that tree inside its partial tile (height < 8, largest first, latin1).
   */
  constructor(
    level: number,
    start: number,
    seeds: readonly { height: number; hash: string }[],
    fail: (f: IntegrityFailure) => void,
    sink: TileSink = newTileSink(),
  ) {
    this.level = level;
    this.sink = sink;
    this.oldWidth = start % WIDTH;
    this.base = start - this.oldWidth;
    this.nextKey = this.base / WIDTH;
    this.fail = fail;
    for (let h = 0; h < HEIGHT; h++)
      for (let p = 1; p < WIDTH >> h; p += 2) {
        const slot = FULL_SECTION[h]! + p;
        this.views[slot] = this.buf.subarray(slot * NODE - NODE, slot * NODE + NODE + 1);
      }
    this.seeds = [];
    let at = 0;
    for (const s of seeds) {
      const position = at >> s.height;
      this.buf.write(s.hash, 1 + (FULL_SECTION[s.height]! + position) * NODE, 'latin1');
      this.seeds.push({ height: s.height, position });
      at += 2 ** s.height;
    }
    if (at !== this.oldWidth) throw new Error(`tile seeds cover ${at} nodes, ${this.oldWidth} expected`);
  }

  /** Byte offset in `buf` of node p of height h of the current tile. */
  offset(h: number, p: number): number {
    return 1 + (FULL_SECTION[h]! + p) * NODE;
  }

  get tileIndex(): number {
    return this.base / WIDTH;
  }

  /** Keys of the tiles holding bottom nodes [from, from + count) that were not asked for yet. */
  keysAhead(from: number, count: number): TileKey[] {
    if (count <= 0) return [];
    const last = Math.floor((from + count - 1) / WIDTH);
    const keys: TileKey[] = [];
    for (; this.nextKey <= last; this.nextKey++) keys.push({ level: this.level, index: this.nextKey });
    return keys;
  }

  /** The stored tiles for `keys` (what `readTiles` returned, in any order), or why they could not be read. */
  supply(keys: readonly TileKey[], tiles: readonly Tile[] | Error): void {
    const byIndex = new Map<number, Tile>();
    if (!(tiles instanceof Error)) {
      for (const t of tiles)
        if (t && typeof t === 'object' && t.level === this.level && !byIndex.has(t.index))
          byIndex.set(t.index, t);
    }
    for (const k of keys) {
      const t = byIndex.get(k.index);
      if (tiles instanceof Error)
        this.stored.set(k.index, { problem: `could not be read (${tiles.message})` });
      else if (t === undefined) this.stored.set(k.index, { problem: 'is missing' });
      else if (!Number.isInteger(t.width) || t.width < 1 || t.width > WIDTH)
        this.stored.set(k.index, { problem: `has invalid width ${String(t.width)}` });
      else if (!(t.hashes instanceof Uint8Array) || t.hashes.byteLength !== tileBlobLength(t.width))
        this.stored.set(k.index, {
          problem: `of width ${t.width} does not hold ${tileBlobLength(t.width)} bytes`,
        });
      else this.stored.set(k.index, { tile: t });
    }
  }

  /** Called by the range when the current tile's root (height 8 at this level) is made. */
  tileDone(root: string): void {
    const index = this.base / WIDTH;
    const s = this.stored.get(index);
    this.stored.delete(index);
    if (s !== undefined && 'tile' in s && s.tile.width === WIDTH && this.oldWidth === 0) {
      if (this.buf.compare(s.tile.hashes, 0, FULL_NODES * NODE, 1) === 0) this.sink.compared++;
      else this.compare(index, s, WIDTH);
    } else {
      this.compare(index, s, WIDTH);
    }
    this.sink.roots.push(root);
    this.base += WIDTH;
    this.oldWidth = 0;
    this.seeds = [];
  }

  /** Node p of height h of the current tile as built (new or seeded). */
  private node(h: number, p: number): string {
    const off = this.offset(h, p);
    return this.buf.toString('latin1', off, off + NODE);
  }

  /** Compare the partial tile at the end of the run: `end` bottom nodes of this level are verified. */
  finish(end: number): void {
    if (this.finished) return;
    this.finished = true;
    const width = end - this.base;
    if (width <= this.oldWidth || width >= WIDTH) return; // nothing new in it (a full tile was compared)
    const index = this.base / WIDTH;
    this.compare(index, this.stored.get(index), width);
  }

  /** The last bottom node (at level 0: the entry) under node (h, p) of tile `index`: where a mismatch is reported. */
  private lastLeaf(index: number, h: number, p: number): number {
    return (index * WIDTH + (p + 1) * 2 ** h) * WIDTH ** this.level - 1;
  }

  private nodeName(index: number, h: number, p: number): string {
    return `node ${HEIGHT * this.level + h}/${index * 2 ** (HEIGHT - h) + p}`;
  }

  /** Node-by-node comparison of tile `index`, expected `width` wide; records the earliest mismatch. */
  private compare(index: number, s: Supplied | undefined, width: number): void {
    this.sink.compared++;
    const name = `stored tile ${this.level}/${index}`;
    const first = this.lastLeaf(index, 0, this.oldWidth);
    if (s === undefined || 'problem' in s) {
      this.fail({
        kind: 'tree_mismatch',
        index: first,
        message: `${name} ${s === undefined ? 'was not read' : s.problem}`,
      });
      return;
    }
    const tile = s.tile;
    const sw = tile.width;
    if (sw < width || (sw > width && width === WIDTH)) {
      this.fail({
        kind: 'tree_mismatch',
        index: first,
        message: `${name} has width ${sw}, the verified entries give it ${width}`,
        expected: String(width),
        actual: String(sw),
      });
      return;
    }
    const h = tile.hashes as Uint8Array;
    const blob = Buffer.isBuffer(h) ? h : Buffer.from(h.buffer, h.byteOffset, h.byteLength);
    let bad: { at: number; message: string } | null = null;
    const note = (at: number, message: string) => {
      if (bad === null || at < bad.at) bad = { at, message };
    };
    // New nodes: equal to the recomputed ones.
    for (let h = 0; h < HEIGHT; h++) {
      const n = Math.floor(width / 2 ** h);
      const at = tileSectionOffset(sw, h);
      for (let p = Math.floor(this.oldWidth / 2 ** h); p < n; p++) {
        const off = (at + p) * NODE;
        if (blob.toString('latin1', off, off + NODE) !== this.node(h, p))
          note(
            this.lastLeaf(index, h, p),
            `${name}: ${this.nodeName(index, h, p)} differs from the recomputed tree`,
          );
      }
    }
    // Nodes from before this run: each interior node the hash of its children, up to the verified
    // frontier nodes (so every one of them is what the earlier, verified entries gave).
    if (this.oldWidth > 0) {
      for (const { height, position } of this.seeds) {
        const off = (tileSectionOffset(sw, height) + position) * NODE;
        if (blob.toString('latin1', off, off + NODE) !== this.node(height, position))
          note(
            this.lastLeaf(index, height, position),
            `${name}: ${this.nodeName(index, height, position)} differs from the verified frontier`,
          );
      }
      for (let h = 1; h < HEIGHT; h++) {
        const below = tileSectionOffset(sw, h - 1);
        const here = tileSectionOffset(sw, h);
        for (let p = 0; p < Math.floor(this.oldWidth / 2 ** h); p++) {
          const left = (below + 2 * p) * NODE;
          const parent = nodeHashAt(blob, left, left + NODE);
          if (parent.compare(blob, (here + p) * NODE, (here + p + 1) * NODE) !== 0)
            note(
              this.lastLeaf(index, h, p),
              `${name}: ${this.nodeName(index, h, p)} is not the hash of its children`,
            );
        }
      }
    }
    if (bad !== null) {
      const b = bad as { at: number; message: string };
      this.fail({ kind: 'tree_mismatch', index: b.at, message: b.message });
      return;
    }
    if (sw > width) this.sink.grown.push([this.level, index, sw]);
  }
}

/** Width of tile (level, index) in a tree of `size` leaves (0 when it does not exist). */
export function tileWidthAt(size: number, level: number, index: number): number {
  const bottom = Math.floor(size / WIDTH ** level);
  return Math.max(0, Math.min(WIDTH, bottom - index * WIDTH));
}
