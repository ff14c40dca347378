import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { loadAlgorithm, loadOptional } from '../../src/compression/algorithms.js';
import { ALGORITHMS, Compressor } from '../../src/compression/index.js';
import { TextCodec } from '../../src/compression/text-codec.js';
import { ConfigurationError, DriverMissingError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-compress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const event = (i: number) => ({
  transaction_id: `TXN${i}`,
  amount: i * 100,
  user: ['alice', 'bob', 'carol'][i % 3]!,
  note: 'é ✓ 𝄞',
});

describe('Compressor', () => {
  it.each(ALGORITHMS)('%s round-trips bytes, text and framed values', async (algorithm) => {
    const c = await new Compressor({ algorithm }).init();
    const text = JSON.stringify(Array.from({ length: 50 }, (_, i) => event(i)));
    expect(c.decompress(c.compress(text)).toString('utf8')).toBe(text);
    expect(c.compress(text).length).toBeLessThan(Buffer.byteLength(text));
    const codec = new TextCodec(c);
    for (const t of ['{}', text, '{"a":"x"}']) expect(codec.decode(codec.encode(t))).toBe(t);
    const dict = codec.train(Array.from({ length: 300 }, (_, i) => JSON.stringify(event(i))));
    expect(dict.bytes.length).toBeGreaterThan(0);
    expect(codec.decode(codec.encode(JSON.stringify(event(1000))))).toBe(JSON.stringify(event(1000)));
  });

  it('rejects unknown algorithms and bad levels', () => {
    expect(() => new Compressor({ algorithm: 'snappy' as never })).toThrow(ConfigurationError);
    expect(() => new Compressor({ algorithm: 'zstd', level: 40 })).toThrow(ConfigurationError);
    expect(() => new Compressor({ algorithm: 'lz4', level: 3 })).toThrow(ConfigurationError);
  });

  it('names the missing optional package', async () => {
    const missing = () => Promise.reject(new Error('Cannot find module'));
    await expect(loadOptional('lz4-napi', 'lz4 compression', missing)).rejects.toBeInstanceOf(
      DriverMissingError,
    );
    const err = await loadAlgorithm('lz4', missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverMissingError);
    expect((err as DriverMissingError).packageName).toBe('lz4-napi');
    expect((err as DriverMissingError).code).toBe('DRIVER_MISSING');
    await expect(loadAlgorithm('zstd', missing)).rejects.toBeInstanceOf(DriverMissingError);
  });
});

describe('compressed ledgers', () => {
  it.each(ALGORITHMS)(
    'SQLite with %s reads, queries and verifies like an uncompressed one; stats are real',
    async (algorithm) => {
      const path = join(dir, `${algorithm}.db`);
      const backend = new SQLiteBackend(path);
      backend.useCompression(new Compressor({ algorithm, dictionary: { trainAfter: 50 } }));
      const ledger = await Ledger.open({ backend });
      await ledger.appendBatch(Array.from({ length: 40 }, (_, i) => event(i)));
      await ledger.appendBatch(
        Array.from({ length: 80 }, (_, i) => event(40 + i)),
        { metadata: { source: 'batch2' } },
      );
      const first = await ledger.append(event(120));
      expect((await ledger.verify()).ok).toBe(true);
      expect((await ledger.getEntryAt(7))!.data).toEqual(event(7));
      expect((await ledger.getEntry(first.id))!.hash).toBe(first.hash);
      const bob = await ledger.query({ where: { 'data.user': 'bob' }, limit: 5 });
      expect(bob.map((e) => e.index)).toEqual([1, 4, 7, 10, 13]);
      expect((await ledger.query({ where: { 'metadata.source': 'batch2' } })).length).toBe(80);
      const stats = await ledger.getStats();
      expect(stats.uncompressedSizeBytes).toBeGreaterThan(stats.totalSizeBytes);
      expect(stats.compressionRatio).toBeCloseTo(stats.uncompressedSizeBytes / stats.totalSizeBytes);
      await ledger.redact(first.id, { reason: 'gdpr' });
      expect((await ledger.verify()).ok).toBe(true);
      await ledger.close();

      // Reopened without the option: the store says how it was written.
      const again = await Ledger.open({ backend: new SQLiteBackend(path) });
      expect((await again.verify()).ok).toBe(true);
      expect((await again.getEntryAt(100))!.data).toEqual(event(100));
      // The same rows uncompressed take more bytes than the compressed store.
      const plain = await Ledger.open({ backend: new SQLiteBackend(join(dir, `${algorithm}-plain.db`)) });
      for await (const e of again.entries())
        if (e.type === 'event' && e.data) await plain.appendBatch([e.data as Record<string, unknown>]);
      const ps = await plain.getStats();
      expect(ps.compressionRatio).toBe(1);
      expect(ps.totalSizeBytes).toBeGreaterThan((await again.getStats()).totalSizeBytes);
      await again.close();
      await plain.close();
    },
  );

  it('detects tampering with compressed rows', async () => {
    const path = join(dir, 'tamper.db');
    const backend = new SQLiteBackend(path);
    backend.useCompression(new Compressor({ algorithm: 'zstd', dictionary: { trainAfter: 10 } }));
    const ledger = await Ledger.open({ backend });
    await ledger.appendBatch(Array.from({ length: 30 }, (_, i) => event(i)));
    const db = backend.database;
    const t = backend.tables.entries;
    // Replace entry 20's data with another entry's (valid) compressed data. The compact layout
    // rebuilds the commitment with the digest of the data it holds: the commitment no longer hashes
    // to the stored hash.
    db.prepare(`UPDATE ${t} SET data = (SELECT data FROM ${t} WHERE idx = 21) WHERE idx = 20`).run();
    let r = await ledger.verify();
    expect(r.ok).toBe(false);
    expect(r.failure?.kind).toBe('hash_mismatch');
    expect(r.failure?.index).toBe(20);
    // Flip a byte inside a compressed data frame: undecodable or different text, reported at its index.
    const data = db.prepare(`SELECT data FROM ${t} WHERE idx = 5`).pluck().get() as Buffer;
    data[data.length - 3]! ^= 0xff;
    db.prepare(`UPDATE ${t} SET data = ? WHERE idx = 5`).run(data);
    r = await ledger.verify();
    expect(r.ok).toBe(false);
    expect(r.failure?.index).toBe(5);
    await ledger.close();
  });

  it('in-memory backend compresses transparently', async () => {
    const backend = new InMemoryBackend();
    backend.useCompression(new Compressor({ algorithm: 'zlib', dictionary: { trainAfter: 20 } }));
    const ledger = await Ledger.open({ backend });
    const entries = await ledger.appendBatch(Array.from({ length: 100 }, (_, i) => event(i)));
    expect((await ledger.verify()).ok).toBe(true);
    expect((await ledger.getEntry(entries[50]!.id))!.data).toEqual(event(50));
    const s = await ledger.getStats();
    expect(s.compressionRatio).toBeGreaterThan(1.3);
    expect(() => backend.useCompression(new Compressor({ algorithm: 'gzip' }))).toThrow(ConfigurationError);
  });
});
