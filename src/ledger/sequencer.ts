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

/** Thrown by a group commit to reject some items (by position in the group) and retry the others. */
export class PartialGroupError extends Error {
  constructor(readonly failed: ReadonlyMap<number, unknown>) {
    super('some items of the group failed');
  }
}

export class Sequencer<I, R> {
  private queue: Unit<I, R>[] = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly commit: (items: I[]) => Promise<R[]>,
    private readonly maxBatch: number,
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
    });
  }

  /** Commit these items together in one group: all are stored, or none. */
  submitUnit(items: I[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  /** Resolves when everything submitted so far has settled. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private takeGroup(): Unit<I, R>[] {
    const group: Unit<I, R>[] = [];
    let n = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (group.length > 0 && n + next.items.length > this.maxBatch) break;
      group.push(this.queue.shift()!);
      n += next.items.length;
    }
    return group;
  }

  private async drain(): Promise<void> {
    // Yield once so that appends issued in the same tick join the first group.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) {
        let group = this.takeGroup();
        while (group.length > 0) {
          const items = itemsOf(group);
          try {
            const results = await this.commit(items);
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
              group = [];
              continue;
            }
            // Reject the units that hold a failed item; retry the rest as a new group.
            const rest: Unit<I, R>[] = [];
            let at = 0;
            for (const u of group) {
              let failedAt = -1;
              for (let i = 0; i < u.items.length && failedAt < 0; i++)
                if (err.failed.has(at + i)) failedAt = at + i;
              at += u.items.length;
              if (failedAt >= 0) u.reject(err.failed.get(failedAt));
              else rest.push(u);
            }
            group = rest;
          }
        }
      }
    } finally {
      this.running = null;
    }
  }
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
