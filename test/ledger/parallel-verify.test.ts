// Parallel verification (worker threads reading the SQLite file) must reach exactly the verdicts of
// the main-thread verifier, including across segment boundaries.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Ed25519Signer, KeyRing } from '../../src/crypto/signatures/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { SegmentRunner } from '../../src/ledger/segment-runner.js';
import type { SignedCheckpoint } from '../../src/verify/proofs.js';
import { StreamVerifier } from '../../src/verify/stream-verifier.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-par-'));
const N = 30_000; // ~4 segments of 8,192
const logKey = generateLogKey('par.example/log');
const signer = new Ed25519Signer();
let master = '';
const cps: SignedCheckpoint[] = [];
const ids: string[] = [];

beforeAll(async () => {
  master = join(dir, 'master.db');
  const ledger = new Ledger({ backend: new SQLiteBackend({ path: master, durability: 'normal' }), logKey });
  for (let i = 0; i < N; i += 2500) {
    const es = await ledger.appendBatch(
      Array.from({ length: 2500 }, (_, j) => ({ i: i + j, user: `u${(i + j) % 7}` })),
      i === 5000 ? { signer } : {},
    );
    ids.push(...es.map((e) => e.id));
    if (i === 10_000 || i === 20_000) cps.push(await ledger.checkpoint());
  }
  // A redaction whose record lands in a later segment than the erased entry.
  await ledger.redact(ids[100]!, { reason: 'erasure across segments' });
  cps.push(await ledger.checkpoint());
  await ledger.close();
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

let copies = 0;
async function copyLedger(): Promise<{ ledger: Ledger; path: string }> {
  const path = join(dir, `copy${copies++}.db`);
  const db = new Database(master);
  await db.backup(path);
  db.close();
  return { ledger: new Ledger({ backend: new SQLiteBackend(path), logKey }), path };
}

function tamper(path: string, sql: string, ...params: unknown[]) {
  const db = new Database(path);
  db.prepare(sql).run(...params);
  db.close();
}

describe('parallel verification', () => {
  it('agrees with the main-thread verifier on a valid log, checkpoints and signatures included', async () => {
    const { ledger } = await copyLedger();
    const keys = new KeyRing([signer]);
    const par = await ledger.verify({ parallel: 2, parallelThreshold: 1, trusted: cps[1]!, keys });
    const seq = await ledger.verify({ parallel: false, trusted: cps[1]!, keys });
    expect(par.threads).toBe(2);
    expect(seq.threads).toBe(1);
    expect(par.ok).toBe(true);
    expect(par.failure).toBeNull();
    expect(par.entriesChecked).toBe(seq.entriesChecked);
    expect(par.rootHash).toBe(seq.rootHash);
    expect(par.redacted).toEqual([100]);
    expect(par.signaturesChecked).toBe(2500);
    expect(par.checkpointsChecked).toBe(seq.checkpointsChecked);
    expect(par.assurance).toBe('trusted');
    await ledger.close();
  });

  it('reports a signature moved from another entry at its entry, with keys, like the main thread', async () => {
    const { ledger, path } = await copyLedger();
    // Entry 6001's signature is valid, by a trusted key, but over another hash.
    tamper(
      path,
      'UPDATE sl_default_entries SET sigs = (SELECT sigs FROM sl_default_entries WHERE idx = 6001) WHERE idx = ?',
      6000,
    );
    const keys = new KeyRing([signer]);
    const par = await ledger.verify({ parallel: 2, parallelThreshold: 1, keys });
    const seq = await ledger.verify({ parallel: false, keys });
    expect(par.threads).toBe(2);
    expect(par.failure).toMatchObject({ kind: 'signature_invalid', index: 6000 });
    expect(par.failure).toEqual(seq.failure);
    await ledger.close();
  });

  it('reports the first bad entry when a bad signature precedes another edit in the same chunk', async () => {
    const { ledger, path } = await copyLedger();
    tamper(
      path,
      'UPDATE sl_default_entries SET sigs = (SELECT sigs FROM sl_default_entries WHERE idx = 6001) WHERE idx = ?',
      6000,
    );
    tamper(path, 'UPDATE sl_default_entries SET salt = zeroblob(32) WHERE idx = ?', 6002);
    const keys = new KeyRing([signer]);
    // The main thread checks signatures on the threadpool (settled after its chunk); workers check inline.
    const seq = await ledger.verify({ parallel: false, keys });
    const par = await ledger.verify({ parallel: 2, parallelThreshold: 1, keys });
    expect(seq.failure).toMatchObject({ kind: 'signature_invalid', index: 6000 });
    expect(par.failure).toEqual(seq.failure);
    await ledger.close();
  });

  it('a revoked key is reported as key_revoked at the same entry on the workers as on the main thread', async () => {
    const { ledger } = await copyLedger();
    const keys = new KeyRing();
    keys.add(signer, { revokedAt: { index: 6789 } });
    const seq = await ledger.verify({ parallel: false, keys });
    const par = await ledger.verify({ parallel: 2, parallelThreshold: 1, keys });
    expect(seq.failure).toMatchObject({ kind: 'key_revoked', index: 6789 });
    expect(par.threads).toBe(2);
    expect(par.failure).toEqual(seq.failure);
    await ledger.close();
  });

  it('a signature list that is not exactly its canonical text is malformed_entry at its entry', async () => {
    const { ledger, path } = await copyLedger();
    // Same records, one space added: JSON.parse reads it alike, but the leaf hashes the text as stored.
    tamper(path, "UPDATE sl_default_entries SET sigs = '[ ' || substr(sigs, 2) WHERE idx = ?", 7000);
    for (const keys of [undefined, new KeyRing([signer])]) {
      const seq = await ledger.verify({ parallel: false, ...(keys ? { keys } : {}) });
      const par = await ledger.verify({ parallel: 2, parallelThreshold: 1, ...(keys ? { keys } : {}) });
      expect(seq.failure).toMatchObject({ kind: 'malformed_entry', index: 7000 });
      expect(seq.failure!.message).toMatch(/canonical/);
      expect(par.failure).toEqual(seq.failure);
    }
    await ledger.close();
  });

  it('a malformed signature list is reported at its entry, with or without keys', async () => {
    const { ledger, path } = await copyLedger();
    tamper(path, "UPDATE sl_default_entries SET sigs = '[null]' WHERE idx = ?", 5100);
    for (const keys of [undefined, new KeyRing([signer])]) {
      const seq = await ledger.verify({ parallel: false, ...(keys ? { keys } : {}) });
      const par = await ledger.verify({ parallel: 2, parallelThreshold: 1, ...(keys ? { keys } : {}) });
      expect(seq.failure).toMatchObject({ kind: 'malformed_entry', index: 5100 });
      expect(par.failure).toEqual(seq.failure);
    }
    await ledger.close();
  });

  it('settles when there is nothing left to verify, even with parallelThreshold 0', async () => {
    const { ledger } = await copyLedger();
    const first = await ledger.verify({ parallel: 2, parallelThreshold: 0, incremental: true });
    expect(first.ok).toBe(true);
    const again = await ledger.verify({ parallel: 2, parallelThreshold: 0, incremental: true });
    expect(again.ok).toBe(true);
    const empty = new Ledger({ backend: new SQLiteBackend(join(dir, `empty${copies++}.db`)) });
    expect((await empty.verify({ parallel: 2, parallelThreshold: 0 })).ok).toBe(true);
    await empty.close();
    await ledger.close();
  });

  it('an error while absorbing a worker result fails over to the main thread instead of escaping', async () => {
    const { ledger } = await copyLedger();
    const absorb = StreamVerifier.prototype.absorbSegment;
    let thrown = 0;
    StreamVerifier.prototype.absorbSegment = function (this: StreamVerifier, ...args) {
      if (thrown++ === 1) throw new Error('injected: absorbing the second segment failed');
      return absorb.apply(this, args);
    };
    try {
      const r = await ledger.verify({ parallel: 2, parallelThreshold: 1 });
      expect(thrown).toBeGreaterThan(1);
      expect(r.ok).toBe(true);
      expect(r.entriesChecked).toBe((await ledger.getStats()).totalEntries);
    } finally {
      StreamVerifier.prototype.absorbSegment = absorb;
    }
    await ledger.close();
  });

  it('requires signatures on every entry in the workers too', async () => {
    const { ledger } = await copyLedger();
    const keys = new KeyRing([signer]);
    const par = await ledger.verify({ parallel: 2, parallelThreshold: 1, keys, requireSignatures: 1 });
    const seq = await ledger.verify({ parallel: false, keys, requireSignatures: 1 });
    expect(par.failure).toMatchObject({ kind: 'signature_missing', index: 0 });
    expect(par.failure).toEqual(seq.failure);
    await ledger.close();
  });

  it('reaches the same verdicts with 1 thread (this one alone) and with 3 (two workers)', async () => {
    const { ledger, path } = await copyLedger();
    const keys = new KeyRing([signer]);
    for (const parallel of [1, 3]) {
      const r = await ledger.verify({ parallel, parallelThreshold: 1, keys });
      expect(r).toMatchObject({ ok: true, threads: parallel, signaturesChecked: 2500, redacted: [100] });
    }
    tamper(path, 'UPDATE sl_default_entries SET ts = ts + 1 WHERE idx = ?', 17000);
    const seq = await ledger.verify({ parallel: false, keys });
    for (const parallel of [1, 3]) {
      const r = await ledger.verify({ parallel, parallelThreshold: 1, keys });
      expect(r.failure).toMatchObject({ kind: 'column_mismatch', index: 17000 });
      expect(r.failure).toEqual(seq.failure);
    }
    await ledger.close();
  });

  it('a segment failing on this thread: the run finishes on the main thread, unknown-key signatures still not counted as checked', async () => {
    const { ledger } = await copyLedger();
    // Without `keys` and without the signer, the 2,500 signatures are by a key this ledger was not
    // given: passed over and reported as not checked, whatever path the run takes.
    const clean = await ledger.verify({ parallel: 2, parallelThreshold: 1 });
    expect(clean).toMatchObject({ ok: true, signaturesChecked: 0 });
    const run = SegmentRunner.prototype.run;
    let calls = 0;
    SegmentRunner.prototype.run = function (this: SegmentRunner, ...args) {
      // The first segment (this thread's: it holds the signed entries 5,000-7,499) passes; the next fails.
      if (++calls === 2) return Promise.reject(new Error('injected: this thread cannot read its segment'));
      return run.apply(this, args);
    };
    try {
      const r = await ledger.verify({ parallel: 2, parallelThreshold: 1 });
      expect(calls).toBe(2);
      expect(r).toMatchObject({ ok: true, signaturesChecked: 0, redacted: [100] });
      expect(r.entriesChecked).toBe(clean.entriesChecked);
      expect(r.notChecked.join('\n')).toMatch(/keys this ledger was not given/);
      expect(r.checked.join('\n')).not.toMatch(/signature/);
    } finally {
      SegmentRunner.prototype.run = run;
    }
    await ledger.close();
  });

  const cases: [string, string, unknown[], string, number | undefined][] = [
    [
      'edited data in a later segment',
      'UPDATE sl_default_entries SET data = \'{"i":20001,"user":"x"}\' WHERE idx = ?',
      [20001],
      'data_mismatch',
      20001,
    ],
    [
      'an entry deleted at a segment boundary',
      'DELETE FROM sl_default_entries WHERE idx = ?',
      [16384],
      'gap',
      16385,
    ],
    [
      'an edited hash',
      'UPDATE sl_default_entries SET hash = zeroblob(32) WHERE idx = ?',
      [9000],
      'hash_mismatch',
      9000,
    ],
    [
      'data erased without a record',
      'UPDATE sl_default_entries SET data = NULL, salt = NULL WHERE idx = ?',
      [25000],
      'redaction_unrecorded',
      25000,
    ],
    [
      'a hash stored as its hex text instead of bytes',
      'UPDATE sl_default_entries SET hash = lower(hex(hash)) WHERE idx = ?',
      [12000],
      'hash_mismatch',
      12000,
    ],
    [
      'data erased with an empty salt left behind',
      "UPDATE sl_default_entries SET data = NULL, salt = x'' WHERE idx = ?",
      [17000],
      'data_mismatch',
      17000,
    ],
    [
      'a salt shortened by one byte (not 32 bytes: refused before its digest is compared)',
      'UPDATE sl_default_entries SET salt = substr(salt, 1, 31) WHERE idx = ?',
      [3000],
      'malformed_entry',
      3000,
    ],
    [
      'an id column differing from the committed id',
      "UPDATE sl_default_entries SET id = 'x' || substr(id, 2) WHERE idx = ?",
      [22000],
      'column_mismatch',
      22000,
    ],
    [
      'a timestamp column one millisecond off',
      'UPDATE sl_default_entries SET ts = ts + 1 WHERE idx = ?',
      [29000],
      'column_mismatch',
      29000,
    ],
    [
      'a stripped signature',
      'UPDATE sl_default_entries SET sigs = NULL WHERE idx = ?',
      [6000],
      'tree_mismatch',
      undefined,
    ],
  ];
  it.each(cases)('detects %s like the main-thread verifier', async (_n, sql, params, kind, index) => {
    const { ledger, path } = await copyLedger();
    tamper(path, sql, ...params);
    const par = await ledger.verify({ parallel: 2, parallelThreshold: 1 });
    const seq = await ledger.verify({ parallel: false });
    expect(par.threads).toBe(2);
    expect(par.ok).toBe(false);
    expect(par.failure?.kind).toBe(kind);
    if (index !== undefined) expect(par.failure?.index).toBe(index);
    expect(par.failure?.kind).toBe(seq.failure?.kind);
    expect(par.failure?.index).toBe(seq.failure?.index);
    await ledger.close();
  });
});
