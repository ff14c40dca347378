import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Ed25519Signer, RemoteSigner } from '../../src/crypto/signatures/index.js';
import type { Entry } from '../../src/entry/types.js';
import { ClosedError, ConfigurationError, StorageError } from '../../src/errors.js';
import { BatchProcessor } from '../../src/ledger/batch.js';
import { Ledger } from '../../src/ledger/ledger.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'signledger-batch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BatchProcessor', () => {
  it('writes 10,000 entries added without awaiting, in atomic batches, and reports them', async () => {
    const ledger = await Ledger.open({ backend: new SQLiteBackend(join(dir, 'a.db')) });
    const batch = new BatchProcessor(ledger, { batchSize: 1000, keepEntries: true });
    for (let i = 0; i < 10_000; i++) batch.addEntry({ transaction_id: `TXN${i}`, amount: i * 100 });
    const report = await batch.flush();
    expect(report.written).toBe(10_000);
    expect(report.failed).toBe(0);
    expect(report.batches).toBe(10);
    expect(report.entries.map((e) => e.index)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(report.entries[1234]!.data).toEqual({ transaction_id: 'TXN1234', amount: 123400 });
    expect((await ledger.verify()).ok).toBe(true);
    expect((await batch.flush()).written).toBe(0);
    await ledger.close();
  });

  it('keeps no entries in its reports unless asked (a long-running processor stays bounded)', async () => {
    const ledger = await Ledger.open();
    const batch = new BatchProcessor(ledger, { batchSize: 100, flushIntervalMs: 5 });
    const last = await Promise.all(Array.from({ length: 1000 }, (_, i) => batch.add({ i })));
    expect(last[999]!.index).toBe(999);
    const report = await batch.flush();
    expect(report).toMatchObject({ written: 1000, failed: 0, batches: 10 });
    expect(report.entries).toEqual([]);
  });

  it('add() resolves to the committed entry', async () => {
    const ledger = await Ledger.open();
    const batch = new BatchProcessor(ledger, { batchSize: 3 });
    const ps = [1, 2, 3, 4].map((i) => batch.add({ i }));
    const first3 = await Promise.all(ps.slice(0, 3));
    expect(first3.map((e) => e.index)).toEqual([0, 1, 2]);
    expect(batch.pending).toBe(1);
    await batch.flush();
    expect((await ps[3]!).index).toBe(3);
  });

  it('flushes a partial batch after flushIntervalMs', async () => {
    const ledger = await Ledger.open();
    const batch = new BatchProcessor(ledger, { batchSize: 1000, flushIntervalMs: 20 });
    const e = await batch.add({ only: true });
    expect(e.index).toBe(0);
    expect((await ledger.getStats()).totalEntries).toBe(1);
  });

  it('the flush interval keeps a script alive until its partial batch commits (awaited add, no flush)', async () => {
    const path = join(dir, 'await-add.db');
    const child = join(import.meta.dirname, 'fixtures', 'await-add-child.ts');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', child], {
      env: { ...process.env, DB_PATH: path },
    });
    expect(stdout).toBe('committed 0\n');
    const ledger = new Ledger({ backend: new SQLiteBackend(path) });
    expect((await ledger.getEntries()).map((e) => e.data)).toEqual([{ z: 1 }]);
    await ledger.close();
  });

  it('applies back-pressure: awaiting addEntry never lets more than maxPending wait', async () => {
    const ledger = await Ledger.open();
    const batch = new BatchProcessor(ledger, { batchSize: 10, maxPending: 25 });
    let peak = 0;
    for (let i = 0; i < 500; i++) {
      await batch.addEntry({ i });
      peak = Math.max(peak, batch.pending);
    }
    expect(peak).toBeLessThanOrEqual(25);
    expect((await batch.flush()).written).toBe(500);
    expect((await ledger.getStats()).totalEntries).toBe(500);
  });

  it('reports an invalid entry alone and writes the rest of its batch', async () => {
    const ledger = await Ledger.open();
    const batch = new BatchProcessor(ledger, { batchSize: 5, keepEntries: true });
    for (let i = 0; i < 5; i++) batch.addEntry(i === 2 ? ({ bad: () => 1 } as never) : { i });
    const report = await batch.flush();
    expect(report.written).toBe(4);
    expect(report.failed).toBe(1);
    expect(report.errors[0]!.position).toBe(2);
    expect(report.errors[0]!.error.name).toBe('ValidationError');
    expect(report.entries.map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 3 }, { i: 4 }]);
  });

  it('a batch whose entries carry their own options is still one transaction', async () => {
    const backend = new InMemoryBackend();
    const ledger = await Ledger.open({ backend });
    const batch = new BatchProcessor(ledger, { batchSize: 4 });
    // A fresh options object per entry (per-entry metadata): one group, one storage transaction.
    for (let i = 0; i < 4; i++) batch.addEntry({ i }, { metadata: { user: `u${i}` } });
    expect(await batch.flush()).toMatchObject({ written: 4, failed: 0, batches: 1 });
    expect((await ledger.getEntries()).map((e) => e.metadata)).toEqual(
      [0, 1, 2, 3].map((i) => ({ user: `u${i}` })),
    );
    // All or nothing: a storage failure in such a batch writes none of it.
    let calls = 0;
    backend.append = async () => {
      calls++;
      throw new StorageError('disk full');
    };
    for (let i = 4; i < 7; i++) batch.addEntry({ i }, i % 2 ? { metadata: { odd: true } } : undefined);
    batch.addEntry({ i: Number.NaN });
    const failed = await batch.flush();
    expect(failed).toMatchObject({ written: 0, failed: 4 });
    // The invalid entry keeps its own reason; the others get the storage failure.
    expect(failed.errors.map((e) => e.error.name)).toEqual([
      'StorageError',
      'StorageError',
      'StorageError',
      'ValidationError',
    ]);
    expect(calls).toBe(1);
    expect((await ledger.getStats()).totalEntries).toBe(4);
  });

  it('an entry whose own options are refused is reported alone; the rest of its batch is written', async () => {
    const ledger = await Ledger.open();
    const batch = new BatchProcessor(ledger, { batchSize: 3, keepEntries: true });
    batch.addEntry({ a: 1 });
    batch.addEntry({ a: 2 }, { sign: true }); // no signer configured
    batch.addEntry({ a: 3 }, { metadata: { m: 1 } });
    const report = await batch.flush();
    expect(report).toMatchObject({ written: 2, failed: 1, batches: 1 });
    expect(report.errors[0]!.position).toBe(1);
    expect(report.errors[0]!.error).toBeInstanceOf(ConfigurationError);
    expect(report.entries.map((e) => [e.index, e.data])).toEqual([
      [0, { a: 1 }],
      [1, { a: 3 }],
    ]);
  });

  it('reports failures in add order when a later batch in flight fails first (writerThread)', async () => {
    const ledger = new Ledger({
      backend: new SQLiteBackend({ path: join(dir, 'report-order.db'), writerThread: true }),
    });
    await ledger.open();
    const failing = new RemoteSigner({
      algorithm: 'ed25519',
      publicKey: new Ed25519Signer().publicKey,
      sign: async () => {
        throw new Error('KMS down');
      },
    });
    const batch = new BatchProcessor(ledger, { batchSize: 2000 });
    for (let i = 0; i < 4000; i++)
      void batch.addEntry(
        { i, pad: 'x'.repeat(200) },
        i === 5 ? { metadata: { bad: Number.NaN } } : i === 2500 ? { signer: failing } : undefined,
      );
    const report = await batch.flush();
    expect([report.written, report.failed]).toEqual([1999, 2001]);
    // The refusal in the first batch comes first, then the second batch (failed whole), within the cap.
    expect(report.errors.map((e) => e.position)).toEqual([
      5,
      ...Array.from({ length: 999 }, (_, k) => 2000 + k),
    ]);
    await ledger.close();
  });

  it('a failing batch writes nothing and reports every entry of it', async () => {
    const backend = new InMemoryBackend();
    const ledger = await Ledger.open({ backend });
    const batch = new BatchProcessor(ledger, { batchSize: 4 });
    void batch.add({ ok: 1 });
    expect((await batch.flush()).written).toBe(1);
    const real = backend.append.bind(backend);
    backend.append = async () => {
      throw new StorageError('disk full');
    };
    const ps = [1, 2, 3, 4].map((i) => batch.add({ i }));
    const report = await batch.flush();
    expect(report.written).toBe(0);
    expect(report.failed).toBe(4);
    expect(report.errors.map((e) => e.position)).toEqual([1, 2, 3, 4]);
    await expect(ps[0]).rejects.toBeInstanceOf(StorageError);
    backend.append = real;
    expect((await ledger.getStats()).totalEntries).toBe(1);
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('addEntry without keepEntries: subscribers and the entry cache still get every entry', async () => {
    const ledger = await Ledger.open({ maxEntriesMemory: 150 });
    const seen: Entry[] = [];
    const off = ledger.subscribe((e) => seen.push(e));
    const batch = new BatchProcessor(ledger, { batchSize: 100 });
    for (let i = 0; i < 250; i++) batch.addEntry({ i, s: `e${i}` });
    expect((await batch.flush()).written).toBe(250);
    expect(seen.map((e) => e.index)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(seen[7]!.data).toEqual({ i: 7, s: 'e7' });
    expect(Object.isFrozen(seen[7]) && Object.isFrozen(seen[7]!.data)).toBe(true);
    off();
    // Without subscribers the entries are not built; the cache builds them when asked.
    for (let i = 250; i < 500; i++) batch.addEntry({ i, s: `e${i}` });
    expect((await batch.flush()).written).toBe(250);
    expect(seen).toHaveLength(250);
    for (const index of [0, 249, 250, 349, 350, 499]) {
      const stored = (await ledger.getEntryAt(index))!;
      const byId = (await ledger.getEntry(stored.id))!;
      expect(byId).toEqual(stored);
      expect(Object.isFrozen(byId) && Object.isFrozen(byId.data) && Object.isFrozen(byId.signatures)).toBe(
        true,
      );
      expect(() => byId.timestamp.setTime(0)).toThrow(TypeError);
      // The last 150 are cached: built on the first hit, the same object afterwards.
      if (index >= 350) expect(await ledger.getEntry(stored.id)).toBe(byId);
    }
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('an entry prepared without its copy still reaches a subscriber that arrives before it commits', async () => {
    const backend = new InMemoryBackend();
    const ledger = await Ledger.open({ backend, maxEntriesMemory: 0 });
    const seen: Entry[] = [];
    const real = backend.append.bind(backend);
    backend.append = (build) => {
      ledger.subscribe((e) => seen.push(e));
      backend.append = real;
      return real(build);
    };
    const batch = new BatchProcessor(ledger, { batchSize: 2 });
    const input = { a: 1, nested: { x: [1, 2], '€': 'ü' }, z: -0 };
    batch.addEntry(input);
    batch.addEntry({ b: 1.5e-7 });
    expect((await batch.flush()).written).toBe(2);
    expect(seen.map((e) => e.data)).toEqual([{ a: 1, nested: { x: [1, 2], '€': 'ü' }, z: 0 }, { b: 1.5e-7 }]);
    const nested = seen[0]!.data!.nested as { x: number[] };
    expect(Object.isFrozen(nested) && Object.isFrozen(nested.x)).toBe(true);
    expect(nested).not.toBe(input.nested);
    expect(seen[0]).toEqual(await ledger.getEntryAt(0));
  });

  it('addEntry without keepEntries reports an invalid entry alone and writes the rest', async () => {
    const ledger = await Ledger.open();
    const batch = new BatchProcessor(ledger, { batchSize: 5 });
    for (let i = 0; i < 5; i++) batch.addEntry(i === 3 ? ({ bad: Number.NaN } as never) : { i });
    const report = await batch.flush();
    expect(report).toMatchObject({ written: 4, failed: 1, batches: 1, entries: [] });
    expect(report.errors[0]!.position).toBe(3);
    expect(report.errors[0]!.error.name).toBe('ValidationError');
    expect((await ledger.getEntries()).map((e) => e.data)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }, { i: 4 }]);
  });

  it('validates options and refuses entries after close', async () => {
    const ledger = await Ledger.open();
    expect(() => new BatchProcessor(ledger, { batchSize: 0 })).toThrow(ConfigurationError);
    expect(() => new BatchProcessor(ledger, { flushIntervalMs: -1 })).toThrow(ConfigurationError);
    const batch = new BatchProcessor(ledger);
    batch.addEntry({ a: 1 });
    expect((await batch.close()).written).toBe(1);
    expect(() => batch.addEntry({ a: 2 })).toThrow(ClosedError);
  });
});
