/**
 * Redis rows edited with redis-cli into text that is not what the writer stores, or with only the
 * row's own time changed, are reported by verify() at their index (PostgreSQL reports the same edits),
 * never thrown as a SyntaxError or hidden behind the time index.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { redisKeys } from '../../src/backends/redis/keys.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { dropRedisPrefix } from '../conformance/factories/redis.js';
import { redisUrl } from '../servers.js';

const URL_ = redisUrl('redis-row-tamper.test.ts');
let n = 0;
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await dropRedisPrefix(p);
});

async function edited(
  edit: (c: Redis, k: ReturnType<typeof redisKeys>) => Promise<unknown>,
): Promise<Ledger> {
  const prefix = `sltest:rowt${process.pid}-${n++}:`;
  prefixes.push(prefix);
  const ledger = new Ledger({ backend: new RedisBackend({ url: URL_, prefix, onWarning: () => {} }) });
  for (let i = 0; i < 6; i++) await ledger.append({ i });
  const c = new Redis(URL_!);
  await edit(c, redisKeys(prefix, 'default'));
  c.disconnect();
  return ledger;
}

describe.skipIf(!URL_)('redis: rows edited behind the library', () => {
  it.each([
    [
      'data that is not JSON',
      (c: Redis, k: ReturnType<typeof redisKeys>) => c.hset(k.data, '3', 'garbage'),
      'data_mismatch',
    ],
    [
      'an entry row that is not JSON',
      (c: Redis, k: ReturnType<typeof redisKeys>) => c.hset(k.entries, '3', 'garbage'),
      undefined,
    ],
    [
      "only the row's own time",
      async (c: Redis, k: ReturnType<typeof redisKeys>) => {
        const row = JSON.parse((await c.hget(k.entries, '3'))!) as unknown[];
        row[1] = (row[1] as number) + 86_400_000;
        return c.hset(k.entries, '3', JSON.stringify(row));
      },
      'column_mismatch',
    ],
  ])('%s is reported at its index', async (_n, edit, kind) => {
    const ledger = await edited(edit);
    const report = await ledger.verify();
    expect(report.ok).toBe(false);
    expect(report.failure?.index).toBe(3);
    if (kind) expect(report.failure?.kind).toBe(kind);
    await ledger.close();
  });
});
