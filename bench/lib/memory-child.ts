/**
 * Run in a child process with --expose-gc: heap (and off-heap) bytes per 1,000 entries held by the
 * in-memory backend, after a full GC. Prints one JSON line.
 */
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { events } from './events.js';

const n = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const ledger = await Ledger.open({ backend: new InMemoryBackend(), maxEntriesMemory: 0 });
await ledger.appendBatch(events(0, 1000));
const batches = Array.from({ length: 4 }, (_, k) => events(k * 1000, 1000));
gc();
gc();
const before = process.memoryUsage();
for (let i = 0; i < n; i += 1000) await ledger.appendBatch(batches[(i / 1000) % 4]!);
gc();
gc();
const after = process.memoryUsage();
const per = (a: number, b: number) => (a - b) / (n / 1000) / 1e6;
process.stdout.write(
  `${JSON.stringify({
    heapMB: per(after.heapUsed, before.heapUsed),
    // `external` already includes `arrayBuffers` (Node's docs): adding both counted Buffers twice.
    externalMB: per(after.external, before.external),
    entries: (await ledger.getStats()).totalEntries,
  })}\n`,
);
