/**
 * `signledger/bullmq` (BullMQ 6, the Celery of Node): a Worker that records each job's start, result and
 * failure, and a queue wrapper that records enqueues.
 *
 *   const worker = auditedWorker('orders', processor, { ledger, connection });
 *   await worker.close();   // also flushes the audit queue
 */
import {
  type ConnectionOptions,
  type Job,
  type JobsOptions,
  type Processor,
  type Queue,
  Worker,
  type WorkerOptions,
} from 'bullmq';
import type { Ledger } from '../../ledger/ledger.js';
import { Auditor, type AuditorOptions } from '../shared/auditor.js';
import { type Actor, errorSummary } from '../shared/request-audit.js';
import { cappedValue, SecretPolicy } from '../shared/secrets.js';

export interface JobAuditOptions extends AuditorOptions {
  /** Record `job.data`: `true` or an allow-list of top-level fields. Default `false` (payloads often hold PII). */
  data?: boolean | readonly string[];
  /** Record the processor's return value: `true` (default), an allow-list, or `false`. */
  result?: boolean | readonly string[];
  /** Names added to the deny-list for data and results. */
  redact?: readonly string[];
  /** Who the job acts for (e.g. `job.data.userId`). */
  actor?: (job: Job) => Actor;
  /** Largest recorded data/result in bytes of JSON (default 16 KiB). */
  maxBytes?: number;
  /**
   * Record the failed job's error message (default `true`): first 500 characters, scrubbed with the
   * deny-list. `false` records the error's name only.
   */
  errorMessages?: boolean;
  /** Share one Auditor between workers. */
  auditor?: Auditor;
}

export type AuditedWorkerOptions = Omit<WorkerOptions, 'connection'> & {
  ledger: Ledger;
  connection: ConnectionOptions;
  audit?: JobAuditOptions;
};

export type AuditedWorker<D = unknown, R = unknown, N extends string = string> = Worker<D, R, N> & {
  auditor: Auditor;
};

class JobAudit {
  readonly auditor: Auditor;
  private readonly policy: SecretPolicy;
  constructor(
    ledger: Ledger,
    private readonly queue: string,
    private readonly opts: JobAuditOptions,
  ) {
    this.auditor = opts.auditor ?? new Auditor(ledger, opts);
    this.policy = new SecretPolicy(opts.redact ?? []);
  }

  private base(event: string, job: Job): Record<string, unknown> {
    let actor: string | null = null;
    try {
      const a = this.opts.actor?.(job);
      actor = a === null || a === undefined ? null : String(a);
    } catch {
      actor = null;
    }
    return {
      event,
      queue: this.queue,
      jobId: job.id ?? null,
      jobName: job.name,
      attempt: job.attemptsMade + 1,
      actor,
      at: new Date().toISOString(),
    };
  }

  private pick(value: unknown, pick: boolean | readonly string[] | undefined): unknown {
    if (pick === undefined || pick === false || value === undefined) return undefined;
    return cappedValue(this.policy, value, pick, this.opts.maxBytes ?? 16_384);
  }

  /**
   * Build the entry and append it; waits (at most `awaitTimeoutMs`) in await mode. Never rejects and
   * never throws: auditing cannot change the outcome of a job or an enqueue.
   */
  private async write(event: string, job: Job, build: () => Record<string, unknown>): Promise<void> {
    try {
      let data: Record<string, unknown>;
      try {
        data = { ...this.base(event, job), ...build() };
      } catch (err) {
        data = {
          event,
          queue: this.queue,
          jobId: safe(() => job.id ?? null),
          buildError: { name: err instanceof Error ? err.name : 'Error' },
        };
      }
      for (const k of Object.keys(data)) if (data[k] === undefined) delete data[k];
      await this.auditor.commit(data);
    } catch {
      // Auditing never changes the outcome of the audited work.
    }
  }

  started(job: Job): Promise<void> {
    return this.write('job_started', job, () => ({ data: this.pick(job.data, this.opts.data) }));
  }

  completed(job: Job, result: unknown, ms: number): Promise<void> {
    return this.write('job_completed', job, () => ({
      durationMs: Math.round(ms * 1000) / 1000,
      result: this.pick(result, this.opts.result ?? true),
    }));
  }

  /**
   * What the processor threw: a failure (`job_failed`), or one of BullMQ's control-flow errors, which
   * move the job without failing it (`job_delayed`, `job_waiting_children`, `job_waiting`,
   * `job_rate_limited`).
   */
  failed(job: Job, err: unknown, ms: number): Promise<void> {
    const durationMs = Math.round(ms * 1000) / 1000;
    const control = controlFlowEvent(err);
    if (control) return this.write(control, job, () => ({ durationMs }));
    return this.write('job_failed', job, () => ({
      durationMs,
      error: errorSummary(err, this.policy, this.opts.errorMessages !== false),
      // BullMQ never retries an UnrecoverableError, whatever `attempts` says.
      willRetry: !isNamed(err, 'UnrecoverableError') && job.attemptsMade + 1 < (job.opts?.attempts ?? 1),
    }));
  }

  enqueued(job: Job): Promise<void> {
    return this.write('job_enqueued', job, () => ({ attempt: 0, data: this.pick(job.data, this.opts.data) }));
  }
}

/**
 * A BullMQ Worker whose processor is wrapped: `job_started` before it runs, then `job_completed` with the
 * (redacted) result or `job_failed` with the error. A ledger failure never fails the job; entries wait in
 * `worker.auditor`'s retry queue. `worker.close()` also flushes that queue.
 */
export function auditedWorker<D = unknown, R = unknown, N extends string = string>(
  queueName: string,
  processor: Processor<D, R, N>,
  options: AuditedWorkerOptions,
): AuditedWorker<D, R, N> {
  if (typeof processor !== 'function') throw new TypeError('auditedWorker needs a processor function');
  const { ledger, connection, audit: auditOpts, ...workerOpts } = options;
  const audit = new JobAudit(ledger, queueName, auditOpts ?? {});
  // The audit calls never reject, and `completed` runs outside the processor's try: an audit problem
  // can neither fail a successful job nor hide a failed one.
  const wrapped: Processor<D, R, N> = async (job, token, signal) => {
    const t0 = performance.now();
    await audit.started(job as unknown as Job);
    let result: R;
    try {
      result = await processor(job, token, signal);
    } catch (err) {
      await audit.failed(job as unknown as Job, err, performance.now() - t0);
      throw err;
    }
    await audit.completed(job as unknown as Job, result, performance.now() - t0);
    return result;
  };
  const worker = new Worker<D, R, N>(queueName, wrapped, { ...(workerOpts as WorkerOptions), connection });
  const close = worker.close.bind(worker);
  worker.close = async (force?: boolean) => {
    await close(force);
    await audit.auditor.close();
  };
  return Object.assign(worker, { auditor: audit.auditor });
}

/** BullMQ matches its errors by class or by name (several copies of bullmq may be loaded). */
function isNamed(err: unknown, name: string): boolean {
  return err instanceof Error && err.name === name;
}

/** The message of BullMQ's RateLimitError (`Worker.RateLimitError()`), which the worker matches on. */
const RATE_LIMIT_MESSAGE = 'bullmq:rateLimitExceeded';

/** The event for a BullMQ control-flow error (the job moved, not failed), or undefined for a failure. */
function controlFlowEvent(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.message === RATE_LIMIT_MESSAGE || err.name === 'RateLimitError') return 'job_rate_limited';
  if (err.name === 'DelayedError') return 'job_delayed';
  if (err.name === 'WaitingChildrenError') return 'job_waiting_children';
  if (err.name === 'WaitingError') return 'job_waiting';
  return undefined;
}

function safe<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch {
    return null;
  }
}

export interface AuditedQueue<D = unknown, R = unknown, N extends string = string> {
  readonly queue: Queue<D, R, N>;
  readonly auditor: Auditor;
  /** `queue.add` that also records `job_enqueued` (job id, name, optionally redacted data). */
  add(name: N, data: D, opts?: JobsOptions): Promise<Job<D, R, N>>;
}

/** Record enqueues on the producer side; the worker records the rest. */
export function auditQueue<D = unknown, R = unknown, N extends string = string>(
  queue: Queue<D, R, N>,
  options: JobAuditOptions & { ledger: Ledger },
): AuditedQueue<D, R, N> {
  const { ledger, ...auditOpts } = options;
  const audit = new JobAudit(ledger, queue.name, auditOpts);
  return {
    queue,
    auditor: audit.auditor,
    async add(name, data, opts) {
      // BullMQ's Queue generics are conditional types; the wrapper keeps the plain ones.
      const add = queue.add.bind(queue) as unknown as (n: N, d: D, o?: JobsOptions) => Promise<Job<D, R, N>>;
      const job = await add(name, data, opts);
      // Never rejects: the job is enqueued, so the caller must get it even if auditing fails.
      await audit.enqueued(job as unknown as Job);
      return job;
    },
  };
}

export { type AuditFailureInfo, Auditor, type AuditorOptions } from '../shared/auditor.js';
