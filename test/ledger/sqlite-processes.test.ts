import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { StorageError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { expectSurvivedKills, killedWriters } from '../backends/children.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'signledger-proc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const child = join(import.meta.dirname, 'fixtures', 'sqlite-append-child.ts');
const childScript = child;

describe('SQLite with several processes', () => {
  it('three real processes appending to one file produce one contiguous, unforked chain', async () => {
    const path = join(dir, 'multi.db');
    // Create the ledger first so the children race only on appends.
    const setup = new Ledger({ backend: new SQLiteBackend(path) });
    await setup.append({ setup: true });
    await setup.close();
    const procs = ['a', 'b', 'c'].map((who) =>
      run(process.execPath, ['--import', 'tsx', child], {
        env: { ...process.env, DB_PATH: path, COUNT: '300', CONCURRENCY: '16', WHO: who },
      }),
    );
    const outs = await Promise.all(procs);
    for (const o of outs) expect(o.stdout).toContain('done');
    const ledger = new Ledger({ backend: new SQLiteBackend(path) });
    const report = await ledger.verify();
    expect(report.ok).toBe(true);
    expect(report.size).toBe(901);
    const seen = new Set<string>();
    for await (const e of ledger.entries()) {
      if (e.index === 0) continue;
      seen.add(`${e.data?.who}:${e.data?.i}`);
    }
    expect(seen.size).toBe(900);
    await ledger.close();
  });
});

describe('SQLite writer killed mid-append', () => {
  it('leaves no half-written entry and no gap; the next append continues the chain', async () => {
    const path = join(dir, 'crash.db');
    const setup = new Ledger({ backend: new SQLiteBackend(path) });
    await setup.append({ setup: true });
    await setup.close();
    // Once a child has acknowledged 200 appends it is well into its loop: kill it without warning.
    const acked = await killedWriters(
      3,
      (round) => ({ DB_PATH: path, COUNT: '100000', CONCURRENCY: '32', WHO: `crash${round}`, ACK: '1' }),
      200,
      childScript,
    );
    for (const ids of acked) expect(ids.length).toBeGreaterThanOrEqual(200);
    const ledger = new Ledger({ backend: new SQLiteBackend(path) });
    // Every append the killed writers saw resolve is stored: durable means acknowledged ⇒ kept.
    const before = await expectSurvivedKills(ledger, acked.flat());
    expect(before.size).toBeGreaterThan(1);
    expect((await ledger.verify()).ok).toBe(true);
    await ledger.close();
  });
});

describe('SQLite store identity', () => {
  it('refuses a file of another schema version', async () => {
    const path = join(dir, 'v99.db');
    const l = new Ledger({ backend: new SQLiteBackend(path) });
    await l.append({ a: 1 });
    await l.close();
    const db = new Database(path);
    db.prepare("UPDATE signledger_schema SET value = '99' WHERE key = 'schema_version'").run();
    db.close();
    const again = new Ledger({ backend: new SQLiteBackend(path) });
    await expect(again.open()).rejects.toMatchObject({ code: 'STORAGE_INCOMPATIBLE' });
  });

  it('refuses a SQLite database that is not a signledger store, and a corrupt file', async () => {
    const other = join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE users (id INTEGER)');
    db.close();
    await expect(new Ledger({ backend: new SQLiteBackend(other) }).open()).rejects.toMatchObject({
      code: 'STORAGE_INCOMPATIBLE',
    });
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, Buffer.alloc(8192, 0x5a));
    await expect(new Ledger({ backend: new SQLiteBackend(corrupt) }).open()).rejects.toBeInstanceOf(
      StorageError,
    );
  });

  it('uses indexes for pages by offset and time, not a scan', async () => {
    const path = join(dir, 'plan.db');
    const backend = new SQLiteBackend(path);
    const l = new Ledger({ backend });
    await l.append({ a: 1 });
    const t = backend.tables;
    const plan = (sql: string) =>
      (backend.database.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[])
        .map((r) => r.detail)
        .join(' | ');
    expect(plan(`SELECT * FROM ${t.entries} WHERE ts >= 1 AND ts <= 2 ORDER BY idx`)).toMatch(
      /USING INDEX|USING INTEGER PRIMARY KEY/,
    );
    expect(plan(`SELECT * FROM ${t.entries} WHERE idx >= 5 AND idx < 10 ORDER BY idx`)).toMatch(
      /INTEGER PRIMARY KEY/,
    );
    expect(plan(`SELECT * FROM ${t.entries} WHERE id = 'x'`)).toMatch(/USING INDEX/);
    await l.close();
  });

  it('survives reopening: an append that resolved is on disk', async () => {
    const path = join(dir, 'durable.db');
    const l = new Ledger({ backend: new SQLiteBackend(path) });
    const e = await l.append({ durable: true });
    // Read it through an independent connection before closing the writer.
    const db = new Database(path, { readonly: true });
    const row = db.prepare('SELECT id FROM sl_default_entries WHERE idx = 0').get() as { id: string };
    db.close();
    expect(row.id).toBe(e.id);
    expect(backendPragma(l, 'journal_mode')).toBe('wal');
    expect(backendPragma(l, 'synchronous')).toBe(2); // FULL
    await l.close();
  });
});

function backendPragma(l: Ledger, name: string): unknown {
  return (l.backend as SQLiteBackend).database.pragma(name, { simple: true });
}
