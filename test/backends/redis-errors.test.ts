/**
 * Every client call of the Redis backend fails as a StorageError (STORAGE_FAILED with the ioredis
 * error as cause, STORAGE_CLOSED after close), range arguments are validated, and scan's read-ahead
 * never becomes an unhandled rejection. Against the real Redis.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { StorageError, ValidationError } from '../../src/errors.js';
import { Ledger } from '../../src/index.js';
import { dropRedisPrefix } from '../conformance/factories/redis.js';
import { redisUrl } from '../servers.js';

const URL_ = redisUrl('redis-errors.test.ts');

async function failure(p: Promise<unknown>): Promise<StorageError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  return err as StorageError;
}

describe.skipIf(!URL_)('Redis: errors and arguments', () => {
  let direct: Redis;
  const prefixes: string[] = [];
  let n = 0;
  async function open(): Promise<{ ledger: Ledger; backend: RedisBackend }> {
    const prefix = `sltest:err${process.pid}_${n++}:`;
    prefixes.push(prefix);
    const backend = new RedisBackend({ url: URL_!, prefix, onWarning: () => {} });
    const ledger = await Ledger.open({ backend });
    for (let i = 0; i < 5; i++) await ledger.append({ i });
    return { ledger, backend };
  }
  beforeAll(() => {
    direct = new Redis(URL_!);
  });
  afterAll(async () => {
    for (const p of prefixes) await dropRedisPrefix(p);
    direct.disconnect();
  });

  it('raw ioredis errors come out as STORAGE_FAILED with the cause kept', async () => {
    const { ledger, backend } = await open();
    const k = backend.keys;
    try {
      const calls: [string, () => Promise<unknown>][] = [
        [k.times, () => backend.getRange({ startMs: 0 })],
        [k.ids, () => backend.getById('x')],
        [k.tiles, () => backend.readTiles([{ level: 0, index: 0 }])],
        [k.checkpointSizes, () => backend.latestCheckpoint()],
        [k.checkpointSizes, () => backend.listCheckpoints()],
        [k.checkpoints, () => backend.getCheckpoint(1)],
        [k.entries, () => backend.getByIndex(0)],
        [k.entries, () => backend.stats()],
        [k.head, () => backend.readHead()],
      ];
      for (const [key, call] of calls) {
        const saved = await direct.dumpBuffer(key);
        await direct.del(key);
        await direct.set(key, 'wrong type');
        const err = await failure(call());
        expect(err.code).toBe('STORAGE_FAILED');
        expect(String((err.cause as Error).message)).toMatch(/WRONGTYPE/);
        await direct.del(key);
        if (saved) await direct.restore(key, 0, saved);
      }
      expect((await ledger.verify()).ok).toBe(true);
    } finally {
      await ledger.close();
    }
  });

  it('calls after close fail with STORAGE_CLOSED', async () => {
    const { ledger, backend } = await open();
    await ledger.close();
    for (const call of [
      () => backend.readHead(),
      () => backend.getByIndex(0),
      () => backend.getRange({}),
      () => backend.stats(),
      () => backend.latestCheckpoint(),
      () =>
        backend.append(() => {
          throw new Error('not reached');
        }),
    ]) {
      expect((await failure(call())).code).toBe('STORAGE_CLOSED');
    }
  });

  it('a connection closed under a read fails it as a StorageError instead of hanging', async () => {
    const { ledger, backend } = await open();
    try {
      const p = backend.getRange({});
      backend.connection.disconnect();
      const err = await failure(p);
      expect(['STORAGE_FAILED', 'STORAGE_CLOSED']).toContain(err.code);
    } finally {
      await ledger.close();
    }
  });

  it('validates offset, limit, times and indexes', async () => {
    const { ledger, backend } = await open();
    try {
      for (const q of [
        { offset: -1 },
        { offset: 1.5 },
        { limit: -1 },
        { limit: Number.NaN },
        { startMs: Number.NaN },
        { endMs: Number.POSITIVE_INFINITY },
        { fromIndex: 0.5 },
        { toIndex: Number.NaN },
      ]) {
        await expect(backend.getRange(q)).rejects.toBeInstanceOf(ValidationError);
      }
      await expect(backend.listCheckpoints({ limit: 1.5 })).rejects.toBeInstanceOf(ValidationError);
      await expect(backend.listCheckpoints({ limit: -1 })).rejects.toBeInstanceOf(ValidationError);
      expect(await backend.getByIndex(-1)).toBeNull();
      expect(await backend.getByIndex(0.5)).toBeNull();
      expect(await backend.getCheckpoint(-1)).toBeNull();
      // Valid pages still work, with a time filter too.
      expect((await backend.getRange({ offset: 1, limit: 2 })).map((r) => r.index)).toEqual([1, 2]);
      expect((await backend.getRange({ startMs: 0, offset: 3, order: 'desc' })).map((r) => r.index)).toEqual([
        1, 0,
      ]);
      expect(await backend.getRange({ startMs: 0, offset: 99 })).toEqual([]);
      expect(await backend.getRange({ startMs: 10, endMs: 5 })).toEqual([]);
    } finally {
      await ledger.close();
    }
  });

  it("scan's read-ahead failing after the caller stopped is not an unhandled rejection", async () => {
    const { ledger, backend } = await open();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      for await (const rows of backend.scan({ chunkSize: 1 })) {
        expect(rows).toHaveLength(1);
        // The read-ahead of the next chunk is in flight: kill the connection under it and stop.
        backend.connection.disconnect();
        break;
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await ledger.close();
    }
  });
});
