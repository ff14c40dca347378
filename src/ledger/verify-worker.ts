/**
 * Worker thread for parallel verification: opens its own read-only view of the store, verifies the
 * segments it is sent with the same StreamVerifier the main thread uses, and returns leaf hashes and
 * bookkeeping for the coordinator (parallel-verify.ts) to absorb in order.
 */
import { parentPort } from 'node:worker_threads';
import { SQLiteBackend } from '../backends/sqlite/sqlite-backend.js';
import { KeyRing, type KeyRingJSON } from '../crypto/signatures/keyring.js';
import { storedHashHex } from '../entry/stored-row.js';
import type { StorageBackend } from '../storage/backend.js';
import { type SignatureChecker, StreamVerifier } from '../verify/stream-verifier.js';
import type { SegmentJob, SegmentReply } from './parallel-verify.js';

const readers = new Map<string, Promise<StorageBackend>>();

function reader(job: SegmentJob): Promise<StorageBackend> {
  const spec = job.spec;
  const key = JSON.stringify(spec);
  let r = readers.get(key);
  if (!r) {
    r = (async () => {
      let b: StorageBackend;
      if (spec.kind === 'sqlite') {
        // Workers read the whole file once: map all of it (SQLite caps this at its compile-time
        // maximum, 2 GiB here); reads past the default 256 MiB map cost a syscall and a copy per page.
        b = new SQLiteBackend({ path: spec.path, readonly: true, mmapBytes: 2 ** 40 });
      } else {
        // Loaded only for PostgreSQL ledgers: `pg` stays an optional peer dependency.
        const { PostgreSQLBackend } = await import('../backends/postgres/postgres-backend.js');
        b = new PostgreSQLBackend({
          ...spec.connection,
          // An unreachable server fails the worker (the run then continues on the main thread)
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
    readers.set(key, r);
  }
  return r;
}

const rings = new Map<string, KeyRing>();

function checkerFor(job: SegmentJob, unknown: { n: number }): SignatureChecker | undefined {
  if (!job.keyring) return undefined;
  const text = JSON.stringify(job.keyring);
  let ring = rings.get(text);
  if (!ring) {
    ring = KeyRing.fromJSON(job.keyring as KeyRingJSON);
    rings.set(text, ring);
  }
  const r = ring;
  // Already off the main thread: check synchronously (the threadpool hop costs more than it saves).
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

async function run(job: SegmentJob): Promise<Extract<SegmentReply, { result: unknown }>> {
  const backend = await reader(job);
  const before = job.from === 0 ? null : await backend.getByIndex(job.from - 1);
  const startPrev = before ? storedHashHex(before) : null;
  const unknown = { n: 0 };
  const checker = checkerFor(job, unknown);
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
  const keys = v.tileKeysAhead(job.to - job.from);
  if (keys.length) v.supplyTiles(keys, await backend.readTiles(keys).catch((e: unknown) => toError(e)));
  for await (const chunk of backend.scan({ fromIndex: job.from, toIndex: job.to, chunkSize: 4096 })) {
    if (!(await v.push(chunk))) break;
  }
  const result = v.segmentResult(startPrev);
  // A segment that ends early without a failure is missing rows: the coordinator reports the gap.
  return { id: job.id, result, unknownKeySignatures: unknown.n };
}

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Close every store this worker opened, then let the thread end by itself (PostgreSQL pools end cleanly). */
async function shutdown(): Promise<void> {
  const opened = [...readers.values()];
  readers.clear();
  await Promise.allSettled(opened.map(async (r) => (await r).close()));
  parentPort?.close();
}

// The coordinator keeps a second job queued here so no time is lost between segments; jobs (and the
// final close) run one after another.
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (job: SegmentJob | 'close') => {
  queue = queue.then(() => {
    if (job === 'close') return shutdown();
    return run(job).then(
      (reply) => parentPort!.postMessage(reply),
      (err: unknown) =>
        parentPort!.postMessage({ id: job.id, error: String((err as Error)?.message ?? err) }),
    );
  });
});
