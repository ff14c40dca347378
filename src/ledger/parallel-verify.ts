/**
 * Parallel verification: split the log into segments, verify them on this thread and worker threads
 * (each reading the store itself), and absorb the results in order into the coordinator's StreamVerifier, which
 * links the segments, settles redactions across them and builds the tree. Used for large logs on
 * backends that offer `parallelScanSpec()`; anything else verifies on the main thread.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashAlgorithm } from '../crypto/hash.js';
import type { KeyRingJSON } from '../crypto/signatures/keyring.js';
import type { ParallelScanSpec } from '../storage/backend.js';
import type { SegmentResult, StreamVerifier } from '../verify/stream-verifier.js';
import { SegmentRunner } from './segment-runner.js';

export interface SegmentJob {
  id: number;
  spec: ParallelScanSpec;
  ledgerId: string;
  hashAlgorithm: HashAlgorithm;
  from: number;
  to: number;
  keyring?: KeyRingJSON;
  lenientUnknownKeys: boolean;
  requireSignatures: number;
  /** Sizes in (from, to] where the coordinator needs the tree root. */
  rootSizes: number[];
  /**
   * Only when `from` is not a multiple of 256 (the first segment of an incremental run): the verified
   * frontier nodes of height < 8 at `from`, latin1, so the worker builds and checks that tile whole.
   */
  tileSeeds?: { height: number; hash: string }[];
}

export type SegmentReply =
  | { id: number; result: SegmentResult; unknownKeySignatures: number }
  | { id: number; error: string };

/** A whole run: the segment fields for [from, to), plus how many threads and a progress callback. */
export type ParallelOptions = Omit<SegmentJob, 'id' | 'rootSizes' | 'tileSeeds'> & {
  /** Sizes at which roots are checked (stored and trusted checkpoints). */
  rootSizes: readonly number[];
  threads?: number;
  onProgress?: (checked: number) => void;
  /** Signatures by keys outside the ring that a segment passed over (lenient mode), as it is absorbed. */
  onUnknownKeys?: (n: number) => void;
};

async function workerScript(): Promise<{ url: URL; execArgv: string[] }> {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return { url: new URL('./verify-worker.mjs', here), execArgv: [] };
  // From source (tests, tsx) the worker is TypeScript: run it bundled (fast start), else through the tsx loader.
  const bundler = new URL('./verify-worker-bundle.mjs', here).href;
  const { bundledWorkerUrl } = (await import(bundler)) as { bundledWorkerUrl(): Promise<URL | null> };
  const url = await bundledWorkerUrl();
  return { url: url ?? new URL('./verify-worker-dev.mjs', here), execArgv: [] };
}

/** Verifying threads worth using, this one included: every core. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * Ask a worker to close its stores and end by itself (a PostgreSQL pool says goodbye to the server;
 * a terminated thread would just drop its connection). The run does not wait for it: the thread no
 * longer keeps the process alive, and one that has not ended within a few seconds is terminated.
 */
function retire(w: Worker): void {
  w.unref();
  w.postMessage('close');
  const timer = setTimeout(() => void w.terminate(), 5_000);
  timer.unref();
  w.once('exit', () => clearTimeout(timer));
}

/**
 * Verify entries [from, to) into `v` on this thread and `threads - 1` worker threads. Signatures by
 * keys outside the ring that a segment skipped (lenient mode) are told to `onUnknownKeys` as it is
 * absorbed. Throws if the run fails (workers cannot start, a segment cannot be read): the caller
 * finishes on the main thread from `v.verifiedSize`.
 */
export async function verifyInParallel(v: StreamVerifier, o: ParallelOptions): Promise<{ threads: number }> {
  const threads = Math.max(1, o.threads ?? defaultThreads());
  // Powers of two keep the segments' compact ranges small (a full aligned segment is one subtree).
  // Sizes shrink towards the end (each at most a 2·threads-th of what is left), so the threads
  // finish together instead of one waiting on another's last large segment.
  // Checking a signature costs ~20× the rest of an entry: signed logs end on smaller segments so the
  // last one does not leave a thread idle for a second.
  const minSegment = o.keyring && o.keyring.keys.length > 0 ? 512 : 8192;
  const jobs: SegmentJob[] = [];
  for (let from = o.from, id = 0; from < o.to; id++) {
    let segSize = 131_072;
    while (segSize > minSegment && segSize * threads * 2 > o.to - from) segSize /= 2;
    // Segments end on multiples of their size (sizes never grow, so every later one starts aligned):
    // each worker builds and checks whole tiles (256 leaves); only the first segment of a run that
    // starts inside a tile is shorter, and gets that tile's frontier nodes (tileSeeds).
    const to = Math.min(o.to, from - (from % segSize) + segSize);
    jobs.push({
      id,
      spec: o.spec,
      ledgerId: o.ledgerId,
      hashAlgorithm: o.hashAlgorithm,
      from,
      to,
      keyring: o.keyring,
      lenientUnknownKeys: o.lenientUnknownKeys,
      requireSignatures: o.requireSignatures,
      rootSizes: o.rootSizes.filter((x) => x > from && x <= to),
      ...(from % 256 !== 0 ? { tileSeeds: v.tileSeeds() } : {}),
    });
    from = to;
  }
  // Nothing to verify (an empty range): no workers, and no promise left waiting for replies.
  if (jobs.length === 0) return { threads: 1 };
  // This thread verifies segments too (it would otherwise mostly wait): one worker fewer to start.
  const verifying = Math.min(threads, jobs.length);
  const { url, execArgv } = verifying > 1 ? await workerScript() : { url: null, execArgv: [] };
  // Verification allocates many short-lived strings and buffers per entry: a larger young generation
  // cuts scavenges (measured: ~15% faster on 1,000,000 entries).
  const workers = Array.from(
    { length: verifying - 1 },
    () => new Worker(url!, { execArgv, resourceLimits: { maxYoungGenerationSizeMb: 128 } }),
  );
  const local = new SegmentRunner();
  const done = new Map<number, SegmentReply>();
  let nextJob = 0;
  let nextAbsorb = 0;
  let stop = false;
  // Jobs posted to each worker and not yet answered (at most two: see feed).
  const inFlight = new Map<Worker, number>();
  let localRun: Promise<void> = Promise.resolve();
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        stop = true;
        reject(err);
      };
      const absorb = () => {
        while (!stop && done.has(nextAbsorb)) {
          const reply = done.get(nextAbsorb)!;
          done.delete(nextAbsorb);
          if ('error' in reply) {
            fail(new Error(`verification worker failed: ${reply.error}`));
            return;
          }
          const job = jobs[nextAbsorb]!;
          const ok = v.absorbSegment(reply.result);
          o.onUnknownKeys?.(reply.unknownKeySignatures);
          nextAbsorb++;
          o.onProgress?.(v.entriesChecked);
          // A segment that stopped short without a failure found missing rows: let the caller's
          // end-of-stream checks (size against the head) report it.
          if (!ok || reply.result.from + reply.result.count < job.to) stop = true;
        }
        if (stop || nextAbsorb === jobs.length) resolve();
      };
      const settle = (reply: SegmentReply) => {
        done.set(reply.id, reply);
        absorb();
      };
      // Each worker holds up to two jobs, so it starts its next segment without waiting for a reply.
      const feed = (w: Worker) => {
        if (stop || nextJob >= jobs.length) return;
        inFlight.set(w, (inFlight.get(w) ?? 0) + 1);
        w.postMessage(jobs[nextJob++]);
      };
      // This thread takes one job at a time, between the workers' replies; it takes the first one (the
      // workers are still starting). It pauses for the event loop every few milliseconds of work: a
      // signature check costs ~110 µs, an unsigned entry ~3-5 µs.
      const pauseEvery = o.keyring && o.keyring.keys.length > 0 ? 64 : 1024;
      const pause = async () => {
        await new Promise<void>((r) => setImmediate(r));
        return stop;
      };
      localRun = (async () => {
        while (!stop && nextJob < jobs.length) {
          const job = jobs[nextJob++]!;
          let reply: SegmentReply;
          try {
            reply = await local.run(job, { every: pauseEvery, run: pause });
          } catch (err) {
            reply = { id: job.id, error: String((err as Error)?.message ?? err) };
          }
          if (stop) return;
          settle(reply);
        }
      })().catch(fail);
      for (const w of workers) {
        w.on('message', (reply: SegmentReply) => {
          inFlight.set(w, (inFlight.get(w) ?? 1) - 1);
          // An exception here would escape as an uncaught error from the message event (and crash
          // the process): it fails the run instead, which the caller finishes on its own thread.
          try {
            feed(w);
            settle(reply);
          } catch (err) {
            fail(err);
          }
        });
        w.on('error', fail);
        feed(w);
      }
      for (const w of workers) feed(w);
    });
  } finally {
    stop = true;
    // A worker still busy (the run stopped early) is terminated: its segment no longer matters.
    for (const w of workers)
      if ((inFlight.get(w) ?? 0) > 0) void w.terminate();
      else retire(w);
    // This thread's segment stops at its next pause (a stopped run ignores it); then its stores close.
    await localRun.catch(() => undefined);
    await local.close();
  }
  return { threads: verifying };
}
