/**
 * Parallel verification on Redis: worker threads open their own client (the backend's
 * parallelScanSpec) and must reach exactly the main thread's verdicts, reading rows as the id and
 * time indexes see them as the main thread does.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { redisKeys } from '../../src/backends/redis/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { dropRedisPrefix, redisTamper } from '../conformance/factories/redis.js';
import { redisUrl } from '../servers.js';

const URL = redisUrl('redis-parallel-verify.test.ts');
const prefix = `sltest:parv${process.pid}:`;
afterAll(async () => {
  if (URL) await dropRedisPrefix(prefix);
});

describe.skipIf(!URL)('redis: parallel verification', () => {
  it('workers read their own segments and agree with the main thread, tampered or not', {
    timeout: 120_000,
  }, async () => {
    await dropRedisPrefix(prefix);
    const backend = new RedisBackend({ url: URL, prefix, onWarning: () => {} });
    const ledger = new Ledger({ backend });
    await ledger.open();
    // Three worker segments (at least 8,192 entries each).
    for (let i = 0; i < 20_000; i += 2_000)
      await ledger.appendBatch(
        Array.from({ length: 2_000 }, (_, j) => ({ i: i + j, user: `u${(i + j) % 5}` })),
      );
    expect(backend.parallelScanSpec()).toEqual({
      kind: 'redis',
      connection: { url: URL },
      prefix,
      name: 'default',
    });

    const par = { parallel: 2, parallelThreshold: 1 } as const;
    const ok = await ledger.verify(par);
    expect(ok).toMatchObject({ ok: true, threads: 2, entriesChecked: 20_000 });
    expect(ok.rootHash).toBe((await ledger.verify({ parallel: false })).rootHash);

    // A moved score in the time index (no hash covers it) is seen by the workers too.
    const c = new Redis(URL!);
    await c.zadd(redisKeys(prefix, 'default').times, 1, '12345');
    c.disconnect();
    let [seq, parallel] = [await ledger.verify({ parallel: false }), await ledger.verify(par)];
    expect(seq.failure).toMatchObject({ kind: 'column_mismatch', index: 12_345 });
    expect(parallel.threads).toBe(2);
    expect(parallel.failure).toEqual(seq.failure);

    // An edit earlier, in another segment: the first failure in log order, both ways.
    await redisTamper(prefix).updateEntry(9_001, { data: JSON.stringify({ i: 9_001, user: 'mallory' }) });
    [seq, parallel] = [await ledger.verify({ parallel: false }), await ledger.verify(par)];
    expect(seq.failure).toMatchObject({ kind: 'data_mismatch', index: 9_001 });
    expect(parallel.failure).toEqual(seq.failure);
    await ledger.close();
  });

  it('offers no worker spec for a client handed in (its settings are unknown), nor before open', async () => {
    const client = new Redis(URL!, { autoResendUnfulfilledCommands: false });
    const backend = new RedisBackend({ client, prefix, onWarning: () => {} });
    expect(new RedisBackend({ url: URL, prefix }).parallelScanSpec()).toBeNull();
    const ledger = new Ledger({ backend, name: 'client' });
    await ledger.open();
    expect(backend.parallelScanSpec()).toBeNull();
    await ledger.close();
    client.disconnect();
  });
});
