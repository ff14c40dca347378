import { type Job, QueueEvents } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { auditedWorker, auditQueue } from '../../src/integrations/bullmq/index.js';
import type { AuditFailureInfo } from '../../src/integrations/shared/auditor.js';
import { redisUrl } from '../servers.js';
import { bullmqFixture } from './bullmq-fixture.js';
import { until } from './helpers.js';

const REDIS = redisUrl('bullmq.test.ts');

describe.skipIf(!REDIS)('bullmq: auditedWorker against real Redis', () => {
  const { connection, cleanups, setup } = bullmqFixture(REDIS, 'signledger-test');

  it('records start, result and failure of each job, redacted, in one valid chain', async () => {
    const { t, queue, name } = await setup();
    const produced = auditQueue(queue, { ledger: t.ledger, data: ['orderId'] });
    const worker = auditedWorker(
      name,
      async (job: Job<{ orderId: string; cardNumber: string; fail?: boolean }>) => {
        if (job.data.fail) throw new Error(`payment declined for ${job.data.orderId}`);
        return { status: 'shipped', orderId: job.data.orderId, apiToken: 'carrier-t0k3n-v4lue' };
      },
      {
        ledger: t.ledger,
        connection: connection(),
        concurrency: 4,
        audit: { data: true, actor: (job) => job.data.orderId },
      },
    );
    cleanups.push(() => worker.close());
    const events = new QueueEvents(name, { connection: connection() });
    cleanups.push(() => events.close());
    await events.waitUntilReady();

    const settled = new Set<string>();
    worker.on('completed', (job) => settled.add(job.id!));
    worker.on('failed', (job) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) settled.add(job.id!);
    });
    for (let i = 0; i < 3; i++)
      await produced.add('order', { orderId: `ORD-${i}`, cardNumber: '4111111111111111' });
    await produced.add(
      'order',
      { orderId: 'ORD-X', cardNumber: '4111111111111111', fail: true },
      { attempts: 2 },
    );
    await until(() => settled.size === 4, 'all jobs to settle');
    await worker.close();
    await produced.auditor.flush();

    const entries = await t.ledger.getEntries();
    const by = (ev: string) => entries.filter((e) => e.data?.event === ev).map((e) => e.data!);
    expect(by('job_enqueued')).toHaveLength(4);
    expect(by('job_enqueued')[0]).toEqual(
      expect.objectContaining({ queue: name, jobName: 'order', data: { orderId: 'ORD-0' } }),
    );
    expect(by('job_started')).toHaveLength(5);
    expect(by('job_completed')).toHaveLength(3);
    const completed = by('job_completed').find((d) => d.actor === 'ORD-1')!;
    expect(completed.result).toEqual({ status: 'shipped', orderId: 'ORD-1', apiToken: '[REDACTED]' });
    const failed = by('job_failed');
    expect(failed.map((d) => [d.attempt, d.willRetry])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(failed[0]!.error).toEqual({ name: 'Error', message: 'payment declined for ORD-X' });
    const started = by('job_started').find((d) => d.actor === 'ORD-0')!;
    expect(started.data).toEqual({ orderId: 'ORD-0', cardNumber: '[REDACTED]' });
    const text = JSON.stringify(entries);
    expect(text).not.toContain('4111111111111111');
    expect(text).not.toContain('carrier-t0k3n-v4lue');
    await expect(t.ledger.verifyIntegrity()).resolves.toBe(true);
  });

  it('keeps processing jobs while the ledger is down and writes the queued entries once it is back', async () => {
    const { t, queue, name } = await setup();
    const errors: AuditFailureInfo[] = [];
    const worker = auditedWorker(name, async (job: Job<{ n: number }>) => job.data.n * 2, {
      ledger: t.ledger,
      connection: connection(),
      audit: { onError: (_e, info) => errors.push(info), retryIntervalMs: 60_000 },
    });
    cleanups.push(() => worker.close());
    const done: number[] = [];
    worker.on('completed', (_job, r) => done.push(r as number));
    t.flaky.down = true;
    for (let i = 0; i < 5; i++) await queue.add('double', { n: i });
    await until(() => done.length === 5, 'jobs to complete');
    expect(done.sort()).toEqual([0, 2, 4, 6, 8]);
    await worker.auditor.flush();
    expect(worker.auditor.pending).toBe(10);
    expect(errors.length).toBeGreaterThanOrEqual(10);
    expect((await t.ledger.getStats()).totalEntries).toBe(0);
    t.flaky.down = false;
    await worker.close();
    expect(worker.auditor.pending).toBe(0);
    expect((await t.ledger.getStats()).totalEntries).toBe(10);
    await expect(t.ledger.verifyIntegrity()).resolves.toBe(true);
  });
});
