/**
 * Reading the persisted Merkle tree: proof nodes and roots from tiles. Proofs keep an LRU of tiles;
 * roots for verification always read the store as it is now.
 */
import { frontierNodeIds, frontierRoot } from '../merkle/frontier.js';
import { consistencyPlan, type ProofPlan } from '../merkle/proof.js';
import { nodesFromTiles, type Tile, type TileKey, tileKeyString, tileKeysForNodes } from '../merkle/tiles.js';
import type { StorageBackend } from '../storage/backend.js';

export class TreeReader {
  private readonly cache = new Map<string, Tile>();

  constructor(
    private readonly backend: StorageBackend,
    private readonly limit: number,
  ) {}

  /**
   * Proof nodes from tiles, through the cache: complete nodes never change, so a cached tile stays
   * right for every node it holds; a cached partial tile too narrow for this proof is re-read.
   */
  async readNodes(plan: ProofPlan, size: number): Promise<Buffer[]> {
    if (plan.ids.length === 0) return plan.assemble([]);
    const keys = tileKeysForNodes(plan.ids, size);
    const tiles: Tile[] = [];
    const missing: TileKey[] = [];
    for (const k of keys) {
      const hit = this.cache.get(tileKeyString(k));
      if (hit) tiles.push(hit);
      else missing.push(k);
    }
    if (missing.length) for (const t of await this.backend.readTiles(missing)) tiles.push(this.cacheTile(t));
    try {
      return plan.assemble(nodesFromTiles(plan.ids, tiles));
    } catch {
      // A cached partial tile was narrower than this proof needs: read the current ones.
      const fresh = await this.backend.readTiles(keys);
      return plan.assemble(
        nodesFromTiles(
          plan.ids,
          fresh.map((t) => this.cacheTile(t)),
        ),
      );
    }
  }

  /** Complete nodes never change, so a tile read for one proof serves later ones (LRU, bounded). */
  private cacheTile(t: Tile): Tile {
    if (this.limit === 0) return t;
    const key = tileKeyString(t);
    this.cache.delete(key);
    this.cache.set(key, t);
    if (this.cache.size > this.limit) this.cache.delete(this.cache.keys().next().value as string);
    return t;
  }

  /** The root at `size` read from the stored tiles (never cached: verification uses it). */
  async rootFromTiles(size: number): Promise<Buffer> {
    // The root is the fold of the frontier nodes, which are complete nodes stored in tiles.
    const ids = frontierNodeIds(size);
    const tiles = await this.backend.readTiles(tileKeysForNodes(ids, size));
    return frontierRoot(nodesFromTiles(ids, tiles));
  }

  async consistencyFromTiles(size1: number, size2: number): Promise<Buffer[]> {
    return this.readNodes(consistencyPlan(size1, size2), size2);
  }
}
