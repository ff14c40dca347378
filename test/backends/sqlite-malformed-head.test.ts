/**
 * Head and checkpoint rows edited into values of the wrong type (TEXT where bytes go, a size that is
 * not a count) are tampering like any other edit: verify() reports them, it does not throw.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-head-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logKey = generateLogKey('head.example/log');
let n = 0;

async function edited(sql: string): Promise<Ledger> {
  const path = join(dir, `l${n++}.db`);
  const writer = new Ledger({ backend: new SQLiteBackend(path), logKey });
  for (let i = 0; i < 5; i++) await writer.append({ i });
  await writer.checkpoint();
  await writer.append({ i: 5 });
  await writer.close();
  const db = new Database(path);
  db.exec(sql);
  db.close();
  return new Ledger({ backend: new SQLiteBackend(path), logKey });
}

describe('sqlite: malformed head and checkpoint rows', () => {
  it.each([
    [
      'the root stored as hex text',
      'UPDATE sl_default_head SET root = lower(hex(root))',
      /root is not 32 bytes/,
    ],
    ['a frontier that is not a hash list', "UPDATE sl_default_head SET frontier = 'abc'", /frontier/],
    ['a last hash that is not a digest', "UPDATE sl_default_head SET last_hash = 'zz'", /last hash/],
    ['a last hash stored as bytes', 'UPDATE sl_default_head SET last_hash = randomblob(32)', /last hash/],
  ])('%s is head_mismatch', async (_n, sql, message) => {
    const ledger = await edited(sql);
    const report = await ledger.verify();
    expect(report.ok).toBe(false);
    expect(report.failure).toMatchObject({ kind: 'head_mismatch' });
    expect(report.failure!.message).toMatch(message);
    await ledger.close();
  });

  it('a checkpoint root stored as text is checkpoint_invalid, with a message of its own', async () => {
    const ledger = await edited('UPDATE sl_default_checkpoints SET root = lower(hex(root))');
    const report = await ledger.verify();
    expect(report.failure).toMatchObject({ kind: 'checkpoint_invalid' });
    expect(report.failure!.message).toMatch(/stored checkpoint 5 is malformed/);
    await ledger.close();
  });
});
