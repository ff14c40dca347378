/**
 * Group commit. Appends queue here; one group at a time goes to storage, taking everything that
 * waited (up to `maxBatch`), so throughput grows with concurrency while each append still resolves
 * only after its group is durably committed.
 */
export interface Pending<I, R> {
  item: I;
  resolve(r: R): void;
  reject(e: unknown): void;
}

/** Thrown by a group commit to reject some items and retry the others. */
export class PartialGroupError extends Error {
  constructor(readonly failed: ReadonlyMap<number, unknown>) {
    super('some items of the group failed');
  }
}

export class Sequencer<I, R> {
  private queue: Pending<I, R>[] = [];
  private running: Promise<void> | null = null;

  constructor(
    private readonly commit: (items: I[]) => Promise<R[]>,
    private readonly maxBatch: number,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  submitMany(items: I[]): Promise<R[]> {
    return Promise.all(items.map((i) => this.submit(i)));
  }

  /** Resolves when everything submitted so far has settled. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Yield once so that appends issued in the same tick join the first group.
    await Promise.resolve();
    try {
      while (this.queue.length > 0) {
        let group = this.queue.splice(0, this.maxBatch);
        while (group.length > 0) {
          try {
            const results = await this.commit(group.map((p) => p.item));
            for (let i = 0; i < group.length; i++) group[i]!.resolve(results[i]!);
            group = [];
          } catch (err) {
            if (err instanceof PartialGroupError && err.failed.size < group.length) {
              const rest: Pending<I, R>[] = [];
              group.forEach((p, i) => {
                if (err.failed.has(i)) p.reject(err.failed.get(i));
                else rest.push(p);
              });
              group = rest;
            } else {
              const cause = err instanceof PartialGroupError ? err.failed.values().next().value : err;
              for (const p of group) p.reject(cause);
              group = [];
            }
          }
        }
      }
    } finally {
      this.running = null;
    }
  }
}
