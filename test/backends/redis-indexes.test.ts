/**
 * Redis keeps two read indexes no hash covers: the id index (id -> index) and the time index (a
 * sorted set scored by time). Edited behind the library's back they would hide or misplace entries
 * in getEntry(id) and time-range reads; verify() must report each edit at the row it affects, and
 * reads must never return an entry whose own time is outside the range asked for.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import type { Entry } from '../../src/entry/types.js';
import { Ledger } from '../../src/index.js';
import { dropRedisPrefix } from '../conformance/factories/redis.js';
import { redisUrl } from '../servers.js';

const URL_ = redisUrl('redis-indexes.test.ts');
const T0 = Date.UTC(2026, 0, 1);

describe.skipIf(!URL_)('Redis: the id and time indexes are checked by verify()', () => {
  let direct: Redis;
  const prefixes: string[] = [];
  let n = 0;
  async function open(): Promise<{ ledger: Ledger; backend: RedisBackend; entries: Entry[] }> {
    const prefix = `sltest:idx${process.pid}_${n++}:`;
    prefixes.push(prefix);
    const backend = new RedisBackend({ url: URL_!, prefix, onWarning: () => {} });
    let i = 0;
    const ledger = await Ledger.open({ backend, maxEntriesMemory: 0, now: () => T0 + 60_000 * i++ });
    const entries: Entry[] = [];
    for (let k = 0; k < 10; k++) entries.push(await ledger.append({ k }));
    return { ledger, backend, entries };
  }

  beforeAll(() => {
    direct = new Redis(URL_!);
  });
  afterAll(async () => {
    for (const p of prefixes) await dropRedisPrefix(p);
    direct.disconnect();
  });

  it('passes on an untouched store', async () => {
    const { ledger } = await open();
    expect((await ledger.verify()).ok).toBe(true);
    await ledger.close();
  });

  it('a moved time score: reads do not return the entry outside its time, verify() names it', async () => {
    const { ledger, backend, entries } = await open();
    // Entry 3 is moved to entry 7's minute: a range read for that minute would return it.
    await direct.zadd(backend.keys.times, String(T0 + 7 * 60_000), '3');
    const minute7 = await ledger.getEntries({
      startTime: new Date(T0 + 7 * 60_000),
      endTime: new Date(T0 + 7 * 60_000),
    });
    expect(minute7.map((e) => e.index)).toEqual([7]);
    const r = await ledger.verify();
    expect(r.ok).toBe(false);
    expect(r.failure?.kind).toBe('column_mismatch');
    expect(r.failure?.index).toBe(3);
    expect(entries[3]!.index).toBe(3);
    await ledger.close();
  });

  it('a time index member deleted (the entry hidden from time ranges) is reported', async () => {
    const { ledger, backend } = await open();
    await direct.zrem(backend.keys.times, '5');
    const r = await ledger.verify();
    expect(r.ok).toBe(false);
    expect(r.failure?.kind).toBe('column_mismatch');
    expect(r.failure?.index).toBe(5);
    await ledger.close();
  });

  it('an id index entry deleted or redirected (the entry hidden from getEntry) is reported', async () => {
    for (const edit of ['delete', 'redirect'] as const) {
      const { ledger, backend, entries } = await open();
      if (edit === 'delete') await direct.hdel(backend.keys.ids, entries[4]!.id);
      else await direct.hset(backend.keys.ids, entries[4]!.id, '6');
      expect(await ledger.getEntry(entries[4]!.id)).toBeNull();
      const r = await ledger.verify();
      expect(r.ok, edit).toBe(false);
      expect(r.failure?.kind).toBe('column_mismatch');
      expect(r.failure?.index).toBe(4);
      await ledger.close();
    }
  });

  it('an extra index entry past the head is reported', async () => {
    const { ledger, backend } = await open();
    await direct.zadd(backend.keys.times, String(T0), '10');
    const r = await ledger.verify();
    expect(r.ok).toBe(false);
    expect(r.failure?.kind).toBe('head_mismatch');
    await ledger.close();
  });
});
