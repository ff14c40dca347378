/**
 * The write side of every integration. Auditing must never break the audited work: `record()` never
 * throws, a failed append is reported (hook + counters) and kept in a bounded queue that is retried
 * with backoff and drained by `flush()`, so entries are surfaced rather than silently lost.
 */

import { ClosedError, ConfigurationError, ValidationError } from '../../errors.js';
import type { Ledger } from '../../ledger/ledger.js';

export type AuditFailureReason =
  /** The append threw; the entry is queued for retry. */
  | 'append_failed'
  /**
   * Retrying cannot help, so the entry is not kept: the ledger refused it as invalid
   * (`ValidationError`), refuses every append as configured (`ConfigurationError`), or is closed for good
   * (`ClosedError`, code `CLOSED`). The error tells which.
   */
  | 'rejected'
  /** The retry queue was full; this entry was not kept. */
  | 'queue_full'
  /**
   * An awaited append took longer than `awaitTimeoutMs`: the request (or job) went on without it. The
   * append is still running; if it fails, the entry goes to the retry queue (reported again).
   */
  | 'timeout'
  /**
   * `maxInFlight` appends were already running: the entry went straight to the retry queue (written by
   * the next drain) instead of starting one more append.
   */
  | 'overloaded';

export interface AuditFailureInfo {
  reason: AuditFailureReason;
  data: Readonly<Record<string, unknown>>;
  /** Append attempts made for this entry so far. */
  attempts: number;
  /** Whether the entry is (still) in the retry queue. */
  willRetry: boolean;
}

export interface AuditorOptions {
  /**
   * `false` (default): the append is queued and the response does not wait for it.
   * `true`: the integration waits for the append before the response (or job) completes; a failure
   * still does not fail the request, it goes to the retry queue.
   */
  await?: boolean;
  /**
   * With `await: true`, the longest a request or job waits for its entry (default 5,000 ms). Past it
   * the work goes on, `timedOut` counts it and `onError` gets `reason: 'timeout'`; the append keeps
   * running and falls back to the retry queue if it fails. Also bounds the `actor()` hook.
   */
  awaitTimeoutMs?: number;
  /**
   * Most appends running at once (default 1,000). Further entries go to the retry queue (`deferred`,
   * `onError` with `reason: 'overloaded'`), so a stalled ledger cannot pile up unbounded work; when that
   * queue is full too they are dropped (`dropped`, `reason: 'queue_full'`).
   */
  maxInFlight?: number;
  /** Called for every failure. Default: a rate-limited line on stderr. Exceptions it throws are ignored. */
  onError?: (error: unknown, info: AuditFailureInfo) => void;
  /** Most entries kept for retry (default 10,000). Further failures are counted in `dropped`. */
  maxQueue?: number;
  /** First retry delay; doubles on each failed round up to 30 s (default 1,000 ms). */
  retryIntervalMs?: number;
  /** Metadata added to every entry (e.g. `{ compliance: 'SOX' }`). */
  metadata?: Record<string, unknown>;
  /**
   * The longest `close()` waits for appends in flight and a last retry round (default 10,000 ms), so a
   * shutdown hook cannot hang on a stalled database. What it could not write is in its `remaining`.
   */
  closeTimeoutMs?: number;
}

/** What `flush()` and `close()` could not write, and whether they stopped waiting at their time limit. */
export interface FlushResult {
  remaining: number;
  timedOut: boolean;
}

interface Queued {
  data: Record<string, unknown>;
  attempts: number;
}

const MAX_BACKOFF_MS = 30_000;

export interface AuditorStats {
  written: number;
  failed: number;
  rejected: number;
  dropped: number;
  timedOut: number;
  deferred: number;
  pending: number;
  queued: number;
}

export class Auditor {
  readonly ledger: Ledger;
  readonly awaitAppends: boolean;
  /** Entries durably appended. */
  written = 0;
  /** Failed append attempts (including failed retries). */
  failed = 0;
  /**
   * Entries not retried: invalid (`ValidationError`), refused by the ledger's configuration
   * (`ConfigurationError`), or the ledger is closed (`ClosedError`).
   */
  rejected = 0;
  /** Entries lost because the retry queue was full (each one was reported to `onError`). */
  dropped = 0;
  /** Awaited appends that outlived `awaitTimeoutMs` (the request went on without waiting). */
  timedOut = 0;
  /** Entries sent to the retry queue because `maxInFlight` appends were running. */
  deferred = 0;
  /** See `AuditorOptions.awaitTimeoutMs`. */
  readonly awaitTimeoutMs: number;
  /** See `AuditorOptions.maxInFlight`. */
  readonly maxInFlight: number;
  /** See `AuditorOptions.closeTimeoutMs`. */
  readonly closeTimeoutMs: number;
  private readonly onError: NonNullable<AuditorOptions['onError']>;
  private readonly maxQueue: number;
  private readonly baseDelay: number;
  private readonly metadata: Record<string, unknown> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  private readonly queue: Queued[] = [];
  private delay: number;
  private timer: NodeJS.Timeout | null = null;
  private draining: Promise<void> | null = null;
  private closed = false;

  /** `internal.appends: false`: an auditor that is never given entries (NestJS with `audit: false`). */
  constructor(ledger: Ledger, options: AuditorOptions = {}, internal: { appends?: boolean } = {}) {
    if (!ledger || typeof (ledger as Ledger).append !== 'function') {
      throw new TypeError('signledger integrations need a Ledger (or an openLedger() result)');
    }
    if (
      internal.appends !== false &&
      (ledger as { appendsNeedSigner?: unknown }).appendsNeedSigner === true
    ) {
      // Every audit append would be refused: fail at startup, not on the first request.
      throw new ConfigurationError(
        'this ledger requires signatures (enableSignatures) but has no signer: pass `signer` (or `signers`) ' +
          'with the ledger options (openLedger / Ledger.open / SignLedgerModule.forRoot) so audit entries can be signed',
      );
    }
    this.ledger = ledger;
    this.awaitAppends = options.await === true;
    this.onError = options.onError ?? defaultOnError();
    this.maxQueue = positive(options.maxQueue, 10_000, 'maxQueue');
    this.baseDelay = positive(options.retryIntervalMs, 1_000, 'retryIntervalMs');
    this.awaitTimeoutMs = positive(options.awaitTimeoutMs, 5_000, 'awaitTimeoutMs');
    this.closeTimeoutMs = positive(options.closeTimeoutMs, 10_000, 'closeTimeoutMs');
    this.maxInFlight = positive(options.maxInFlight, 1_000, 'maxInFlight');
    this.delay = this.baseDelay;
    this.metadata = options.metadata;
  }

  /** Entries not yet durably written: appends in flight plus the retry queue. */
  get pending(): number {
    return this.inflight.size + this.queue.length;
  }

  /** Copies of the entries waiting for retry, oldest first. */
  pendingEntries(): Record<string, unknown>[] {
    return this.queue.map((q) => structuredClone(q.data));
  }

  stats(): AuditorStats {
    return {
      written: this.written,
      failed: this.failed,
      rejected: this.rejected,
      dropped: this.dropped,
      timedOut: this.timedOut,
      deferred: this.deferred,
      pending: this.pending,
      queued: this.queue.length,
    };
  }

  /**
   * Append one audit entry. Never rejects: failures are queued and reported. Resolves when the append
   * settled (written or queued), or at once when `maxInFlight` appends are running (the entry is then
   * queued). No time limit: use `commit()` to wait with `awaitTimeoutMs`.
   */
  record(data: Record<string, unknown>): Promise<void> {
    const item: Queued = { data, attempts: 0 };
    if (this.inflight.size >= this.maxInFlight) {
      this.defer(item);
      return Promise.resolve();
    }
    const p = this.attempt(item).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
    return p;
  }

  /**
   * What the integrations call: append `data`; when `wait` is true, resolve once it is written or
   * queued but after at most `awaitTimeoutMs` (then reported as `timeout`). Never rejects.
   */
  commit(data: Record<string, unknown>, wait: boolean = this.awaitAppends): Promise<void> {
    let p: Promise<void>;
    try {
      p = this.record(data);
    } catch {
      return Promise.resolve();
    }
    if (!wait) return Promise.resolve();
    return this.within(p, () => {
      this.timedOut++;
      this.report(
        new Error(`audit append still running after ${this.awaitTimeoutMs} ms`),
        { data, attempts: 1 },
        'timeout',
        true,
      );
    });
  }

  /** `p`, or undefined after `awaitTimeoutMs` (calling `onTimeout`). Never rejects. */
  within<T>(p: Promise<T>, onTimeout?: () => void): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve) => {
      const timer = setTimeout(() => {
        try {
          onTimeout?.();
        } finally {
          resolve(undefined);
        }
      }, this.awaitTimeoutMs);
      timer.unref();
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        () => {
          clearTimeout(timer);
          resolve(undefined);
        },
      );
    });
  }

  /** Too many appends running: keep the entry for the next drain instead of starting another. */
  private defer(item: Queued): void {
    if (this.queue.length >= this.maxQueue) {
      this.dropped++;
      this.report(new Error('audit retry queue is full'), item, 'queue_full', false);
      return;
    }
    this.deferred++;
    this.queue.push(item);
    this.report(
      new Error(`${this.maxInFlight} audit appends in flight (maxInFlight)`),
      item,
      'overloaded',
      true,
    );
    // Drain when the running appends settle (each success schedules one), or on the retry timer.
    this.schedule(this.delay);
  }

  private async attempt(item: Queued): Promise<void> {
    item.attempts++;
    try {
      await this.ledger.append(item.data, this.metadata ? { metadata: this.metadata } : {});
      this.written++;
      // The ledger answers again: drain what waited.
      if (this.queue.length > 0) this.schedule(0);
    } catch (err) {
      this.fail(item, err, true);
    }
  }

  private fail(item: Queued, err: unknown, enqueue: boolean): void {
    this.failed++;
    if (isPermanent(err)) {
      this.rejected++;
      this.report(err, item, 'rejected', false);
      return;
    }
    if (enqueue) {
      if (this.queue.length >= this.maxQueue) {
        this.dropped++;
        this.report(err, item, 'queue_full', false);
        return;
      }
      this.queue.push(item);
    }
    this.report(err, item, 'append_failed', true);
    this.schedule(this.delay);
  }

  private report(
    err: unknown,
    item: Pick<Queued, 'data' | 'attempts'>,
    reason: AuditFailureReason,
    willRetry: boolean,
  ): void {
    try {
      this.onError(err, { reason, data: item.data, attempts: item.attempts, willRetry });
    } catch {
      // A failing hook must not turn an audit failure into a request failure.
    }
  }

  private schedule(ms: number): void {
    if (this.closed || this.queue.length === 0) return;
    if (this.timer) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain();
    }, ms);
    this.timer.unref();
  }

  /** One retry round over the queue, in order; stops at the first failure. */
  private drain(): Promise<void> {
    if (!this.draining) {
      this.draining = this.drainOnce().finally(() => {
        this.draining = null;
      });
    }
    return this.draining;
  }

  private async drainOnce(): Promise<void> {
    while (this.queue.length > 0) {
      const chunk = this.queue.slice(0, 256);
      const results = await Promise.allSettled(
        chunk.map((item) => {
          item.attempts++;
          return this.ledger.append(item.data, this.metadata ? { metadata: this.metadata } : {});
        }),
      );
      const retry: Queued[] = [];
      let firstError: unknown;
      results.forEach((r, i) => {
        const item = chunk[i]!;
        if (r.status === 'fulfilled') this.written++;
        else {
          firstError ??= r.reason;
          if (isPermanent(r.reason)) this.fail(item, r.reason, false);
          else retry.push(item);
        }
      });
      this.queue.splice(0, chunk.length, ...retry);
      if (retry.length > 0) {
        for (const item of retry) {
          this.failed++;
          this.report(firstError, item, 'append_failed', true);
        }
        this.delay = Math.min(this.delay * 2, MAX_BACKOFF_MS);
        this.schedule(this.delay);
        return;
      }
    }
    this.delay = this.baseDelay;
  }

  /**
   * Wait for appends in flight, then retry the queue now. Resolves with what is still not written
   * (0 when everything reached the ledger). With `timeoutMs`, resolves after at most that long
   * (`timedOut: true`); the appends still running go on, and failures still reach the retry queue.
   */
  async flush(options: { timeoutMs?: number } = {}): Promise<FlushResult> {
    const limit = options.timeoutMs === undefined ? undefined : positive(options.timeoutMs, 0, 'timeoutMs');
    const work = (async () => {
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      if (this.draining) await this.draining;
      if (this.queue.length > 0) await this.drain();
    })();
    let finished = true;
    if (limit === undefined) await work;
    else finished = await within(work, limit);
    return { remaining: this.pending, timedOut: !finished };
  }

  /**
   * Stop retrying after one last flush, waiting at most `timeoutMs` (default `closeTimeoutMs`). The
   * ledger is not closed (it is the caller's).
   */
  async close(options: { timeoutMs?: number } = {}): Promise<FlushResult> {
    const r = await this.flush({ timeoutMs: options.timeoutMs ?? this.closeTimeoutMs });
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return r;
  }
}

/**
 * Failures retrying cannot fix: an entry the ledger refuses as invalid, a ledger configured so that it
 * refuses every append (`ConfigurationError`, e.g. signatures required and no signer), and a ledger
 * closed for good (a closed `Ledger` never reopens). A backend's `STORAGE_CLOSED` is not one of them: the ledger may
 * recover from it (a dead SQLite writer thread falls back to the main connection).
 */
function isPermanent(err: unknown): boolean {
  return err instanceof ValidationError || err instanceof ClosedError || err instanceof ConfigurationError;
}

/** Whether `work` settled within `ms` (it is never cancelled). */
function within(work: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    timer.unref();
    work.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

function positive(v: number | undefined, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${what} must be a positive number`);
  return v;
}

/** Log failures to stderr at most every 10 s, with a count, so a down ledger does not flood the logs. */
function defaultOnError(): NonNullable<AuditorOptions['onError']> {
  let last = 0;
  let suppressed = 0;
  return (err, info) => {
    const now = Date.now();
    if (now - last < 10_000) {
      suppressed++;
      return;
    }
    last = now;
    const more = suppressed ? ` (${suppressed} more since the last report)` : '';
    suppressed = 0;
    console.error(
      `signledger: audit entry not written (${info.reason}): ${(err as Error)?.message ?? err}${more}`,
    );
  };
}
