/** verify() reports rows no writer of this library produces instead of throwing on them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Ledger } from '../../src/ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-odd-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function tampered(name: string, sql: string): Promise<Ledger> {
  const path = join(dir, `${name}.db`);
  const ledger = await Ledger.open({ backend: new SQLiteBackend(path) });
  await ledger.appendBatch(Array.from({ length: 5 }, (_, i) => ({ i })));
  await ledger.close();
  const db = new Database(path);
  db.exec(sql);
  db.close();
  return Ledger.open({ backend: new SQLiteBackend(path) });
}

describe('verify() on rows a foreign write left', () => {
  it('a time column outside the Date range is a column_mismatch, not a RangeError', async () => {
    const l = await tampered('ts', 'UPDATE sl_default_entries SET ts = 100000000000000000 WHERE idx = 2');
    const r = await l.verify({ parallel: false });
    expect(r.ok).toBe(false);
    expect([r.failure?.kind, r.failure?.index]).toEqual(['column_mismatch', 2]);
    expect(r.failure?.actual).toContain('100000000000000000');
    await l.close();
  });

  it('bytes where the data text goes (an uncompressed store) are malformed_entry, not a TypeError', async () => {
    const l = await tampered('blob', 'UPDATE sl_default_entries SET data = CAST(data AS BLOB) WHERE idx = 3');
    const r = await l.verify({ parallel: false });
    expect(r.ok).toBe(false);
    expect([r.failure?.kind, r.failure?.index]).toEqual(['malformed_entry', 3]);
    await l.close();
  });
});
