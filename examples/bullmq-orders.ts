/**
 * The seed's Celery order task as a BullMQ worker on Redis: each job's start, result and failure is
 * recorded in the ledger by `auditedWorker`, enqueues by `auditQueue`.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx examples/bullmq-orders.ts
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { auditedWorker, auditQueue } from '../src/integrations/bullmq/index.js';
import { openLedger } from '../src/open.js';

interface Order {
  order_id: string;
  items: number;
  customer: string;
}

/** The seed's handle_order. */
async function handleOrder(job: Job<Order>) {
  if (job.data.items <= 0) throw new Error(`order ${job.data.order_id} has no items`);
  return { status: 'fulfilled', order_id: job.data.order_id, processed_at: new Date().toISOString() };
}

export async function main(
  options: { redisUrl?: string; ledgerUrl?: string; log?: (line: string) => void } = {},
) {
  const log = options.log ?? console.log;
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? process.env.SIGNLEDGER_TEST_REDIS_URL;
  if (!redisUrl) throw new Error('set REDIS_URL (redis://host:port)');
  const u = new URL(redisUrl);
  const connection = {
    host: u.hostname,
    port: Number(u.port || 6379),
    password: u.password || undefined,
    maxRetriesPerRequest: null,
  };
  const ledger = await openLedger(
    options.ledgerUrl ?? `sqlite:${join(mkdtempSync(join(tmpdir(), 'signledger-orders-')), 'orders.db')}`,
  );
  const name = `orders-${randomUUID().slice(0, 8)}`;
  const queue = new Queue<Order>(name, { connection });
  const events = new QueueEvents(name, { connection });
  const worker = auditedWorker(name, handleOrder, {
    ledger,
    connection,
    concurrency: 2,
    audit: { actor: (job) => (job.data as Order).customer },
  });
  try {
    await events.waitUntilReady();
    const orders = auditQueue(queue, { ledger, data: ['order_id', 'items'] });
    const jobs = [
      await orders.add('process_order', { order_id: 'ORD-1001', items: 3, customer: 'alice' }),
      await orders.add('process_order', { order_id: 'ORD-1002', items: 1, customer: 'bob' }),
      await orders.add('process_order', { order_id: 'ORD-1003', items: 0, customer: 'carol' }),
    ];
    const outcomes = await Promise.all(
      jobs.map((j) =>
        j.waitUntilFinished(events).then(
          (r) => ({ id: j.id, ok: true, r }),
          (e: Error) => ({ id: j.id, ok: false, r: e.message }),
        ),
      ),
    );
    for (const o of outcomes) log(`job ${o.id}: ${o.ok ? 'completed' : 'failed'} ${JSON.stringify(o.r)}`);
    await worker.close(); // also flushes the worker's audit entries
    await orders.auditor.flush();
    const entries = await ledger.getEntries();
    for (const e of entries)
      log(
        ` #${e.index} ${e.data?.event} job ${e.data?.jobId}${e.data?.error ? ` (${(e.data.error as { message: string }).message})` : ''}`,
      );
    await ledger.verifyIntegrity();
    log('Ledger integrity: VALID');
    return { outcomes, events: entries.map((e) => e.data?.event as string) };
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    await ledger.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
