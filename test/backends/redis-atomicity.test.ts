/**
 * The commit and checkpoint scripts write all or nothing, against the real Redis: every failure
 * condition is checked before the first write (Redis does not roll back a script that errors after a
 * write), rows past the head are never returned as entries, duplicate erasures count once, and a
 * checkpoint is stored and listed in one step.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { encodeEntry } from '../../src/backends/redis/redis-backend.js';
import { StorageError } from '../../src/errors.js';
import { Ledger } from '../../src/index.js';
import { dropRedisPrefix } from '../conformance/factories/redis.js';
import { redisUrl } from '../servers.js';

const URL_ = redisUrl('redis-atomicity.test.ts');

describe.skipIf(!URL_)('Redis: scripts write all or nothing', () => {
  let direct: Redis;
  const prefixes: string[] = [];
  let n = 0;
  async function open(): Promise<{ ledger: Ledger; backend: RedisBackend }> {
    const prefix = `sltest:atom${process.pid}_${n++}:`;
    prefixes.push(prefix);
    const backend = new RedisBackend({ url: URL_!, prefix, onWarning: () => {} });
    const ledger = await Ledger.open({ backend });
    return { ledger, backend };
  }
  /** Everything the commit script may write, to compare before/after a failed append. */
  async function snapshot(b: RedisBackend): Promise<string> {
    const k = b.keys;
    const out: unknown[] = [];
    for (const key of [k.head, k.entries, k.data, k.ids, k.times, k.tiles, k.stats]) {
      const t = await direct.type(key);
      out.push(
        t === 'hash'
          ? await direct
              .hgetallBuffer(key)
              .then((h) => Object.entries(h).map(([f, v]) => [f, v.toString('hex')]))
          : t === 'zset'
            ? await direct.zrange(key, '0', '-1', 'WITHSCORES')
            : t === 'string'
              ? await direct.get(key)
              : t,
      );
    }
    return JSON.stringify(out);
  }

  beforeAll(() => {
    direct = new Redis(URL_!);
  });
  afterAll(async () => {
    for (const p of prefixes) await dropRedisPrefix(p);
    direct.disconnect();
  });

  const wrongTypes: [string, (k: RedisBackend['keys']) => string, 'string' | 'hash' | 'list'][] = [
    ['entries', (k) => k.entries, 'string'],
    ['data', (k) => k.data, 'list'],
    ['ids', (k) => k.ids, 'string'],
    ['times', (k) => k.times, 'hash'],
    ['tiles', (k) => k.tiles, 'string'],
    ['stats', (k) => k.stats, 'string'],
    ['head', (k) => k.head, 'string'],
  ];
  for (const [name, key, as] of wrongTypes) {
    it(`a ${name} key of the wrong type fails the append before any write`, async () => {
      const { ledger, backend } = await open();
      try {
        await ledger.append({ a: 1 });
        const k = key(backend.keys);
        const saved = await direct.dumpBuffer(k);
        await direct.del(k);
        if (as === 'string') await direct.set(k, 'x');
        else if (as === 'list') await direct.rpush(k, 'x');
        else await direct.hset(k, 'x', 'y');
        const before = await snapshot(backend);
        const err = await ledger.append({ a: 2 }).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).code).toBe('STORAGE_FAILED');
        expect(await snapshot(backend)).toBe(before);
        // Repaired, nothing of the failed append shows and the ledger appends and verifies again.
        await direct.del(k);
        if (saved) await direct.restore(k, 0, saved);
        expect(await backend.getByIndex(1)).toBeNull();
        await ledger.append({ a: 3 });
        expect((await ledger.verify()).ok).toBe(true);
      } finally {
        await ledger.close();
      }
    });
  }

  it('a stats counter that is not an integer fails the append before any write', async () => {
    const { ledger, backend } = await open();
    try {
      await ledger.append({ a: 1 });
      await direct.hset(backend.keys.stats, 'entryBytes', 'lots');
      const before = await snapshot(backend);
      await expect(ledger.append({ a: 2 })).rejects.toMatchObject({ code: 'STORAGE_FAILED' });
      expect(await snapshot(backend)).toBe(before);
    } finally {
      await ledger.close();
    }
  });

  it('rows past the head (orphans) are never returned as entries', async () => {
    const { ledger, backend } = await open();
    try {
      const a = await ledger.append({ a: 1 });
      const b = await ledger.append({ a: 2 });
      // Plant b's row again at index 2, beyond the head (size 2), as a failed script used to.
      const row = (await backend.getByIndex(1))!;
      const { entry, data } = encodeEntry({ ...row, index: 2 });
      await direct.hset(backend.keys.entries, '2', entry);
      if (data) await direct.hset(backend.keys.data, '2', data);
      await direct.zadd(backend.keys.times, row.timestampMs, '2');
      await direct.hset(backend.keys.ids, 'orphan-id', '2');
      expect(await backend.getByIndex(2)).toBeNull();
      expect(await backend.getById('orphan-id')).toBeNull();
      expect((await backend.getRange({})).map((r) => r.index)).toEqual([0, 1]);
      expect((await backend.getRange({ startMs: 0 })).map((r) => r.index)).toEqual([0, 1]);
      expect((await backend.getRange({ fromIndex: 0, toIndex: 10 })).map((r) => r.index)).toEqual([0, 1]);
      const scanned: number[] = [];
      for await (const rows of backend.scan({ chunkSize: 1, toIndex: 10 }))
        scanned.push(...rows.map((r) => r.index));
      expect(scanned).toEqual([0, 1]);
      expect((await backend.stats()).entries).toBe(2);
      expect((await ledger.getEntry(a.id))?.index).toBe(0);
      expect((await ledger.getEntry(b.id))?.index).toBe(1);
    } finally {
      await ledger.close();
    }
  });

  it('an index erased twice in one batch is subtracted from the byte counter once', async () => {
    const { ledger, backend } = await open();
    try {
      const e = await ledger.append({ secret: 'x'.repeat(1000) });
      // Two at once: the ledger refuses the second (one record, one erasure).
      const both = await Promise.allSettled([
        ledger.redact(e.id, { reason: 'a' }),
        ledger.redact(e.id, { reason: 'b' }),
      ]);
      expect(both.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
      // And directly: a batch whose erase list repeats the index.
      const e2 = await ledger.append({ secret: 'y'.repeat(500) });
      const inner = backend.append.bind(backend);
      (backend as unknown as { append: typeof inner }).append = (build) =>
        inner(async (ctx) => {
          const batch = await build(ctx);
          return { ...batch, erase: [...batch.erase, ...batch.erase] };
        });
      await ledger.redact(e2.id, { reason: 'c' });
      (backend as unknown as { append: typeof inner }).append = inner;
      const rows = [
        ...Object.values(await direct.hgetall(backend.keys.entries)),
        ...Object.values(await direct.hgetall(backend.keys.data)),
      ];
      const actual = rows.reduce((s, v) => s + Buffer.byteLength(v), 0);
      expect((await backend.stats()).entryBytes).toBe(actual);
      expect((await ledger.verify()).ok).toBe(true);
    } finally {
      await ledger.close();
    }
  });

  it('addCheckpoint stores and lists in one script; an invisible checkpoint left by a crash is listed again', async () => {
    const { ledger, backend } = await open();
    try {
      await ledger.append({ a: 1 });
      const cp = { size: 1, rootHash: Buffer.alloc(32, 1), note: 'note\n', createdAtMs: 5 };
      // The old HSETNX-then-ZADD could stop between the two: stored but never listed.
      const value = JSON.stringify({
        root: cp.rootHash.toString('hex'),
        note: cp.note,
        created: cp.createdAtMs,
      });
      await direct.hset(backend.keys.checkpoints, '1', value);
      expect(await backend.latestCheckpoint()).toBeNull();
      await backend.addCheckpoint(cp); // the same checkpoint: accepted, and now listed
      expect((await backend.latestCheckpoint())?.size).toBe(1);
      expect(await backend.listCheckpoints()).toHaveLength(1);
      await expect(backend.addCheckpoint({ ...cp, note: 'other\n' })).rejects.toMatchObject({
        code: 'STORAGE_FAILED',
      });
      expect((await backend.getCheckpoint(1))?.note).toBe('note\n');
      // A wrong-typed size index fails before the checkpoint is stored.
      await direct.set(backend.keys.checkpointSizes, 'x');
      await expect(backend.addCheckpoint({ ...cp, size: 2 })).rejects.toMatchObject({
        code: 'STORAGE_FAILED',
      });
      expect(await direct.hexists(backend.keys.checkpoints, '2')).toBe(0);
    } finally {
      await ledger.close();
    }
  });
});
