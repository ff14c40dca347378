/**
 * Worker thread for parallel verification: verifies the segments it is sent (segment-runner.ts,
 * each worker with its own read-only view of the store) and returns leaf hashes and bookkeeping for
 * the coordinator (parallel-verify.ts) to absorb in order.
 */
import { parentPort } from 'node:worker_threads';
import type { SegmentJob } from './parallel-verify.js';
import { SegmentRunner } from './segment-runner.js';

const runner = new SegmentRunner();

/** Close every store this worker opened, then let the thread end by itself (PostgreSQL pools end cleanly). */
async function shutdown(): Promise<void> {
  await runner.close();
  parentPort?.close();
}

// The coordinator keeps a second job queued here so no time is lost between segments; jobs (and the
// final close) run one after another.
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (job: SegmentJob | 'close') => {
  queue = queue.then(() => {
    if (job === 'close') return shutdown();
    return runner.run(job).then(
      (reply) => parentPort!.postMessage(reply),
      (err: unknown) =>
        parentPort!.postMessage({ id: job.id, error: String((err as Error)?.message ?? err) }),
    );
  });
});
