/** Shared set-up of the BullMQ tests: a real Redis connection and a fresh queue and ledger per test. */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterEach } from 'vitest';
import { sqliteLedger, type TestLedger } from './helpers.js';

export function bullmqFixture(redisUrl: string | undefined, prefix: string) {
  const connection = () => {
    const u = new URL(redisUrl!);
    return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
  };
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });
  async function setup(): Promise<{ t: TestLedger; queue: Queue; name: string }> {
    const t = await sqliteLedger();
    const name = `${prefix}-${randomUUID()}`;
    const queue = new Queue(name, { connection: connection() });
    cleanups.push(() => t.cleanup());
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    return { t, queue, name };
  }
  return { connection, cleanups, setup };
}
