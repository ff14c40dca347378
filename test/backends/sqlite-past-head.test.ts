// Rows put past the head behind the library's back (whole-text layout): reads never return them and
// verify() reports them. A committed append moves rows and head in one transaction, so only tampering
// leaves such a row.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { StorageError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-pasthead-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite: rows past the head', () => {
  it('are invisible to every read and reported by verify()', async () => {
    const path = join(dir, 'a.db');
    const ledger = await Ledger.open({ backend: new SQLiteBackend(path) });
    const written = await ledger.appendBatch(Array.from({ length: 50 }, (_, i) => ({ i })));
    await ledger.close();
    const forgedId = '0190a0b0-0000-7000-8000-000000000001';
    const db = new Database(path);
    db.prepare(
      `INSERT INTO sl_default_entries (idx, id, ts, hash, body, data, salt, sigs)
       SELECT 50, ?, ts, hash, body, '{"i":1000000}', salt, sigs FROM sl_default_entries WHERE idx = 49`,
    ).run(forgedId);
    db.close();

    const l = await Ledger.open({ backend: new SQLiteBackend(path) });
    expect(await l.getEntryAt(50)).toBeNull();
    expect(await l.getEntry(forgedId)).toBeNull();
    expect((await l.getEntries()).map((e) => e.index)).toEqual(written.map((e) => e.index));
    expect(await l.query({ where: { 'data.i': 1000000 } })).toEqual([]);
    let streamed = 0;
    for await (const e of l.entries()) streamed += e.index === 50 ? 1000 : 1;
    expect(streamed).toBe(50);
    for (const parallel of [false, 2] as const) {
      const r = await l.verify({ parallel, parallelThreshold: 1 });
      expect(r.ok).toBe(false);
      expect(r.failure).toMatchObject({ kind: 'head_mismatch', index: 50 });
    }
    // The next append takes index 50 only if the forged row is gone: here it collides and fails cleanly.
    await expect(l.append({ next: true })).rejects.toBeInstanceOf(StorageError);
    expect(await l.getEntryAt(50)).toBeNull();
    await l.close();
  });
});
