/**
 * Redis conformance factory. Each key gets its own key prefix; tampering writes the hashes directly
 * through a separate connection.
 */
import { Redis } from 'ioredis';
import { RedisBackend } from '../../../src/backends/redis/index.js';
import { redisKeys } from '../../../src/backends/redis/keys.js';
import { decodeEntry, encodeEntry, encodeTile } from '../../../src/backends/redis/redis-backend.js';
import type { StoredEntry } from '../../../src/entry/types.js';
import type { BackendFactory, Tamper } from '../harness.js';

const URL_ENV = 'SIGNLEDGER_TEST_REDIS_URL';
const url = process.env[URL_ENV];

export function redisPrefix(key: string): string {
  return `sltest:${key}:`;
}

async function withClient<T>(fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis(url ?? '');
  try {
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

export function redisTamper(prefix: string): Tamper {
  const k = redisKeys(prefix, 'default');
  const read = (c: Redis, i: number) =>
    Promise.all([c.hget(k.entries, String(i)), c.hget(k.data, String(i))]).then(([e, d]) =>
      e === null ? null : decodeEntry(i, e, d),
    );
  const write = async (c: Redis, row: StoredEntry) => {
    const { entry, data } = encodeEntry(row);
    await c.hset(k.entries, String(row.index), entry);
    if (data) await c.hset(k.data, String(row.index), data);
    else await c.hdel(k.data, String(row.index));
    await c.hset(k.ids, row.id, String(row.index));
    await c.zadd(k.times, row.timestampMs, String(row.index));
  };
  const remove = async (c: Redis, i: number) => {
    // Like a careful tamperer: the id index goes too (a leftover one is reported by verify()).
    const row = await read(c, i);
    if (row) await c.hdel(k.ids, row.id);
    await c.hdel(k.entries, String(i));
    await c.hdel(k.data, String(i));
    await c.zrem(k.times, String(i));
  };
  return {
    async updateEntry(index, patch) {
      await withClient(async (c) => {
        const row = await read(c, index);
        if (row) await write(c, { ...row, ...patch });
      });
    },
    async readEntry(index) {
      return withClient((c) => read(c, index));
    },
    async deleteEntry(index) {
      await withClient((c) => remove(c, index));
    },
    async swapEntries(i, j) {
      await withClient(async (c) => {
        const [a, b] = [await read(c, i), await read(c, j)];
        if (a && b) {
          await write(c, { ...b, index: i });
          await write(c, { ...a, index: j });
        }
      });
    },
    async insertEntryAt(index, row) {
      await withClient(async (c) => {
        const n = await c.hlen(k.entries);
        let last = index;
        for (let i = index; i < index + n + 1; i++) if (await c.hexists(k.entries, String(i))) last = i;
        for (let i = last; i >= index; i--) {
          const r = await read(c, i);
          if (r) await write(c, { ...r, index: i + 1 });
        }
        await write(c, { ...row, index });
      });
    },
    async setHead(h) {
      await withClient(async (c) => {
        await c.hset(k.head, 'size', String(h.size), 'frontier', h.frontier, 'root', h.rootHash);
        if (h.lastHash === null) await c.hdel(k.head, 'last');
        else await c.hset(k.head, 'last', h.lastHash);
      });
    },
    async writeTile(level, index, width, hashes) {
      await withClient((c) =>
        c.hset(k.tiles, `${level}/${index}`, encodeTile({ level, index, width, hashes })),
      );
    },
    async deleteAllTiles() {
      await withClient((c) => c.del(k.tiles));
    },
    async deleteAllEntries() {
      await withClient((c) => c.del(k.entries, k.data, k.ids, k.times));
    },
    async updateCheckpoint(size, patch) {
      await withClient(async (c) => {
        const v = await c.hget(k.checkpoints, String(size));
        if (!v) return;
        const o = JSON.parse(v) as { root: string; note: string; created: number };
        if (patch.rootHash) o.root = patch.rootHash.toString('hex');
        if (patch.note) o.note = patch.note;
        await c.hset(k.checkpoints, String(size), JSON.stringify(o));
      });
    },
    async deleteCheckpoints() {
      await withClient((c) => c.del(k.checkpoints, k.checkpointSizes));
    },
  };
}

/** Delete every key under a prefix. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  await withClient(async (c) => {
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await c.del(...keys);
    } while (cursor !== '0');
  });
}

export const factory: BackendFactory = {
  name: 'redis',
  available: Boolean(url),
  skipReason: `${URL_ENV} is not set (run scripts/services.sh start, then source .tmp/services.env)`,
  async open(key) {
    const prefix = redisPrefix(key);
    // The test server runs without AOF on purpose: keep its warning out of the output.
    return { backend: new RedisBackend({ url, prefix, onWarning: () => {} }), tamper: redisTamper(prefix) };
  },
  async cleanup(key) {
    await dropRedisPrefix(redisPrefix(key));
  },
  childEnv(key) {
    return { SIGNLEDGER_TEST_REDIS_URL: url ?? '', LEDGER_BACKEND: 'redis', LEDGER_PREFIX: redisPrefix(key) };
  },
};
