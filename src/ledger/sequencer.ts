/**
 * Group commit. Appends queue here; one group at a time goes to storage, taking everything that
 * waited (up to `maxBatch` items), so throughput grows with concurrency while each append still
 * resolves only after its group is durably committed. A unit (one `append`, or one `appendBatch`)
 * is never split across groups and succeeds or fails as a whole.
 */
interface Unit<I, R> {
  items: I[];
  /** A unit of several items resolves with their results; a single `submit` with its one result. */
  resolve?: (r: R[]) => void;
  resolveOne?: (r: R) => void;
  reject(e: unknown): void;
}

/** A pipelined drain splits what waits into two groups only if each gets at least this many items. */
const SPLIT_MIN = 256;

/** Thrown by a group commit to reject some items (by position in the group) and retry the others. */
export class PartialGroupError extends Error {
  constructor(readonly failed: ReadonlyMap<number, unknown>) {
    super('some items of the group failed');
  }
}

export class Sequencer<I, R> {
  private queue: Unit<I, R>[] = [];
  private running: Promise<void> | null = null;
  /** Wakes a pipelined drain that waits for a slot or for work (see `drainPipelined`). */
  private wake: (() => void) | null = null;

  /**
   * `depth()`: how many groups may be in flight at once (read when a drain starts). 1 (default):
   * one group at a time. 2: a backend that commits off the main thread (SQLite `writerThread`)
   * builds group N+1 on the head group N will produce while N commits; the commits themselves still
   * happen in order, and the backend's head check refuses a group built on a group that failed.
   */
  /**
   * `commit(items, refuse)` commits the items as one group and returns their results in order. A
   * committer that finds some items failed before anything was written (a signer) calls
   * `refuse(failed)` — failed items by position — which rejects the units holding them and returns
   * the remaining items, for the committer to commit in this group's place (a retry as a new group
   * could land after a group already in flight). Throwing PartialGroupError does the same with the
   * rest retried as a new group.
   */
  constructor(
    private readonly commit: (
      items: I[],
      refuse: (failed: ReadonlyMap<number, unknown>) => I[],
    ) => Promise<R[]>,
    private readonly maxBatch: number,
    private readonly depth: () => number = () => 1,
  ) {}

  /** Items waiting for a group. */
  get pending(): number {
    let n = 0;
    for (const u of this.queue) n += u.items.length;
    return n;
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolveOne, reject) => {
      this.queue.push({ items: [item], resolveOne, reject });
      if (!this.running) this.running = this.drain();
      else this.wake?.();
    });
  }

  /** Commit these items together in one group: all are stored, or none. */
  submitUnit(items: I[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.running) this.running = this.drain();
      else this.wake?.();
    });
  }

  /**
   * Resolves when everything submitted so far has settled. A barrier (a unit of no items) queued
   * behind it: waiting for the drain to stop instead never resolved while appends kept arriving,
   * so checkpoint(), proofs and close() hung on a busy ledger.
   */
  async idle(): Promise<void> {
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      this.queue.push({ items: [], resolve: () => resolve(), reject: () => resolve() });
      this.wake?.();
    });
  }

  private takeGroup(max = this.maxBatch): Unit<I, R>[] {
    // Counted first, then taken at once: shift() per unit moved the rest of the queue each time.
    const queue = this.queue;
    let k = 0;
    let n = 0;
    while (k < queue.length) {
      const size = queue[k]!.items.length;
      if (k > 0 && n + size > max) break;
      n += size;
      k++;
    }
    if (k === queue.length) {
      this.queue = [];
      return queue;
    }
    return queue.splice(0, k);
  }

  private async drain(): Promise<void> {
    // Yield once so that appends issued in the same tick join the first group.
    await Promise.resolve();
    try {
      const depth = this.depth();
      if (depth > 1) await this.drainPipelined(depth);
      else while (this.queue.length > 0) await this.runGroup(this.takeGroup());
    } finally {
      this.running = null;
      this.wake = null;
      // A pipelined drain returns across an await after its last check: anything queued since
      // then (it found `running` set and nothing to wake) starts a new drain.
      if (this.queue.length > 0) this.running = this.drain();
    }
  }

  /**
   * Up to `depth` groups in flight. With nothing in flight a group takes at most half of what waits
   * (but a whole unit) when both halves are large, so the next group is built while the first commits.
   */
  private async drainPipelined(depth: number): Promise<void> {
    const inflight = new Set<Promise<void>>();
    while (this.queue.length > 0 || inflight.size > 0) {
      if (this.queue.length > 0 && inflight.size < depth) {
        // Halves only when both are large enough to amortise a commit (BatchProcessor's groups, not
        // 64 single appends: two 32-entry commits measured slower than one of 64).
        const pending = this.pending;
        const max =
          inflight.size === 0 && pending >= 2 * SPLIT_MIN
            ? Math.min(this.maxBatch, Math.ceil(pending / 2))
            : this.maxBatch;
        const p: Promise<void> = this.runGroup(this.takeGroup(max)).finally(() => inflight.delete(p));
        inflight.add(p);
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        for (const p of inflight) void p.then(resolve);
      });
      this.wake = null;
    }
  }

  /** Commit one group, retrying it without the units a PartialGroupError rejects. Never throws. */
  private async runGroup(first: Unit<I, R>[]): Promise<void> {
    let group = first;
    const refuse = (failed: ReadonlyMap<number, unknown>): I[] => {
      group = rejectFailed(group, failed);
      return itemsOf(group);
    };
    while (group.length > 0) {
      const items = itemsOf(group);
      if (items.length === 0) {
        // Only barriers (idle()): everything before them has settled.
        for (const u of group) u.resolve!([]);
        return;
      }
      try {
        const results = await this.commit(items, refuse);
        let at = 0;
        for (const u of group) {
          if (u.resolveOne) u.resolveOne(results[at]!);
          else u.resolve!(results.slice(at, at + u.items.length));
          at += u.items.length;
        }
        group = [];
      } catch (err) {
        if (!(err instanceof PartialGroupError)) {
          for (const u of group) u.reject(err);
          return;
        }
        // Reject the units that hold a failed item; retry the rest as a new group.
        group = rejectFailed(group, err.failed);
      }
    }
  }
}

/** Rejects the units holding a failed item (by position in the group); returns the others. */
function rejectFailed<I, R>(group: Unit<I, R>[], failed: ReadonlyMap<number, unknown>): Unit<I, R>[] {
  const rest: Unit<I, R>[] = [];
  let at = 0;
  for (const u of group) {
    let failedAt = -1;
    for (let i = 0; i < u.items.length && failedAt < 0; i++) if (failed.has(at + i)) failedAt = at + i;
    at += u.items.length;
    if (failedAt >= 0) u.reject(failed.get(failedAt));
    else rest.push(u);
  }
  return rest;
}

/** The items of a group in order (a loop: Array#flatMap was 3% of an append, profiled). */
function itemsOf<I, R>(group: Unit<I, R>[]): I[] {
  const out: I[] = [];
  for (const u of group) {
    const items = u.items;
    if (items.length === 1) out.push(items[0]!);
    else for (const it of items) out.push(it);
  }
  return out;
}
