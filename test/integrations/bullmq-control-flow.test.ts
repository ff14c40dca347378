/** BullMQ's control-flow errors move a job without failing it: recorded as what they are (real Redis). */
import { DelayedError, type Job, Queue, UnrecoverableError, WaitingChildrenError, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { type AuditedWorker, auditedWorker } from '../../src/integrations/bullmq/index.js';
import { redisUrl } from '../servers.js';
import { bullmqFixture } from './bullmq-fixture.js';
import { type TestLedger, until } from './helpers.js';

const REDIS = redisUrl('bullmq-control-flow.test.ts');

describe.skipIf(!REDIS)('bullmq: control-flow errors', () => {
  const { connection, cleanups, setup } = bullmqFixture(REDIS, 'signledger-cf');

  async function events(t: TestLedger): Promise<Record<string, unknown>[]> {
    return (await t.ledger.getEntries()).map((e) => e.data as Record<string, unknown>);
  }

  it('UnrecoverableError: job_failed with willRetry false, although attempts remain', async () => {
    const { t, queue, name } = await setup();
    const worker = auditedWorker(
      name,
      async () => {
        throw new UnrecoverableError('card permanently declined');
      },
      { ledger: t.ledger, connection: connection() },
    );
    cleanups.push(() => worker.close());
    let failed = 0;
    worker.on('failed', () => failed++);
    await queue.add('pay', {}, { attempts: 3 });
    await until(() => failed === 1, 'the job to fail');
    await worker.auditor.flush();
    const e = await events(t);
    expect(e.map((d) => d.event)).toEqual(['job_started', 'job_failed']);
    expect(e[1]).toMatchObject({ willRetry: false, error: { name: 'UnrecoverableError' } });
    // BullMQ agrees: it did not retry.
    await new Promise((r) => setTimeout(r, 200));
    expect(failed).toBe(1);
    expect((await events(t)).length).toBe(2);
  });

  it('DelayedError (moveToDelayed step pattern): job_delayed, then the next step completes', async () => {
    const { t, queue, name } = await setup();
    const worker = auditedWorker(
      name,
      async (job: Job<{ step: number }>, token) => {
        if (job.data.step === 1) {
          await job.updateData({ step: 2 });
          await job.moveToDelayed(Date.now() + 50, token);
          throw new DelayedError();
        }
        return 'done';
      },
      { ledger: t.ledger, connection: connection() },
    );
    cleanups.push(() => worker.close());
    let completed = 0;
    worker.on('completed', () => completed++);
    await queue.add('steps', { step: 1 });
    await until(() => completed === 1, 'the job to complete');
    await worker.auditor.flush();
    const e = await events(t);
    expect(e.map((d) => d.event)).toEqual(['job_started', 'job_delayed', 'job_started', 'job_completed']);
    expect(e[1]).not.toHaveProperty('error');
    expect(e.some((d) => d.event === 'job_failed')).toBe(false);
  });

  it('WaitingChildrenError: job_waiting_children', async () => {
    const { t, queue, name } = await setup();
    const childQueue = new Queue(`${name}-children`, { connection: connection() });
    cleanups.push(async () => {
      await childQueue.obliterate({ force: true });
      await childQueue.close();
    });
    let moved = 0;
    const worker = auditedWorker(
      name,
      async (job: Job, token) => {
        await childQueue.add('child', {}, { parent: { id: job.id!, queue: job.queueQualifiedName } });
        if (await job.moveToWaitingChildren(token!)) {
          moved++;
          throw new WaitingChildrenError();
        }
        return 'no children';
      },
      { ledger: t.ledger, connection: connection() },
    );
    cleanups.push(() => worker.close());
    await queue.add('parent', {});
    await until(() => moved === 1, 'the parent to wait for its child');
    await until(async () => (await events(t)).length === 2, 'two entries');
    const e = await events(t);
    expect(e.map((d) => d.event)).toEqual(['job_started', 'job_waiting_children']);
  });

  it('RateLimitError (worker.rateLimit + Worker.RateLimitError()): job_rate_limited, then completes', async () => {
    const { t, queue, name } = await setup();
    let limited = false;
    const worker: AuditedWorker<unknown, string> = auditedWorker(
      name,
      async () => {
        if (!limited) {
          limited = true;
          await worker.rateLimit(50);
          throw Worker.RateLimitError();
        }
        return 'ok';
      },
      { ledger: t.ledger, connection: connection() },
    );
    cleanups.push(() => worker.close());
    let completed = 0;
    worker.on('completed', () => completed++);
    await queue.add('limited', {});
    await until(() => completed === 1, 'the job to complete');
    await worker.auditor.flush();
    const e = await events(t);
    expect(e.map((d) => d.event)).toEqual([
      'job_started',
      'job_rate_limited',
      'job_started',
      'job_completed',
    ]);
  });
});
