/**
 * The PostgreSQL append path does not read the right-edge tiles: it rebuilds what an append needs
 * from the head's frontier and splices the new nodes into the stored blobs in the commit statement.
 * Here: the stored tiles equal the tiles of the whole tree after groups of every shape (several
 * processes' worth of ledger objects interleaving, signed entries, boundaries of 256 crossed), and a
 * stored edge tile that does not match the head (wrong width, missing) fails the append with no trace.
 */
import { describe, expect, it } from 'vitest';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { pgTables } from '../../src/backends/postgres/schema.js';
import { leafHashOfText, leafText } from '../../src/entry/commitment.js';
import { StorageError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { tilesForTree } from '../../src/merkle/tiles.js';
import { dropPgPrefix } from '../conformance/factories/postgres.js';
import { pgScratch } from './pg-scratch.js';

const { url: PG, prefix, sql } = pgScratch('postgres-tiles.test.ts', 'tiles');

async function expectStoredTilesOfTree(p: string): Promise<void> {
  const t = pgTables(p);
  const rows = await sql<{ hash: Buffer; sigs: string | null }>(
    `SELECT hash, sigs FROM ${t.entries} ORDER BY idx`,
  );
  const leaves = rows.map((r) => leafHashOfText(leafText(r.hash.toString('hex'), r.sigs)));
  const want = tilesForTree(leaves);
  const got = await sql<{ level: number; idx: string; width: number; hashes: Buffer }>(
    `SELECT level, idx, width, hashes FROM ${t.tiles} ORDER BY level, idx`,
  );
  expect(got.map((x) => `${x.level}/${x.idx}/${x.width}`)).toEqual(
    want.map((x) => `${x.level}/${x.index}/${x.width}`),
  );
  for (const [i, x] of got.entries())
    expect(x.hashes.equals(want[i]!.hashes), `${x.level}/${x.idx}`).toBe(true);
}

describe.skipIf(!PG)('postgres right-edge tiles', () => {
  it('stored tiles are the tiles of the whole tree after interleaved groups of every size', async () => {
    const p = prefix('shape');
    await dropPgPrefix(p);
    const ledgers = [0, 1, 2].map(
      () =>
        new Ledger({ backend: new PostgreSQLBackend({ connectionString: PG, tablePrefix: p }), name: 't' }),
    );
    try {
      for (const l of ledgers) await l.open();
      const sizes = [1, 1, 3, 250, 2, 64, 255, 256, 257, 1, 63, 300, 5, 511, 90];
      for (const [i, n] of sizes.entries()) {
        const l = ledgers[i % ledgers.length]!;
        // Concurrent single appends on one object and a batch on another interleave their groups.
        await Promise.all([
          l.appendBatch(Array.from({ length: n }, (_, k) => ({ i, k }))),
          ...Array.from({ length: i % 4 }, (_, k) =>
            ledgers[(i + 1) % ledgers.length]!.append({ i, k, single: true }),
          ),
        ]);
        if (i % 5 === 4) await expectStoredTilesOfTree(p);
      }
      await expectStoredTilesOfTree(p);
      const report = await ledgers[2]!.verify();
      expect(report.ok).toBe(true);
    } finally {
      for (const l of ledgers) await l.close();
    }
  });

  it('an edge tile that does not match the head fails the append, which leaves no trace', async () => {
    const p = prefix('guard');
    await dropPgPrefix(p);
    const t = pgTables(p);
    const ledger = new Ledger({
      backend: new PostgreSQLBackend({ connectionString: PG, tablePrefix: p }),
      name: 't',
    });
    try {
      await ledger.open();
      await ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ i })));
      const state = async () =>
        JSON.stringify([
          await sql(`SELECT size, last_hash, encode(root, 'hex') AS root FROM ${t.heads}`),
          await sql(`SELECT count(*)::int AS n FROM ${t.entries}`),
          await sql(`SELECT level, idx, width, md5(hashes) AS h FROM ${t.tiles} ORDER BY level, idx`),
        ]);
      // A wrong width on the level-0 edge tile (300 = 1·256 + 44: tile 0/1 has width 44).
      await sql(`UPDATE ${t.tiles} SET width = 45 WHERE level = 0 AND idx = 1`);
      let before = await state();
      await expect(ledger.append({ x: 1 })).rejects.toThrow(/right-edge tiles are missing or do not match/);
      await expect(ledger.appendBatch([{ x: 1 }, { x: 2 }])).rejects.toThrow(StorageError);
      expect(await state()).toBe(before);
      // A missing edge tile.
      await sql(`UPDATE ${t.tiles} SET width = 44 WHERE level = 0 AND idx = 1`);
      await sql(`DELETE FROM ${t.tiles} WHERE level = 1 AND idx = 0`);
      before = await state();
      // 300 + 212 = 512 fills tile 0/1 and grows tile 1/0 (deleted): refused.
      await expect(ledger.appendBatch(Array.from({ length: 212 }, (_, i) => ({ i })))).rejects.toThrow(
        /right-edge tiles are missing or do not match/,
      );
      expect(await state()).toBe(before);
      // Appends that only grow tile 0/1 still work; the tree was damaged behind the library's back,
      // which verification reports.
      await ledger.append({ ok: true });
      expect(Number((await sql<{ size: string }>(`SELECT size FROM ${t.heads}`))[0]!.size)).toBe(301);
    } finally {
      await ledger.close();
    }
  });
});
