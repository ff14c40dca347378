/**
 * BatchProcessor: high-volume appends in atomic batches.
 *
 *   const batch = new BatchProcessor(ledger, { batchSize: 1000 });
 *   for (const e of events) batch.addEntry(e);       // fire and forget, or `await` for back-pressure
 *   const report = await batch.flush();               // commits the rest; says what was written
 *
 * Reports count what was written and failed; they list the entries only with `keepEntries`.
 *
 * Each batch is one storage transaction, all entries or none, whatever options each entry carries.
 * An entry the ledger refuses before writing anything (invalid data, or options such as `sign: true`
 * without a signer) is reported alone and the rest of its batch is committed without it; any other
 * failure (storage, signer) fails the whole batch, writes nothing, and every entry of it is reported
 * with the error. Entries land in the log in the order they were added, also when the ledger commits
 * two batches at once (SQLite `writerThread`).
 *
 * Back-pressure: `addEntry` returns a promise that resolves as soon as the entry is accepted,
 * immediately while fewer than `maxPending` entries wait, otherwise once a batch commits and frees
 * room. A producer that awaits it never holds more than `maxPending` entries in memory; a
 * synchronous loop that does not await still works (entries past the limit wait in order).
 * `add` returns a promise for the committed entry itself.
 */
import type { Entry } from '../entry/types.js';
import { ClosedError, ConfigurationError, SignLedgerError } from '../errors.js';
import { APPEND_EACH, type EachOutcome, type Ledger } from './ledger.js';
import type { AppendOptions } from './options.js';

export interface BatchProcessorOptions {
  /** Entries per transaction (default 1,000; at most the ledger's `maxBatchSize` is not required). */
  batchSize?: number;
  /** Also commit a partial batch this long after its first entry arrived (default: only on size or flush). */
  flushIntervalMs?: number;
  /** Entries that may wait before `addEntry` makes callers wait (default 10 × batchSize). */
  maxPending?: number;
  /**
   * List the committed entries in each report (default false). Off by default because a
   * long-running processor would otherwise hold every entry it wrote until the next `flush()`;
   * `add()` resolves to each committed entry either way.
   */
  keepEntries?: boolean;
}

/** Errors kept per report; `failed` still counts every failure. */
export const MAX_REPORTED_ERRORS = 1000;

/** One entry that was not written, and why. */
export interface BatchEntryError {
  /** Order in which the entry was added to this processor (0-based, over its lifetime). */
  position: number;
  error: Error;
}

/** What was committed (and what failed) since the previous report. */
export interface BatchReport {
  written: number;
  failed: number;
  batches: number;
  /** The committed entries, in log order (only with the option `keepEntries`; else empty). */
  entries: Entry[];
  /** The first MAX_REPORTED_ERRORS failures of the report, in order. */
  errors: BatchEntryError[];
}

interface Item {
  position: number;
  data: Record<string, unknown>;
  options: AppendOptions | undefined;
  resolve(e: Entry): void;
  reject(err: unknown): void;
}

const noop = () => {};
const RESOLVED: Promise<void> = Promise.resolve();

function positive(n: number | undefined, name: string, fallback: number): number {
  if (n === undefined) return fallback;
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigurationError(`${name} must be a positive integer`);
  return n;
}

export class BatchProcessor {
  readonly batchSize: number;
  readonly maxPending: number;
  readonly flushIntervalMs: number | undefined;
  readonly keepEntries: boolean;
  private queue: Item[] = [];
  private waiting: Array<() => void> = [];
  private running: Promise<void> | null = null;
  /** Settles when the last group started has been reported (see commitGroup). */
  private reported: Promise<void> = Promise.resolve();
  /** Groups being committed (more than one only on a pipelined ledger). */
  private readonly inflight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private positions = 0;
  private closed = false;
  private report: BatchReport = emptyReport();

  constructor(
    readonly ledger: Ledger,
    options: BatchProcessorOptions = {},
  ) {
    if (!ledger || typeof (ledger as Ledger).appendBatch !== 'function')
      throw new ConfigurationError('BatchProcessor needs a Ledger');
    this.batchSize = positive(options.batchSize, 'batchSize', 1000);
    this.maxPending = positive(options.maxPending, 'maxPending', this.batchSize * 10);
    this.keepEntries = options.keepEntries === true;
    if (options.flushIntervalMs !== undefined) {
      if (!Number.isFinite(options.flushIntervalMs) || options.flushIntervalMs < 1) {
        throw new ConfigurationError('flushIntervalMs must be at least 1');
      }
      this.flushIntervalMs = options.flushIntervalMs;
    }
  }

  /** Entries accepted and not yet committed or failed. */
  get pending(): number {
    return this.queue.length + this.waiting.length;
  }

  /**
   * Queue an entry; the promise resolves to the committed entry (or rejects with why it was not
   * written) once its batch commits: when the batch fills, after `flushIntervalMs`, or at `flush()`.
   * Rejections are also in the next report, so not awaiting it is safe.
   */
  add(data: Record<string, unknown>, options?: AppendOptions): Promise<Entry> {
    if (this.closed) throw new ClosedError('the BatchProcessor is closed');
    return this.enqueue(data, options);
  }

  /**
   * Queue an entry (the seed's API). Resolves when the entry is accepted: at once below
   * `maxPending`, else when a commit frees room. Its outcome is in the report of `flush()`.
   */
  addEntry(data: Record<string, unknown>, options?: AppendOptions): Promise<void> {
    if (this.closed) throw new ClosedError('the BatchProcessor is closed');
    if (this.waiting.length === 0 && this.queue.length < this.maxPending) {
      this.push({ position: this.positions++, data, options, resolve: noop, reject: noop });
      return RESOLVED;
    }
    return new Promise<void>((resolve) => {
      this.waiting.push(() => {
        this.push({ position: this.positions++, data, options, resolve: noop, reject: noop });
        resolve();
      });
      this.kick(false);
    });
  }

  /** Queue an entry whose outcome someone awaits (`add`). */
  private enqueue(data: Record<string, unknown>, options: AppendOptions | undefined): Promise<Entry> {
    let item!: Item;
    const p = new Promise<Entry>((resolve, reject) => {
      item = { position: this.positions++, data, options, resolve, reject };
    });
    p.catch(noop); // failures are reported; an un-awaited promise must not crash the process
    this.push(item);
    return p;
  }

  /** `addEntry` items resolve to nothing: no promise per entry (its outcome is in the report). */
  private push(item: Item): void {
    this.queue.push(item);
    if (this.queue.length >= this.batchSize) this.kick(false);
    else this.arm();
  }

  private arm(): void {
    if (this.flushIntervalMs === undefined || this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick(true);
    }, this.flushIntervalMs);
    // Not unref'd: entries wait for it, so it keeps the process alive until they are committed (a
    // script awaiting add() would otherwise exit with its entry never written).
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.queue.length < this.maxPending) this.waiting.shift()!();
  }

  /** Start committing (full batches, or everything when `all`) unless already running. */
  private kick(all: boolean): Promise<void> {
    if (this.running) {
      if (!all) return this.running;
      return this.running.then(() => this.kick(true));
    }
    this.running = this.drain(all).finally(() => {
      this.running = null;
      this.arm();
    });
    return this.running;
  }

  private async drain(all: boolean): Promise<void> {
    // Let a synchronous producer finish filling the current batch first.
    await Promise.resolve();
    for (;;) {
      this.admit();
      if (this.queue.length === 0 || (!all && this.queue.length < this.batchSize)) {
        if (this.inflight.size === 0) return;
        await Promise.race(this.inflight);
        continue;
      }
      if (this.timer && this.queue.length <= this.batchSize) {
        clearTimeout(this.timer);
        this.timer = null;
      }
      const group = this.queue.splice(0, this.batchSize);
      this.admit();
      // A pipelined ledger builds the next group while one commits: keep that many groups going.
      const depth = this.ledger.pipelineDepth;
      if (depth <= 1) await this.commitGroup(group);
      else {
        const p: Promise<void> = this.commitGroup(group).finally(() => this.inflight.delete(p));
        this.inflight.add(p);
        while (this.inflight.size >= depth) await Promise.race(this.inflight);
      }
    }
  }

  /**
   * Commit one group atomically. The ledger submits it before this returns to the drain (the
   * call's synchronous part), so a second group started meanwhile is sequenced after it.
   */
  private async commitGroup(group: Item[]): Promise<void> {
    // Entries are built only if someone reads them: the report (keepEntries) or an `add()` caller.
    const unread = !this.keepEntries && group.every((i) => i.resolve === noop);
    // Outcomes are reported in group order: with two groups in flight the later one can fail first
    // (a signer), and the report lists failures by position (and keeps the first ones).
    const before = this.reported;
    let reported!: () => void;
    this.reported = new Promise<void>((r) => {
      reported = r;
    });
    let outcome: EachOutcome;
    try {
      outcome = await this.ledger[APPEND_EACH](group, unread);
    } catch (err) {
      // The ledger could not take the group at all (closed, failed to open): nothing was written.
      outcome = { refused: new Map(), error: err };
    }
    await before;
    try {
      this.settle(group, outcome);
    } finally {
      reported();
    }
  }

  private settle(group: Item[], outcome: EachOutcome): void {
    const { refused } = outcome;
    if ('error' in outcome) {
      for (let j = 0; j < group.length; j++)
        this.fail(group[j]!, refused.has(j) ? refused.get(j) : outcome.error);
      return;
    }
    const entries = outcome.entries;
    if (entries.length > 0) this.report.batches++;
    this.report.written += entries.length;
    let k = 0;
    for (let j = 0; j < group.length; j++) {
      const it = group[j]!;
      if (refused.has(j)) {
        this.fail(it, refused.get(j));
        continue;
      }
      const e = entries[k++]!;
      if (e === null) continue;
      if (this.keepEntries) this.report.entries.push(e);
      it.resolve(e);
    }
  }

  private fail(item: Item, err: unknown): void {
    const error = err instanceof Error ? err : new SignLedgerError('STORAGE_FAILED', String(err));
    this.report.failed++;
    if (this.report.errors.length < MAX_REPORTED_ERRORS)
      this.report.errors.push({ position: item.position, error });
    item.reject(error);
  }

  /**
   * Commit everything queued (in batches of `batchSize`) and return what was written and what
   * failed since the previous report.
   */
  async flush(): Promise<BatchReport> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.pending > 0 || this.running) await this.kick(true);
    const r = this.report;
    this.report = emptyReport();
    return r;
  }

  /** Flush, then refuse further entries. The ledger stays open. */
  async close(): Promise<BatchReport> {
    const r = await this.flush();
    this.closed = true;
    return r;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function emptyReport(): BatchReport {
  return { written: 0, failed: 0, batches: 0, entries: [], errors: [] };
}
