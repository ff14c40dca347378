/**
 * The stored tree tiles above level 0, checked at the end of a verification run: the verifier (or its
 * workers) compared every level-0 tile while hashing the leaves and kept the roots of those tiles;
 * here they are the bottom nodes of level 1, whose tiles are rebuilt and compared the same way, and
 * so on up (one hash per 256 nodes of the level below: ~4,000 for a million entries). Also: no tile
 * is stored past the tree, and an edge tile stored wider than the verified tree is explained by the
 * head having grown since it was read.
 */
import type { IntegrityFailure } from '../errors.js';
import { frontierNodeIds } from '../merkle/frontier.js';
import type { Tile, TileKey } from '../merkle/tiles.js';
import type { Head, StorageBackend } from '../storage/backend.js';
import { Latin1Range } from '../verify/latin1-range.js';
import type { StreamVerifier, VerifiedState } from '../verify/stream-verifier.js';
import { TileCapture, type TileSink, tileWidthAt } from '../verify/tile-capture.js';

/** Tiles read per query (each up to 16 KiB). */
const BATCH_TILES = 64;

async function read(backend: StorageBackend, keys: readonly TileKey[]): Promise<Tile[] | Error> {
  try {
    return await backend.readTiles(keys);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * Give `v` the stored level-0 tiles its next `rows` rows complete, read in one request (it compares
 * them as the rows' leaves build them; a read error is reported as the tiles' failure).
 */
export async function supplyTilesAhead(
  v: StreamVerifier,
  backend: StorageBackend,
  rows: number,
): Promise<void> {
  const keys = v.tileKeysAhead(rows);
  if (keys.length) v.supplyTiles(keys, await read(backend, keys));
}

/**
 * Check the tiles of levels 1 and up that hold nodes made by entries [start.size, end), from the
 * level-0 tile roots `sink.roots` (those completed in this run, in order). Failures go to `fail`
 * (the first in log order wins there); wider edge tiles are added to `sink.grown`.
 */
export async function checkUpperTiles(
  backend: StorageBackend,
  start: Pick<VerifiedState, 'size' | 'frontier'>,
  end: number,
  sink: TileSink,
  fail: (f: IntegrityFailure) => void,
): Promise<void> {
  const ids = frontierNodeIds(start.size);
  let bottoms = sink.roots;
  for (let level = 1; ; level++) {
    const from = Math.floor(start.size / 256 ** level);
    const to = Math.floor(end / 256 ** level);
    if (to <= from) return; // no new node at this level (nor above)
    if (bottoms.length !== to - from) {
      fail({
        kind: 'tree_mismatch',
        index: end - 1,
        message: `level ${level} of the tree: ${bottoms.length} nodes recomputed, ${to - from} expected`,
      });
      return;
    }
    // The verified frontier nodes at this level and above, heights relative to the level.
    const seeds = ids
      .map((id, i) => ({
        height: id.height - 8 * level,
        hash: Buffer.from(start.frontier[i]!).toString('latin1'),
      }))
      .filter((n) => n.height >= 0);
    const next: string[] = [];
    const capture = new TileCapture(
      level,
      from,
      seeds.filter((n) => n.height < 8),
      fail,
      { roots: next, grown: sink.grown, compared: 0 },
    );
    const range = new Latin1Range(0, seeds, capture);
    for (let i = 0; i < bottoms.length; ) {
      const n = Math.min(bottoms.length - i, BATCH_TILES * 256 - ((from + i) % 256));
      const keys = capture.keysAhead(from + i, n);
      if (keys.length) capture.supply(keys, await read(backend, keys));
      for (const stop = i + n; i < stop; i++) range.append(bottoms[i]!);
    }
    capture.finish(to);
    sink.compared += capture.sink.compared;
    bottoms = next;
  }
}

/**
 * Tiles the verified tree of `size` does not have must not be stored, and an edge tile stored wider
 * than that tree gives it must be explained by a later head (appends write tiles and head together;
 * the head is read again only if needed). One probe per level.
 */
export async function checkTileBounds(
  backend: StorageBackend,
  size: number,
  grown: readonly [number, number, number][],
): Promise<IntegrityFailure | null> {
  const probes: TileKey[] = [];
  for (let level = 0; ; level++) {
    const bottom = Math.floor(size / 256 ** level);
    probes.push({ level, index: Math.ceil(bottom / 256) });
    if (bottom === 0) break;
  }
  const found = await read(backend, probes);
  const wide: [number, number, number][] = [...grown];
  if (found instanceof Error) {
    return { kind: 'tree_mismatch', message: `stored tiles could not be read: ${found.message}` };
  }
  for (const t of found) wide.push([t.level, t.index, t.width]);
  if (wide.length === 0) return null;
  let later: Head | null = null;
  for (const [level, index, width] of wide) {
    if (tileWidthAt(size, level, index) >= width) continue;
    later ??= await backend.readHead();
    if (tileWidthAt(later.size, level, index) >= width) continue;
    return {
      kind: 'tree_mismatch',
      message: `stored tile ${level}/${index} has width ${width}, but the log (${later.size} entries) gives it ${tileWidthAt(later.size, level, index)}`,
      expected: String(tileWidthAt(later.size, level, index)),
      actual: String(width),
    };
  }
  return null;
}
