// verify() checks every stored tree tile (docs/FORMAT.md §6): level 0 while the leaves are hashed,
// on the main thread and on the worker threads alike, the upper levels from the level-0 tile roots,
// and, in incremental runs, the tiles the new entries touch (the partial ones that grew included).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Compressor } from '../../src/compression/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { tileSectionOffset } from '../../src/merkle/tiles.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-tiles-'));
const N = 70_000; // level-1 tile 0 is full (65,536 leaves), level 1 has a partial tile too
let master = '';

beforeAll(async () => {
  master = join(dir, 'master.db');
  const ledger = new Ledger({ backend: new SQLiteBackend({ path: master, durability: 'normal' }) });
  for (let i = 0; i < N; i += 5000)
    await ledger.appendBatch(Array.from({ length: 5000 }, (_, j) => ({ i: i + j, user: `u${(i + j) % 7}` })));
  await ledger.close();
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let copies = 0;
async function copy(): Promise<{ ledger: Ledger; path: string }> {
  const path = join(dir, `copy${copies++}.db`);
  const db = new Database(master);
  await db.backup(path);
  db.close();
  return { ledger: new Ledger({ backend: new SQLiteBackend(path) }), path };
}

function readTile(path: string, level: number, index: number): { width: number; hashes: Buffer } {
  const db = new Database(path);
  try {
    return db
      .prepare('SELECT width, hashes FROM sl_default_tiles WHERE level = ? AND idx = ?')
      .get(level, index) as {
      width: number;
      hashes: Buffer;
    };
  } finally {
    db.close();
  }
}

/** Flip a bit of node `position` of in-tile height `h` of a stored tile. */
function flipNode(path: string, level: number, index: number, h: number, position: number): void {
  const t = readTile(path, level, index);
  const b = Buffer.from(t.hashes);
  b[(tileSectionOffset(t.width, h) + position) * 32 + 3]! ^= 0x01;
  const db = new Database(path);
  db.prepare('UPDATE sl_default_tiles SET hashes = ? WHERE level = ? AND idx = ?').run(b, level, index);
  db.close();
}

const main = { parallel: false } as const;
const workers = { parallel: 2, parallelThreshold: 1 } as const;

describe('stored tile checks', () => {
  it('a valid log passes on both paths, every tile counted', async () => {
    const { ledger } = await copy();
    for (const o of [main, workers]) {
      const r = await ledger.verify(o);
      expect(r.ok).toBe(true);
      expect(r.threads).toBe(o === main ? 1 : 2);
      // 274 level-0 tiles, 2 at level 1, 1 at level 2.
      expect(r.checked.join('\n')).toContain('every stored tree tile (277,');
    }
    await ledger.close();
  });

  it('a leaf hash in a full level-0 tile, on the worker path and the main thread alike', async () => {
    const { ledger, path } = await copy();
    flipNode(path, 0, 100, 0, 17); // leaf 25,617
    const par = await ledger.verify(workers);
    const seq = await ledger.verify(main);
    expect(par.threads).toBe(2);
    expect(par.failure).toMatchObject({ kind: 'tree_mismatch', index: 100 * 256 + 17 });
    expect(par.failure?.message).toContain('tile 0/100');
    expect(par.failure).toEqual(seq.failure);
    await ledger.close();
  });

  it('a node of the last, partial level-0 tile that is no frontier node, on the worker path too', async () => {
    const { ledger, path } = await copy();
    // 70,000 = 273 full tiles + 112 leaves: leaf 69,888 opens tile 0/273 and is no frontier node,
    // so only the tile check can see it (the last segment ends inside this tile).
    flipNode(path, 0, 273, 0, 0);
    const par = await ledger.verify(workers);
    expect(par.threads).toBe(2);
    expect(par.failure).toMatchObject({ kind: 'tree_mismatch', index: 273 * 256 });
    expect(par.failure?.message).toContain('tile 0/273');
    expect(par.failure).toEqual((await ledger.verify(main)).failure);
    await ledger.close();
  });

  it('an interior node of a level-0 tile', async () => {
    const { ledger, path } = await copy();
    flipNode(path, 0, 3, 5, 6); // node 5/30: leaves 960..991
    const par = await ledger.verify(workers);
    expect(par.failure).toMatchObject({ kind: 'tree_mismatch', index: 3 * 256 + 7 * 32 - 1 });
    expect(par.failure?.message).toContain('node 5/30');
    expect(par.failure).toEqual((await ledger.verify(main)).failure);
    await ledger.close();
  });

  it('a node of a full level-1 tile and of the partial one', async () => {
    const { ledger, path } = await copy();
    flipNode(path, 1, 0, 2, 10); // node 10/10: leaves 10,240..11,263
    const par = await ledger.verify(workers);
    expect(par.failure).toMatchObject({ kind: 'tree_mismatch', index: 11 * 1024 - 1 });
    expect(par.failure?.message).toContain('tile 1/0');
    expect(par.failure).toEqual((await ledger.verify(main)).failure);
    flipNode(path, 1, 0, 2, 10);
    expect((await ledger.verify(workers)).ok).toBe(true);
    flipNode(path, 1, 1, 0, 3); // node 8/259: the partial level-1 tile
    const r = await ledger.verify(workers);
    expect(r.failure).toMatchObject({ kind: 'tree_mismatch', index: 260 * 256 - 1 });
    expect(r.failure).toEqual((await ledger.verify(main)).failure);
    await ledger.close();
  });

  it('the first failure in log order wins: an entry edited after a bad tile node', async () => {
    const { ledger, path } = await copy();
    flipNode(path, 0, 10, 0, 0); // leaf 2,560
    const db = new Database(path);
    db.prepare('UPDATE sl_default_entries SET data = \'{"i":1}\' WHERE idx = 40000').run();
    db.close();
    for (const o of [main, workers])
      expect((await ledger.verify(o)).failure).toMatchObject({ kind: 'tree_mismatch', index: 2560 });
    await ledger.close();
  });

  it('incremental runs check the tiles the new entries touch, the partial ones that grew included', async () => {
    // 70,000 = 273·256 + 112: tile 0/273 grows from 112 to 256 nodes, 0/274..0/350 are new and
    // 0/351 partial (144 wide), level-1 tile 1 grows from 17 to 95. Three segments (two threads), the
    // first starting inside tile 0/273.
    const grow = async () => {
      const c = await copy();
      expect((await c.ledger.verify(main)).ok).toBe(true);
      for (let i = 0; i < 20_000; i += 5000)
        await c.ledger.appendBatch(Array.from({ length: 5000 }, (_, j) => ({ later: i + j })));
      return c;
    };
    const a = await grow();
    const inc = await a.ledger.verify({ incremental: true, ...workers });
    expect(inc.ok).toBe(true);
    expect(inc.threads).toBe(2);
    expect(inc.fromIndex).toBe(N);
    expect(inc.checked.join('\n')).toContain(`entries ${N}..${N + 19_999} (80 tiles,`);
    expect(inc.notChecked.join('\n')).toContain(`entries 0..${N - 1}`);
    await a.ledger.close();
    // An old node of the grown tile (leaf 69,928: verified by the first run, not a frontier node).
    const b = await grow();
    flipNode(b.path, 0, 273, 0, 40);
    const bad = await b.ledger.verify({ incremental: true, ...main });
    expect(bad.failure).toMatchObject({ kind: 'tree_mismatch', index: 69_929 });
    expect(bad.failure?.message).toContain('tile 0/273');
    await b.ledger.close();
    // A new node of the grown tile, on the worker path (its segment starts inside the tile).
    const c = await grow();
    flipNode(c.path, 0, 273, 1, 70); // node 1/35,014: leaves 70,028..70,029
    const r = await c.ledger.verify({ incremental: true, ...workers });
    expect(r.threads).toBe(2);
    expect(r.failure).toMatchObject({ kind: 'tree_mismatch', index: 70_029 });
    expect(r.failure?.message).toContain('node 1/35014');
    await c.ledger.close();
  });

  it('a compressed (compact layout) ledger: an edited tile node is found', async () => {
    const path = join(dir, 'compact.db');
    const backend = new SQLiteBackend({ path, durability: 'normal' });
    backend.useCompression(new Compressor({ algorithm: 'zstd', dictionary: { trainAfter: 20 } }));
    const ledger = new Ledger({ backend });
    await ledger.appendBatch(Array.from({ length: 600 }, (_, i) => ({ i, note: 'compact' })));
    expect((await ledger.verify()).ok).toBe(true);
    flipNode(path, 0, 1, 4, 3); // node 4/19: leaves 304..319
    expect((await ledger.verify()).failure).toMatchObject({ kind: 'tree_mismatch', index: 319 });
    await ledger.close();
  });
});
