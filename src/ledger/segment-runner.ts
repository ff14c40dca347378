/**
 * Verifying one segment of a parallel run: open a read-only view of the store (once per store),
 * verify the segment's rows with a segment-mode StreamVerifier, and return what the coordinator
 * (parallel-verify.ts) absorbs in order. Runs in the worker threads and on the coordinating thread,
 * which verifies segments too instead of waiting (one thread fewer to start: ~0.1 s of CPU each).
 */
import { KeyRing, type KeyRingJSON } from '../crypto/signatures/keyring.js';
import { storedHashHex } from '../entry/stored-row.js';
import type { StorageBackend } from '../storage/backend.js';
import { type SignatureChecker, StreamVerifier } from '../verify/stream-verifier.js';
import type { SegmentJob, SegmentReply } from './parallel-verify.js';
import { supplyTilesAhead } from './tile-check.js';

export type SegmentOutcome = Extract<SegmentReply, { result: unknown }>;

export class SegmentRunner {
  private readonly readers = new Map<string, Promise<StorageBackend>>();
  private readonly rings = new Map<string, KeyRing>();

  private reader(job: SegmentJob): Promise<StorageBackend> {
    const spec = job.spec;
    const key = JSON.stringify(spec);
    let r = this.readers.get(key);
    if (!r) {
      r = (async () => {
        let b: StorageBackend;
        if (spec.kind === 'sqlite') {
          const { SQLiteBackend } = await import('../backends/sqlite/sqlite-backend.js');
          // A segment reader reads its part of the file once: map all of it (SQLite caps this at its
          // compile-time maximum, 2 GiB here); reads past the default 256 MiB map cost a syscall and
          // a copy per page.
          b = new SQLiteBackend({ path: spec.path, readonly: true, mmapBytes: 2 ** 40 });
        } else if (spec.kind === 'redis') {
          // Loaded only for Redis ledgers: `ioredis` stays an optional peer dependency. The main
          // thread already warned about the server's settings.
          const { RedisBackend } = await import('../backends/redis/redis-backend.js');
          b = new RedisBackend({ ...spec.connection, prefix: spec.prefix, onWarning: () => {} });
        } else {
          // Loaded only for PostgreSQL ledgers: `pg` stays an optional peer dependency.
          const { PostgreSQLBackend } = await import('../backends/postgres/postgres-backend.js');
          b = new PostgreSQLBackend({
            ...spec.connection,
            // An unreachable server fails the segment (the run then continues on the main thread)
            // instead of hanging the verification.
            poolConfig: { connectionTimeoutMillis: 10_000, ...(spec.connection.poolConfig ?? {}) },
            ...(spec.tablePrefix !== undefined ? { tablePrefix: spec.tablePrefix } : {}),
            ...(spec.schema !== undefined ? { schema: spec.schema } : {}),
            max: 1,
          });
        }
        await b.open(spec.name, () => {
          throw new Error('the ledger vanished');
        });
        return b;
      })();
      this.readers.set(key, r);
    }
    return r;
  }

  private checkerFor(job: SegmentJob, unknown: { n: number }): SignatureChecker | undefined {
    if (!job.keyring) return undefined;
    const text = JSON.stringify(job.keyring);
    let ring = this.rings.get(text);
    if (!ring) {
      ring = KeyRing.fromJSON(job.keyring as KeyRingJSON);
      this.rings.set(text, ring);
    }
    const r = ring;
    // Every verifying thread is busy: check synchronously (the threadpool hop costs more than it saves).
    return {
      check: (record, message, ctx) => {
        if (job.lenientUnknownKeys && !r.get(record.keyId)) {
          unknown.n++;
          return { ok: true, keyId: record.keyId };
        }
        return r.check(record, message, ctx);
      },
    };
  }

  /**
   * Verify `job`'s rows. On the coordinating thread, `pause` runs every `pause.every` rows: it lets
   * the workers' replies in (a synchronous store never leaves the microtask queue by itself, and a
   * worker waiting for its next job idles) and the caller's other work (verify() may run in the
   * background of a server: autoVerify), and says whether the run has stopped.
   */
  async run(
    job: SegmentJob,
    pause?: { every: number; run: () => Promise<boolean> },
  ): Promise<SegmentOutcome> {
    const backend = await this.reader(job);
    const before = job.from === 0 ? null : await backend.getByIndex(job.from - 1);
    const startPrev = before ? storedHashHex(before) : null;
    const unknown = { n: 0 };
    const checker = this.checkerFor(job, unknown);
    const v = new StreamVerifier({
      ledgerId: job.ledgerId,
      hashAlgorithm: job.hashAlgorithm,
      segment: true,
      segmentRootSizes: new Set(job.rootSizes),
      start: { size: job.from, lastHash: startPrev, frontier: [] },
      tiles: true,
      tileSeeds: job.tileSeeds ?? [],
      ...(checker ? { signatures: { checker, required: job.requireSignatures } } : {}),
    });
    // The stored level-0 tiles the segment's rows complete (compared as the rows' leaves build them),
    // read in one request before the scan: a statement per chunk would wait, on a one-connection
    // PostgreSQL pool, behind the scan's read-ahead (measured: two threads barely beat one).
    await supplyTilesAhead(v, backend, job.to - job.from);
    const every = pause?.every ?? Number.POSITIVE_INFINITY;
    // SQLite reads a chunk synchronously (~3 µs a row): smaller ones when others wait for this thread.
    const chunkSize = pause && job.spec.kind === 'sqlite' ? 1024 : 4096;
    // `audit`: rows as the store's read indexes see them, as the main thread reads them (Redis).
    const rows = backend.scan({ fromIndex: job.from, toIndex: job.to, chunkSize, audit: true });
    scan: for await (const chunk of rows) {
      for (let i = 0; i < chunk.length; i += every) {
        if (pause && (await pause.run())) break scan;
        if (!(await v.push(every >= chunk.length ? chunk : chunk.slice(i, i + every)))) break scan;
      }
    }
    const result = v.segmentResult(startPrev);
    // A segment that ends early without a failure is missing rows: the coordinator reports the gap.
    return { id: job.id, result, unknownKeySignatures: unknown.n };
  }

  /** Close every store this runner opened. */
  async close(): Promise<void> {
    const opened = [...this.readers.values()];
    this.readers.clear();
    await Promise.allSettled(opened.map(async (r) => (await r).close()));
  }
}
