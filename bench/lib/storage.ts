/** Bytes per entry on disk for each codec (SQLite file + WAL after a checkpoint, tree included). */
import Database from 'better-sqlite3';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { type CompressionAlgorithm, Compressor } from '../../src/compression/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { events } from './events.js';
import { dbBytes, freshPath, remove } from './files.js';
import { type Figure, median, rate, time } from './measure.js';

/** Random getEntry(id) rate: the read path a compact layout must not slow (median of 3 passes). */
async function randomReads(ledger: Ledger, n: number): Promise<number> {
  let x = 7;
  const pick = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const ids: string[] = [];
  for (let i = 0; i < 5_000; i++) ids.push((await ledger.getEntryAt(pick()))!.id);
  const rates = [];
  for (let r = 0; r < 3; r++) {
    const ms = await time(async () => {
      for (const id of ids) await ledger.getEntry(id);
    });
    rates.push(rate(ids.length, ms));
  }
  return median(rates);
}

const CODECS: (CompressionAlgorithm | null)[] = [null, 'zlib', 'gzip', 'brotli', 'lz4', 'zstd'];

export async function benchStorage(n: number, log: (m: string) => void): Promise<Figure[]> {
  const out: Figure[] = [];
  let plain: Figure | undefined;
  for (const alg of CODECS) {
    log(`storage: ${alg ?? 'uncompressed'}`);
    const path = freshPath(`codec-${alg ?? 'none'}.db`);
    const backend = new SQLiteBackend({ path, durability: 'normal' });
    if (alg) backend.useCompression(new Compressor({ algorithm: alg }));
    const ledger = await Ledger.open({ backend, maxEntriesMemory: 0 });
    const t = performance.now();
    for (let i = 0; i < n; i += 1000) await ledger.appendBatch(events(i, Math.min(1000, n - i)));
    const ms = performance.now() - t;
    const stats = await ledger.getStats();
    const ok = (await ledger.verify()).ok;
    const byId = await randomReads(ledger, n);
    await ledger.close();
    // Fold the WAL into the file and drop free pages, so the size is what the data takes.
    const db = new Database(path);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    db.close();
    const bytes = dbBytes(path) / n;
    remove(path);
    if (!ok) throw new Error(`${alg} ledger did not verify`);
    const f: Figure = {
      name: `bytes per entry on disk, SQLite, ${alg ?? 'uncompressed'}`,
      unit: 'B',
      median: bytes,
      min: bytes,
      max: bytes,
      runs: 1,
      note: `rows ${(stats.totalSizeBytes / n).toFixed(0)} B (ratio ${stats.compressionRatio.toFixed(2)}), tree ${(stats.treeSizeBytes / n).toFixed(0)} B, batch append ${Math.round((n / ms) * 1000)}/s, getEntry by id ${Math.round(byId)}/s`,
    };
    if (!alg) plain = f;
    else {
      f.baseline = plain!.name;
      f.ratio = bytes / plain!.median;
    }
    out.push(f);
  }
  return out;
}
