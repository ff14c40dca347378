/**
 * SQLite `writerThread`: groups commit on a worker thread's connection while the next group is
 * built on the head the first will produce. Appends, BatchProcessor, compression, a group failing
 * with the next one already built on it, several processes, SIGKILL and close.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Compressor } from '../../src/compression/compressor.js';
import { Ed25519Signer, RemoteSigner } from '../../src/crypto/signatures/index.js';
import { StorageError } from '../../src/errors.js';
import { BatchProcessor } from '../../src/ledger/batch.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { expectSurvivedKills, killedWriters } from './children.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'signledger-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const child = join(import.meta.dirname, '..', 'ledger', 'fixtures', 'sqlite-append-child.ts');

function writer(path: string, more: Partial<ConstructorParameters<typeof SQLiteBackend>[0] & object> = {}) {
  return new SQLiteBackend({ path, writerThread: true, ...more });
}

async function indexes(ledger: Ledger): Promise<number[]> {
  const out: number[] = [];
  for await (const e of ledger.entries()) out.push(e.index);
  return out;
}

describe('SQLite writerThread', () => {
  it('commits appends, batches and BatchProcessor groups into one verifiable chain', async () => {
    const path = join(dir, 'basic.db');
    const backend = writer(path);
    const ledger = new Ledger({ backend });
    await ledger.open();
    expect(ledger.pipelineDepth).toBe(2);
    const first = await ledger.append({ a: 0 });
    expect(first.index).toBe(0);
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => ledger.append({ i })));
    expect(new Set(many.map((e) => e.index)).size).toBe(200);
    const [b1, b2] = await Promise.all([
      ledger.appendBatch(Array.from({ length: 50 }, (_, i) => ({ b: 1, i }))),
      ledger.appendBatch(Array.from({ length: 50 }, (_, i) => ({ b: 2, i }))),
    ]);
    expect(b2[0]!.index).toBe(b1[49]!.index + 1);
    const bp = new BatchProcessor(ledger, { batchSize: 100 });
    for (let i = 0; i < 1000; i++) await bp.addEntry({ bp: i });
    const report = await bp.flush();
    expect(report.written).toBe(1000);
    expect(report.failed).toBe(0);
    const v = await ledger.verify();
    expect(v.ok).toBe(true);
    expect(v.size).toBe(1301);
    expect(await indexes(ledger)).toEqual(Array.from({ length: 1301 }, (_, i) => i));
    // Entries read back through the main connection are the ones the appends returned.
    expect((await ledger.getEntryAt(many[7]!.index))?.hash).toBe(many[7]!.hash);
    await ledger.close();
    // Reopened without the thread: the same chain.
    const again = new Ledger({ backend: new SQLiteBackend(path) });
    expect((await again.verify()).size).toBe(1301);
    await again.close();
  });

  it('BatchProcessor keeps add order in the log with two groups in flight (invalid entries, per-entry options)', async () => {
    const path = join(dir, 'order.db');
    const ledger = new Ledger({ backend: writer(path) });
    await ledger.open();
    expect(ledger.pipelineDepth).toBe(2);
    // Groups of 300 go through the thread (>= 256), so two are in flight; one group holds an
    // invalid entry, and entries carry their own options objects (metadata) every few positions.
    const bp = new BatchProcessor(ledger, { batchSize: 300 });
    const bad = new Set([150, 151, 620]);
    for (let i = 0; i < 1200; i++) {
      if (bad.has(i)) void bp.addEntry({ i, bad: Number.NaN });
      else if (i % 7 === 0) void bp.addEntry({ i }, { metadata: { seventh: i } });
      else void bp.addEntry({ i });
    }
    const report = await bp.flush();
    expect(report).toMatchObject({ written: 1197, failed: 3, batches: 4 });
    expect(report.errors.map((e) => e.position)).toEqual([150, 151, 620]);
    const stored: number[] = [];
    for await (const e of ledger.entries()) {
      const i = e.data!.i as number;
      stored.push(i);
      expect(e.metadata).toEqual(i % 7 === 0 ? { seventh: i } : {});
    }
    expect(stored).toEqual(Array.from({ length: 1200 }, (_, i) => i).filter((i) => !bad.has(i)));
    expect((await ledger.verify()).ok).toBe(true);
    await ledger.close();
  });

  it('keeps the compact compressed layout, dictionary training and redaction working', async () => {
    const path = join(dir, 'compact.db');
    const make = () => {
      const b = writer(path);
      return new Ledger({
        backend: b,
        compression: new Compressor({ algorithm: 'zstd', dictionary: { trainAfter: 60 } }),
      });
    };
    const ledger = make();
    await ledger.open();
    const all = await Promise.all(
      Array.from({ length: 5 }, (_, k) =>
        ledger.appendBatch(
          Array.from({ length: 40 }, (_, i) => ({ user: `user-${k}-${i}`, action: 'login' })),
        ),
      ),
    );
    const victim = all[1]![3]!;
    await ledger.redact(victim.id, { reason: 'test' });
    await ledger.appendBatch(Array.from({ length: 40 }, (_, i) => ({ after: i })));
    const v = await ledger.verify();
    expect(v.ok).toBe(true);
    const stats = await ledger.backend.stats();
    expect(stats.entryBytes).toBeLessThan(stats.uncompressedEntryBytes);
    await ledger.close();
    const again = make();
    expect((await again.verify()).ok).toBe(true);
    expect((await again.getEntry(all[4]![39]!.id))?.data).toEqual({ user: 'user-4-39', action: 'login' });
    await again.close();
  });

  it('a group that fails while the next is built on it: the first rejects, the next is rebuilt and commits', async () => {
    const path = join(dir, 'fail.db');
    const backend = writer(path);
    const ledger = new Ledger({ backend });
    await ledger.append({ setup: true });
    // The writer's insert of a's entry 5 fails (the statement re-prepares after the schema change).
    backend.database.exec(
      `CREATE TRIGGER boom BEFORE INSERT ON ${backend.tables.entries} WHEN NEW.data = '{"a":5}' BEGIN SELECT RAISE(ABORT, 'injected'); END`,
    );
    // Two units of 300 (each half of what waits is large enough to be its own group): a commits
    // on the thread while b is built on the head a would produce.
    const builtOn: number[] = [];
    const append = backend.append.bind(backend);
    backend.append = (build) =>
      append((ctx) => {
        builtOn.push(ctx.head.size);
        return build(ctx);
      });
    const a = ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ a: i })));
    const b = ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ b: i })));
    const [ra, rb] = await Promise.allSettled([a, b]);
    expect(ra.status).toBe('rejected');
    expect((ra as PromiseRejectedResult).reason).toBeInstanceOf(StorageError);
    expect((ra as PromiseRejectedResult).reason.message).toContain('injected');
    // b was built on a's head (indexes 301..600); it could not commit there and was rebuilt at 1..300.
    expect(rb.status).toBe('fulfilled');
    const entries = (rb as PromiseFulfilledResult<Awaited<typeof b>>).value;
    expect(entries.map((e) => e.index)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(builtOn).toEqual([1, 301, 1]);
    backend.database.exec('DROP TRIGGER boom');
    const v = await ledger.verify();
    expect(v.ok).toBe(true);
    expect(v.size).toBe(301);
    const stored = [];
    for await (const e of ledger.entries()) stored.push(e.data);
    expect(stored.slice(1)).toEqual(Array.from({ length: 300 }, (_, i) => ({ b: i })));
    await ledger.close();
  });

  it('a group whose signer fails is rebuilt without that unit in its own place: two processors keep add order', async () => {
    const path = join(dir, 'signer-fails.db');
    const ledger = new Ledger({ backend: writer(path) });
    await ledger.open();
    const failing = new RemoteSigner({
      algorithm: 'ed25519',
      publicKey: new Ed25519Signer().publicKey,
      sign: async () => {
        await new Promise((r) => setTimeout(r, 5));
        throw new Error('KMS down');
      },
    });
    // Small batches from two processors share sequencer groups, two of them in flight.
    const a = new BatchProcessor(ledger, { batchSize: 20 });
    const b = new BatchProcessor(ledger, { batchSize: 20 });
    for (let i = 0; i < 400; i++) {
      void a.addEntry({ a: i }, i === 100 ? { signer: failing } : undefined);
      void b.addEntry({ b: i }, i === 20 ? { signer: failing } : undefined);
    }
    const [ra, rb] = await Promise.all([a.flush(), b.flush()]);
    expect([ra.written, ra.failed, rb.written, rb.failed]).toEqual([380, 20, 380, 20]);
    const seen = { a: [] as number[], b: [] as number[] };
    for await (const e of ledger.entries()) {
      const d = e.data as { a?: number; b?: number };
      if (d.a !== undefined) seen.a.push(d.a);
      else seen.b.push(d.b!);
    }
    const expected = (failedFrom: number) =>
      Array.from({ length: 400 }, (_, i) => i).filter((i) => i < failedFrom || i >= failedFrom + 20);
    expect(seen.a).toEqual(expected(100));
    expect(seen.b).toEqual(expected(20));
    expect((await ledger.verify()).ok).toBe(true);
    await ledger.close();
  });

  it('groups refused because another writer moved the head are rebuilt in their order', async () => {
    const path = join(dir, 'moved.db');
    const backend = writer(path);
    const ledger = new Ledger({ backend });
    await ledger.append({ setup: true });
    const other = new Ledger({ backend: new SQLiteBackend(path) });
    // While a (300 entries) is built, another connection appends: a's head check fails on the
    // thread, and so does b's (built on the head a would produce). Both are rebuilt on the stored head.
    const builtOn: number[] = [];
    const append = backend.append.bind(backend);
    backend.append = (build) =>
      append(async (ctx) => {
        builtOn.push(ctx.head.size);
        if (builtOn.length === 1) await other.append({ other: true });
        return build(ctx);
      });
    const a = ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ a: i })));
    const b = ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ b: i })));
    const [ea, eb] = await Promise.all([a, b]);
    expect(ea.map((e) => e.index)).toEqual(Array.from({ length: 300 }, (_, i) => i + 2));
    expect(eb.map((e) => e.index)).toEqual(Array.from({ length: 300 }, (_, i) => i + 302));
    expect(builtOn.slice(0, 2)).toEqual([1, 301]);
    expect(builtOn.slice(2)).toEqual([2, 302]);
    const v = await ledger.verify();
    expect(v).toMatchObject({ ok: true, size: 602 });
    await other.close();
    await ledger.close();
  });

  it('several processes with and without the thread append to one file without forking', async () => {
    const path = join(dir, 'multi.db');
    const setup = new Ledger({ backend: new SQLiteBackend(path) });
    await setup.append({ setup: true });
    await setup.close();
    const procs = ['a', 'b', 'c'].map((who) =>
      run(process.execPath, ['--import', 'tsx', child], {
        env: {
          ...process.env,
          DB_PATH: path,
          COUNT: '400',
          CONCURRENCY: '32',
          WHO: who,
          WRITER: who === 'c' ? '0' : '1',
        },
      }),
    );
    for (const o of await Promise.all(procs)) expect(o.stdout).toContain('done');
    const ledger = new Ledger({ backend: new SQLiteBackend(path) });
    const report = await ledger.verify();
    expect(report.ok).toBe(true);
    expect(report.size).toBe(1201);
    const seen = new Set<string>();
    for await (const e of ledger.entries()) if (e.index > 0) seen.add(`${e.data?.who}:${e.data?.i}`);
    expect(seen.size).toBe(1200);
    await ledger.close();
  });

  it('a SIGKILLed process leaves no partial group, and every acknowledged append is stored', async () => {
    const path = join(dir, 'crash.db');
    const setup = new Ledger({ backend: new SQLiteBackend(path) });
    await setup.append({ setup: true });
    await setup.close();
    const acked = await killedWriters(
      2,
      (round) => ({
        DB_PATH: path,
        COUNT: '100000',
        CONCURRENCY: '64',
        WHO: `crash${round}`,
        ACK: '1',
        WRITER: '1',
      }),
      300,
      child,
    );
    const ledger = new Ledger({ backend: writer(path) });
    await expectSurvivedKills(ledger, acked.flat());
    await ledger.close();
  });

  it('a writer thread that dies mid-group: the group lands exactly once, later groups commit on the main connection', async () => {
    for (const delay of [0, 5, 20, 60]) {
      const path = join(dir, `dies-${delay}.db`);
      const backend = writer(path);
      const ledger = await Ledger.open({ backend, maxEntriesMemory: 0 });
      await ledger.append({ setup: true });
      const group = ledger.appendBatch(Array.from({ length: 2000 }, (_, i) => ({ i, pad: 'y'.repeat(200) })));
      await new Promise((r) => setTimeout(r, delay));
      // Stands in for a crash of the thread (out of memory, a native fault): it ends without replying.
      await (
        backend as unknown as { writer: { worker: { terminate(): Promise<number> } } }
      ).writer.worker.terminate();
      const entries = await group;
      expect(entries.map((e) => e.index)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
      expect(ledger.pipelineDepth).toBe(1);
      const more = await ledger.appendBatch(Array.from({ length: 300 }, (_, i) => ({ more: i })));
      expect(more[0]!.index).toBe(2001);
      expect(await indexes(ledger)).toEqual(Array.from({ length: 2301 }, (_, i) => i));
      expect((await ledger.verify()).ok).toBe(true);
      await ledger.close();
    }
  });

  it('close() waits for groups in flight, ends the thread and closes both connections', async () => {
    const path = join(dir, 'close.db');
    const backend = writer(path);
    const ledger = new Ledger({ backend });
    await ledger.open();
    const pending = Array.from({ length: 300 }, (_, i) => ledger.append({ i }));
    const closing = ledger.close();
    const done = await Promise.all(pending);
    await closing;
    expect(done).toHaveLength(300);
    expect(() => backend.database).toThrow(StorageError);
    expect(backend.pipelineDepth).toBe(1);
    await expect(ledger.append({ late: true })).rejects.toThrow();
    // Both connections are closed: the file can be removed and reopened from scratch cleanly.
    const again = new Ledger({ backend: new SQLiteBackend(path) });
    expect((await again.verify()).size).toBe(300);
    await again.close();
  });

  it('falls back to the main connection where no file is given', async () => {
    const backend = new SQLiteBackend({ path: ':memory:', writerThread: true });
    const ledger = new Ledger({ backend });
    await ledger.append({ x: 1 });
    expect(ledger.pipelineDepth).toBe(1);
    expect((await ledger.verify()).ok).toBe(true);
    await ledger.close();
  });
});
