import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntegrityError, ProofError, ValidationError } from '../../src/errors.js';
import { nodeHashAt, nodeHashInto } from '../../src/merkle/hash.js';
import {
  appendLeavesToTiles,
  frontierAppend,
  frontierNodeIds,
  frontierRoot,
  leafHash,
  nodeHash,
  nodesFromTiles,
  rightEdgeTiles,
  rootFromLeafHashes,
  type Tile,
  tileBlobLength,
  tileKeyString,
  tileKeysForNodes,
  tilesForTree,
  validateTile,
} from '../../src/merkle/index.js';
import {
  appendPackedLeavesToTiles,
  edgeTilesFromFrontier,
  frontierAfterAppend,
  strayTile,
  tileSplice,
} from '../../src/merkle/tiles.js';
import { fakeLeafHashes, hex, TileStore, vectors } from './helpers.js';

function byKey(tiles: readonly Tile[]): Map<string, Tile> {
  return new Map(tiles.map((t) => [tileKeyString(t), t]));
}

function expectSameTiles(a: ReadonlyMap<string, Tile>, b: ReadonlyMap<string, Tile>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, t] of a) {
    const u = b.get(k)!;
    expect(t.width, k).toBe(u.width);
    expect(t.hashes.equals(u.hashes), k).toBe(true);
  }
}

/** Root of the tree at `size`, read from tiles the way storage would (frontier nodes). */
function rootFromTiles(tiles: readonly Tile[], size: number): Buffer {
  const ids = frontierNodeIds(size);
  const keys = tileKeysForNodes(ids, size);
  const map = byKey(tiles);
  return frontierRoot(
    nodesFromTiles(
      ids,
      keys.map((k) => map.get(tileKeyString(k))!),
    ),
  );
}

/** The tiles an append from `size` to `newSize` must return, level by level. */
function expectedChangedKeys(size: number, newSize: number): string[] {
  const keys: string[] = [];
  for (
    let level = 0, s = size, e = newSize;
    e > s;
    level++, s = Math.floor(s / 256), e = Math.floor(e / 256)
  ) {
    for (let t = Math.floor(s / 256); t <= Math.floor((e - 1) / 256); t++) keys.push(`${level}/${t}`);
  }
  return keys;
}

describe('tile blob layout', () => {
  it('blob lengths', () => {
    expect(tileBlobLength(1)).toBe(32);
    expect(tileBlobLength(3)).toBe(4 * 32);
    expect(tileBlobLength(8)).toBe(15 * 32);
    expect(tileBlobLength(255)).toBe((255 + 127 + 63 + 31 + 15 + 7 + 3 + 1) * 32);
    expect(tileBlobLength(256)).toBe(510 * 32);
    for (const bad of [0, 257, 1.5, -1, Number.NaN])
      expect(() => tileBlobLength(bad)).toThrow(ValidationError);
  });

  it('the vector tree is one tile: leaves, then each level of nodeHashesByLevel', () => {
    const leaves = (vectors.tree.leaves as string[]).map((d) => leafHash(hex(d)));
    const tiles = tilesForTree(leaves);
    expect(tiles).toHaveLength(1);
    const [tile] = tiles;
    expect(tile).toMatchObject({ level: 0, index: 0, width: 8 });
    expect(tile!.hashes.toString('hex')).toBe((vectors.tree.nodeHashesByLevel as string[][]).flat().join(''));
    // The first width·32 bytes are the C2SP tlog-tile: the level's bottom hashes.
    expect(tile!.hashes.subarray(0, 8 * 32).equals(Buffer.concat(leaves))).toBe(true);
    validateTile(tile!);
  });

  it('places node (h, i) at level floor(h/8), tile floor(i / 2^(8 - h%8))', () => {
    const n = 70_000;
    const leaves = fakeLeafHashes(n);
    const tiles = tilesForTree(leaves);
    // Node (9, 130): level 1, h' = 1, tile floor(130 / 128) = 1, position 2 of section 1.
    expect(tileKeysForNodes([{ height: 9, index: 130 }], n)).toEqual([{ level: 1, index: 1 }]);
    const [node] = nodesFromTiles([{ height: 9, index: 130 }], tiles);
    expect(node!.equals(rootFromLeafHashes(leaves.slice(130 * 512, 131 * 512)))).toBe(true);
    // Node (8, 5) is a bottom node of level 1, not stored in level-0 tile 5.
    expect(tileKeysForNodes([{ height: 8, index: 5 }], n)).toEqual([{ level: 1, index: 0 }]);
    expect(
      nodesFromTiles([{ height: 8, index: 5 }], tiles)[0]!.equals(
        rootFromLeafHashes(leaves.slice(1280, 1536)),
      ),
    ).toBe(true);
  });
});

describe('tiles across the 256 and 65536 boundaries', () => {
  const all = fakeLeafHashes(66_200);
  const expected: Record<number, { keys: string[]; edge: string[] }> = {
    1: { keys: ['0/0'], edge: ['0/0'] },
    255: { keys: ['0/0'], edge: ['0/0'] },
    256: { keys: ['0/0', '1/0'], edge: ['1/0'] },
    257: { keys: ['0/0', '0/1', '1/0'], edge: ['0/1', '1/0'] },
    512: { keys: ['0/0', '0/1', '1/0'], edge: ['1/0'] },
  };
  for (const n of [1, 255, 256, 257, 511, 512, 513, 65_535, 65_536, 65_537]) {
    it(`size ${n}`, () => {
      const leaves = all.slice(0, n);
      const tiles = tilesForTree(leaves);
      for (const t of tiles) validateTile(t);
      expect(rootFromTiles(tiles, n).equals(rootFromLeafHashes(leaves))).toBe(true);
      const edge = rightEdgeTiles(n).map(tileKeyString);
      for (const k of edge) expect(byKey(tiles).get(k)!.width).toBeLessThan(256);
      for (const t of tiles) if (!edge.includes(tileKeyString(t))) expect(t.width).toBe(256);
      const want = expected[n];
      if (want) {
        expect(tiles.map(tileKeyString)).toEqual(want.keys);
        expect(edge).toEqual(want.edge);
      }
      if (n === 65_536) {
        expect(edge).toEqual(['2/0']);
        expect(tiles.filter((t) => t.level === 1)).toHaveLength(1);
        expect(byKey(tiles).get('2/0')!.width).toBe(1);
      }
      if (n === 65_537) expect(edge).toEqual(['0/256', '2/0']);
    });
  }

  it('appending across 65536 in uneven batches equals building from scratch', () => {
    const store = TileStore.of(all.slice(0, 65_000));
    const steps = [535, 1, 1, 255, 1, 300];
    let size = 65_000;
    for (const k of steps) {
      const changed = store.append(all.slice(size, size + k));
      expect(changed.map(tileKeyString)).toEqual(expectedChangedKeys(size, size + k));
      size += k;
    }
    expect(size).toBe(66_093);
    expectSameTiles(store.tiles, byKey(tilesForTree(all.slice(0, size))));
  });

  it('one leaf onto 65535 fills tiles 0/255 and 1/0 and starts 2/0', () => {
    const store = TileStore.of(all.slice(0, 65_535));
    expect(rightEdgeTiles(65_535).map(tileKeyString)).toEqual(['0/255', '1/0']);
    const changed = store.append([all[65_535]!]);
    expect(changed.map((t) => [tileKeyString(t), t.width])).toEqual([
      ['0/255', 256],
      ['1/0', 256],
      ['2/0', 1],
    ]);
    expect(changed[2]!.hashes.equals(rootFromLeafHashes(all.slice(0, 65_536)))).toBe(true);
  });
});

describe('appendLeavesToTiles, property-based', () => {
  it('successive batches give the tiles of tilesForTree, and the same root as the frontier', () => {
    const pool = fakeLeafHashes(2000, 3);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 12 }),
        (n, cuts) => {
          const leaves = pool.slice(0, n);
          const store = new TileStore();
          let frontier = { frontier: [] as readonly Buffer[], size: 0 };
          let c = 0;
          while (store.size < n) {
            const k = Math.min(cuts[c++ % cuts.length]!, n - store.size);
            const before = store.size;
            const batch = leaves.slice(before, before + k);
            const oldEdges = rightEdgeTiles(before).map((key) => store.tiles.get(tileKeyString(key))!);
            const oldBytes = oldEdges.map((t) => Buffer.from(t.hashes));
            const changed = store.append(batch);
            expect(changed.map(tileKeyString)).toEqual(expectedChangedKeys(before, before + k));
            // Pure: the edge tiles passed in are left untouched.
            for (const [i, t] of oldEdges.entries()) expect(t.hashes.equals(oldBytes[i]!)).toBe(true);
            frontier = frontierAppend(frontier.frontier, frontier.size, batch);
          }
          const tiles = [...store.tiles.values()];
          expectSameTiles(store.tiles, byKey(tilesForTree(leaves)));
          const root = rootFromLeafHashes(leaves);
          expect(frontierRoot(frontier.frontier).equals(root)).toBe(true);
          expect(rootFromTiles(tiles, n).equals(root)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('appendPackedLeavesToTiles (the append path)', () => {
  it('gives exactly the tiles of appendLeavesToTiles', () => {
    const leaves = fakeLeafHashes(700, 5);
    for (const [size, k] of [
      [0, 1],
      [0, 256],
      [255, 2],
      [300, 400],
      [511, 189],
    ] as const) {
      const all = byKey(tilesForTree(leaves.slice(0, size)));
      const edges = rightEdgeTiles(size).map((key) => all.get(tileKeyString(key))!);
      const batch = leaves.slice(size, size + k);
      const packed = appendPackedLeavesToTiles(size, edges, Buffer.concat(batch));
      expectSameTiles(byKey(packed), byKey(appendLeavesToTiles(size, edges, batch)));
      expect(packed.map(tileKeyString)).toEqual(expectedChangedKeys(size, size + k));
    }
  });

  it('refuses leaves that are not whole 32-byte hashes', () => {
    expect(() => appendPackedLeavesToTiles(0, [], Buffer.alloc(33))).toThrow(ValidationError);
    expect(() => appendPackedLeavesToTiles(0, [], new Uint8Array(32) as Buffer)).toThrow(ValidationError);
    expect(appendPackedLeavesToTiles(0, [], Buffer.alloc(0))).toEqual([]);
  });

  it('nodeHashInto writes the node hash in place', () => {
    const [a, b] = fakeLeafHashes(2, 9);
    const src = Buffer.concat([Buffer.alloc(7, 1), a!, b!]);
    const dst = Buffer.alloc(40, 0xee);
    nodeHashInto(src, 7, 39, dst, 4);
    expect(dst.subarray(4, 36).equals(nodeHash(a!, b!))).toBe(true);
    expect(nodeHashAt(src, 7, 39).equals(nodeHash(a!, b!))).toBe(true);
    expect(dst.subarray(0, 4).equals(Buffer.alloc(4, 0xee))).toBe(true);
    expect(dst.subarray(36).equals(Buffer.alloc(4, 0xee))).toBe(true);
  });
});

describe('tile errors fail closed', () => {
  const leaves = fakeLeafHashes(600);
  const tiles = byKey(tilesForTree(leaves.slice(0, 300)));
  const edges = rightEdgeTiles(300).map((k) => tiles.get(tileKeyString(k))!);
  const more = leaves.slice(300, 310);

  it('the right edge tiles are required, exactly', () => {
    expect(edges.map((t) => [tileKeyString(t), t.width])).toEqual([
      ['0/1', 44],
      ['1/0', 1],
    ]);
    expect(() => appendLeavesToTiles(300, edges, more)).not.toThrow();
    expect(() => appendLeavesToTiles(300, [...edges].reverse(), more)).not.toThrow();
    expect(() => appendLeavesToTiles(300, edges.slice(0, 1), more)).toThrow(/missing/);
    expect(() => appendLeavesToTiles(300, [...edges, edges[0]!], more)).toThrow(/twice/);
    expect(() => appendLeavesToTiles(300, [...edges, tiles.get('0/0')!], more)).toThrow(/not a right-edge/);
    expect(() => appendLeavesToTiles(301, edges, more)).toThrow(IntegrityError);
    const narrow = tilesForTree(leaves.slice(0, 299)).find((t) => tileKeyString(t) === '0/1')!;
    expect(() => appendLeavesToTiles(300, [narrow, edges[1]!], more)).toThrow(/width 43/);
    const short = { ...edges[0]!, hashes: edges[0]!.hashes.subarray(32) };
    expect(() => appendLeavesToTiles(300, [short, edges[1]!], more)).toThrow(IntegrityError);
  });

  it('bad sizes and leaf hashes are ValidationErrors', () => {
    expect(() => appendLeavesToTiles(-1, [], more)).toThrow(ValidationError);
    expect(() => appendLeavesToTiles(300, edges, [Buffer.alloc(31)])).toThrow(ValidationError);
    expect(() => appendLeavesToTiles(2 ** 53 - 2, [], more)).toThrow(ValidationError);
    expect(() => tilesForTree([Buffer.alloc(33)])).toThrow(ValidationError);
    expect(appendLeavesToTiles(300, edges, [])).toEqual([]);
  });

  it('validateTile detects a corrupted cached node or a wrong length', () => {
    const full = tiles.get('0/0')!;
    validateTile(full);
    for (const offset of [256 * 32, 400 * 32 + 5, 509 * 32 + 31]) {
      const bad = Buffer.from(full.hashes);
      bad[offset]! ^= 0x80;
      expect(() => validateTile({ ...full, hashes: bad })).toThrow(IntegrityError);
    }
    // A changed bottom node breaks its parent.
    const bad = Buffer.from(full.hashes);
    bad[7 * 32]! ^= 1;
    expect(() => validateTile({ ...full, hashes: bad })).toThrow(/height 1 is not the hash/);
    expect(() => validateTile({ ...full, width: 255 })).toThrow(IntegrityError);
    expect(() => validateTile({ ...full, width: 0 })).toThrow(IntegrityError);
    expect(() => validateTile({ ...full, index: -1 })).toThrow(IntegrityError);
  });

  it('tileKeysForNodes and nodesFromTiles refuse nodes that do not exist or are missing', () => {
    expect(() => tileKeysForNodes([{ height: 2, index: 75 }], 300)).toThrow(ProofError);
    expect(() => tileKeysForNodes([{ height: 0, index: 300 }], 300)).toThrow(ProofError);
    expect(() => tileKeysForNodes([{ height: -1, index: 0 }], 300)).toThrow(ProofError);
    expect(tileKeysForNodes([{ height: 2, index: 74 }], 300)).toEqual([{ level: 0, index: 1 }]);
    expect(() => nodesFromTiles([{ height: 0, index: 299 }], [tiles.get('0/0')!])).toThrow(/missing/);
    const narrow = tilesForTree(leaves.slice(0, 299)).find((t) => tileKeyString(t) === '0/1')!;
    expect(() => nodesFromTiles([{ height: 0, index: 299 }], [narrow])).toThrow(/not in tile/);
    // Given at two widths, the wider one is used.
    const [h] = nodesFromTiles([{ height: 0, index: 299 }], [narrow, tiles.get('0/1')!]);
    expect(h!.equals(leaves[299]!)).toBe(true);
  });

  it('nodesFromTiles returns copies', () => {
    const t = tiles.get('0/0')!;
    const [h] = nodesFromTiles([{ height: 1, index: 3 }], [t]);
    expect(h!.equals(nodeHash(leaves[6]!, leaves[7]!))).toBe(true);
    h![0]! ^= 1;
    expect(nodesFromTiles([{ height: 1, index: 3 }], [t])[0]!.equals(nodeHash(leaves[6]!, leaves[7]!))).toBe(
      true,
    );
  });
});

describe('edgeTilesFromFrontier and tileSplice (appending without reading the edge tiles)', () => {
  /** The new tile as a backend stores it: the stored old blob's sections with the new nodes spliced in. */
  function splice(old: Tile | undefined, grown: Tile): Buffer {
    const parts: Buffer[] = [];
    for (const p of tileSplice(old?.width ?? 0, grown.width)) {
      if (p.oldLength) parts.push(old!.hashes.subarray(p.oldStart, p.oldStart + p.oldLength));
      parts.push(grown.hashes.subarray(p.newStart, p.newStart + p.newLength));
    }
    return Buffer.concat(parts);
  }

  it('appending to tiles rebuilt from the frontier and splicing gives the true tiles and frontier', () => {
    const pool = fakeLeafHashes(1400, 11);
    const sizes = [0, 1, 2, 3, 127, 128, 255, 256, 257, 511, 700, 1023, 1024, 1300];
    const counts = [1, 2, 63, 64, 100, 256, 257];
    for (const size of sizes) {
      const before = byKey(tilesForTree(pool.slice(0, size)));
      const frontier = frontierAppend([], 0, pool.slice(0, size)).frontier;
      const edges = edgeTilesFromFrontier(size, frontier);
      expect(edges.map(tileKeyString)).toEqual(rightEdgeTiles(size).map(tileKeyString));
      for (const k of counts) {
        if (size + k > pool.length) continue;
        const batch = pool.slice(size, size + k);
        const grown = appendPackedLeavesToTiles(size, edges, Buffer.concat(batch));
        const truth = byKey(tilesForTree(pool.slice(0, size + k)));
        expect(grown.map(tileKeyString)).toEqual(expectedChangedKeys(size, size + k));
        for (const t of grown) {
          const want = truth.get(tileKeyString(t))!;
          expect(t.width).toBe(want.width);
          expect(
            splice(before.get(tileKeyString(t)), t).equals(want.hashes),
            `${size}+${k} ${tileKeyString(t)}`,
          ).toBe(true);
        }
        const next = frontierAfterAppend(frontier, size, size + k, grown);
        expect(
          Buffer.concat(next).equals(Buffer.concat(frontierAppend(frontier, size, batch).frontier)),
        ).toBe(true);
      }
    }
  });

  it('across the 65536 boundary (level 2)', () => {
    const pool = fakeLeafHashes(65536 + 300, 12);
    const size = 65536 - 40;
    const before = byKey(tilesForTree(pool.slice(0, size)));
    const frontier = frontierAppend([], 0, pool.slice(0, size)).frontier;
    const grown = appendPackedLeavesToTiles(
      size,
      edgeTilesFromFrontier(size, frontier),
      Buffer.concat(pool.slice(size)),
    );
    const truth = byKey(tilesForTree(pool));
    expect(grown.map(tileKeyString)).toEqual(expectedChangedKeys(size, pool.length));
    for (const t of grown)
      expect(splice(before.get(tileKeyString(t)), t).equals(truth.get(tileKeyString(t))!.hashes)).toBe(true);
  });

  it('refuses a frontier that does not fit the size, and impossible splices', () => {
    const f = frontierAppend([], 0, fakeLeafHashes(3, 1)).frontier;
    expect(() => edgeTilesFromFrontier(4, f)).toThrow(ValidationError);
    expect(() => edgeTilesFromFrontier(3, [f[0]!, Buffer.alloc(31)])).toThrow(ValidationError);
    expect(() => tileSplice(5, 4)).toThrow(ValidationError);
    expect(() => tileSplice(0, 257)).toThrow(ValidationError);
  });
});

describe('strayTile', () => {
  it('accepts exactly the tiles of the tree, whatever its size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), (size) => {
        const leaves = fakeLeafHashes(size);
        const tiles = tilesForTree(leaves);
        expect(strayTile(tiles, size)).toBeNull();
        // One more tile on each level, and one level up, is stray.
        const top = tiles.reduce((m, t) => Math.max(m, t.level), -1);
        for (let level = 0; level <= top + 1; level++) {
          const next = tiles.filter((t) => t.level === level).length;
          expect(strayTile([{ level, index: next }], size)).toEqual({ level, index: next });
        }
      }),
      { numRuns: 25 },
    );
    for (const bad of [
      { level: -1, index: 0 },
      { level: 0, index: -1 },
      { level: 0.5, index: 0 },
      { level: 0, index: Number.NaN },
      { level: 7, index: 0 },
    ])
      expect(strayTile([bad], 2 ** 53 - 1)).toEqual(bad);
    expect(strayTile([{ level: 6, index: 0 }], 2 ** 53 - 1)).toBeNull();
  });
});
