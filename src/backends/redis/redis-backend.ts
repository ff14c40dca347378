import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredEntry } from '../../entry/types.js';
import { ConfigurationError, ConflictError, StorageError } from '../../errors.js';
import { EMPTY_ROOT } from '../../merkle/hash.js';
import { rightEdgeTiles, type Tile, type TileKey, tileKeyString } from '../../merkle/tiles.js';
import type {
  AppendBatch,
  AppendContext,
  Head,
  LedgerMeta,
  RangeQuery,
  StorageBackend,
  StorageStats,
  StoredCheckpoint,
} from '../../storage/backend.js';
import { COMMIT_LUA, CREATE_LUA } from './commit-script.js';
import { loadIORedis, type RedisClient } from './driver.js';
import { assertKeyPrefix, commitKeys, type RedisKeys, redisKeys } from './keys.js';

export interface RedisBackendOptions {
  host?: string;
  port?: number;
  password?: string;
  username?: string;
  db?: number;
  /** `redis://[:password@]host:6379/0` or `rediss://…` for TLS. */
  url?: string;
  /** Bring your own ioredis client; the backend never closes it. */
  client?: RedisClient;
  /** Prefix of every key (default `signledger:`). */
  prefix?: string;
  /** Give up on an append after this long losing compare-and-swap races (default 30 s). */
  maxRetryMs?: number;
}

const COMMIT_SHA = createHash('sha1').update(COMMIT_LUA).digest('hex');

/** Entry row halves as stored: the committed part never changes, the data part is deleted on redaction. */
type EntryJson = [string, number, string, string, string | null];
type DataJson = [string | null, string | null];

function decode(index: number, e: string, d: string | null): StoredEntry {
  const [id, ts, hash, body, sigs] = JSON.parse(e) as EntryJson;
  const [data, salt] = d === null ? [null, null] : (JSON.parse(d) as DataJson);
  return {
    index,
    id,
    timestampMs: ts,
    hash: Buffer.from(hash, 'hex'),
    body,
    data,
    salt: salt === null ? null : Buffer.from(salt, 'hex'),
    signatures: sigs,
  };
}

export function encodeEntry(e: StoredEntry): { entry: string; data: string } {
  const entry = JSON.stringify([
    e.id,
    e.timestampMs,
    e.hash.toString('hex'),
    e.body,
    e.signatures,
  ] satisfies EntryJson);
  const data =
    e.data === null && e.salt === null
      ? ''
      : JSON.stringify([e.data, e.salt === null ? null : e.salt.toString('hex')] satisfies DataJson);
  return { entry, data };
}

export function encodeTile(t: Tile): Buffer {
  const w = Buffer.alloc(2);
  w.writeUInt16BE(t.width);
  return Buffer.concat([w, t.hashes]);
}

function decodeTile(k: TileKey, b: Buffer): Tile {
  return { level: k.level, index: k.index, width: b.readUInt16BE(0), hashes: Buffer.from(b.subarray(2)) };
}

/**
 * Redis through ioredis. Entries, tiles and the head live in hashes under one hash tag per ledger;
 * every append commits through one Lua script that compares the head and writes everything
 * atomically, so many processes can append and the loser of a race rebuilds on the new head.
 * Durability is Redis's: use AOF with `appendfsync always` for an audit log (docs/BACKENDS.md).
 */
export class RedisBackend implements StorageBackend {
  readonly kind = 'redis';
  private readonly options: RedisBackendOptions;
  private readonly prefix: string;
  private client: RedisClient | null = null;
  private ownsClient = false;
  private k: RedisKeys | null = null;
  private closed = false;

  constructor(options: RedisBackendOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ConfigurationError('RedisBackend takes an options object');
    this.options = { ...options };
    this.prefix = assertKeyPrefix(options.prefix ?? 'signledger:');
  }

  async open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    if (this.closed) throw new StorageError('the Redis backend is closed', { code: 'STORAGE_CLOSED' });
    const k = redisKeys(this.prefix, name);
    if (!this.client) {
      if (this.options.client) {
        this.client = this.options.client;
      } else {
        const Redis = await loadIORedis();
        const o = this.options;
        const base = {
          ...(o.password !== undefined ? { password: o.password } : {}),
          ...(o.username !== undefined ? { username: o.username } : {}),
          ...(o.db !== undefined ? { db: o.db } : {}),
          lazyConnect: true,
        };
        const client = o.url
          ? new Redis(o.url, base)
          : new Redis({ host: o.host ?? '127.0.0.1', port: o.port ?? 6379, ...base });
        client.on('error', () => {});
        this.client = client;
        this.ownsClient = true;
        try {
          await client.connect();
        } catch (err) {
          throw new StorageError(`cannot connect to Redis: ${(err as Error).message}`, { cause: err });
        }
      }
    }
    const client = this.client;
    try {
      const existing = await client.get(k.meta);
      const text =
        existing ??
        ((await client.eval(CREATE_LUA, 2, k.meta, k.head, JSON.stringify(create()), EMPTY_ROOT)) as string);
      this.k = k;
      return JSON.parse(text) as LedgerMeta;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`cannot open Redis ledger ${JSON.stringify(name)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private get c(): RedisClient {
    if (!this.client || !this.k || this.closed)
      throw new StorageError('the Redis backend is not open', { code: 'STORAGE_CLOSED' });
    return this.client;
  }

  /** The ledger's keys (after open); tests tamper through them. */
  get keys(): RedisKeys {
    this.c;
    return this.k!;
  }

  /** The ioredis client in use. */
  get connection(): RedisClient {
    return this.c;
  }

  /** The head and its right-edge tiles as one consistent snapshot (tiles read in MULTI with the head). */
  private async headAndTiles(): Promise<{ head: Head; edgeTiles: Tile[] }> {
    let head = await this.readHead();
    for (;;) {
      const keys = rightEdgeTiles(head.size);
      const k = this.k!;
      const tx = this.c.multi();
      if (keys.length) tx.hmgetBuffer(k.tiles, ...keys.map(tileKeyString));
      tx.hgetallBuffer(k.head);
      const res = await tx.exec();
      if (!res) throw new StorageError('Redis transaction failed');
      for (const [err] of res)
        if (err) throw new StorageError(`Redis read failed: ${err.message}`, { cause: err });
      const now = RedisBackend.parseHead(res[res.length - 1]![1] as Record<string, Buffer>);
      if (now.size !== head.size || now.lastHash !== head.lastHash) {
        head = now;
        continue;
      }
      const blobs = keys.length ? (res[0]![1] as (Buffer | null)[]) : [];
      const edgeTiles: Tile[] = [];
      keys.forEach((key, i) => {
        const b = blobs[i];
        if (b) edgeTiles.push(decodeTile(key, b));
      });
      if (edgeTiles.length !== keys.length)
        throw new StorageError('right-edge tiles are missing: the store is corrupt');
      return { head: now, edgeTiles };
    }
  }

  async append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    const started = Date.now();
    const limit = this.options.maxRetryMs ?? 30_000;
    for (let attempt = 0; ; attempt++) {
      const { head, edgeTiles } = await this.headAndTiles();
      const batch = await build({ head, edgeTiles });
      const r = await this.commit(head, batch);
      if (r === 1) return batch;
      if (r === -1) throw new StorageError('cannot erase a missing entry');
      if (r === -2) throw new StorageError('the head is missing: the store is corrupt');
      if (Date.now() - started > limit)
        throw new ConflictError(`gave up after ${attempt + 1} lost compare-and-swap races`);
      // Another writer won: back off a random moment so that contenders spread out, then rebuild.
      await sleep(Math.random() * Math.min(20, 2 ** Math.min(attempt, 5)));
    }
  }

  private async commit(head: Head, batch: AppendBatch): Promise<number> {
    const args: (string | Buffer | number)[] = [
      String(head.size),
      head.lastHash ?? '',
      String(batch.head.size),
      batch.head.lastHash ?? '',
      batch.head.frontier,
      batch.head.rootHash,
      batch.entries.length,
    ];
    batch.entries.forEach((e, i) => {
      if (e.index !== head.size + i)
        throw new StorageError(`entry index ${e.index} is not contiguous with head ${head.size}`);
      const { entry, data } = encodeEntry(e);
      args.push(String(e.index), e.id, String(e.timestampMs), entry, data);
    });
    args.push(batch.tiles.length);
    for (const t of batch.tiles) args.push(tileKeyString(t), encodeTile(t));
    args.push(batch.erase.length, ...batch.erase.map(String));
    const keys = commitKeys(this.k!);
    const c = this.c;
    try {
      return Number(await c.evalsha(COMMIT_SHA, keys.length, ...keys, ...args));
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) {
        throw new StorageError(`Redis commit failed: ${(err as Error).message}`, { cause: err });
      }
      return Number(await c.eval(COMMIT_LUA, keys.length, ...keys, ...args));
    }
  }

  private static parseHead(h: Record<string, Buffer>): Head {
    if (!h.size) throw new StorageError('the head is missing: the store is corrupt');
    return {
      size: Number(h.size.toString()),
      lastHash: h.last && h.last.length > 0 ? h.last.toString() : null,
      frontier: h.frontier ?? Buffer.alloc(0),
      rootHash: h.root ?? Buffer.alloc(0),
    };
  }

  async readHead(): Promise<Head> {
    return RedisBackend.parseHead(await this.c.hgetallBuffer(this.k!.head));
  }

  async readTiles(keys: readonly TileKey[]): Promise<Tile[]> {
    if (keys.length === 0) return [];
    const r = await this.c.hmgetBuffer(this.k!.tiles, ...keys.map(tileKeyString));
    const out: Tile[] = [];
    keys.forEach((k, i) => {
      const b = r[i];
      if (b) out.push(decodeTile(k, b));
    });
    return out;
  }

  /** Rows at the given indexes (missing ones skipped), in the given order. */
  private async fetch(indexes: readonly number[]): Promise<StoredEntry[]> {
    if (indexes.length === 0) return [];
    const fields = indexes.map(String);
    const k = this.k!;
    const res = await this.c
      .pipeline()
      .hmget(k.entries, ...fields)
      .hmget(k.data, ...fields)
      .exec();
    if (!res) throw new StorageError('Redis pipeline failed');
    for (const [err] of res)
      if (err) throw new StorageError(`Redis read failed: ${err.message}`, { cause: err });
    const es = res[0]![1] as (string | null)[];
    const ds = res[1]![1] as (string | null)[];
    const out: StoredEntry[] = [];
    indexes.forEach((idx, i) => {
      const e = es[i];
      if (e) out.push(decode(idx, e, ds[i] ?? null));
    });
    return out;
  }

  async getByIndex(index: number): Promise<StoredEntry | null> {
    return (await this.fetch([index]))[0] ?? null;
  }

  async getById(id: string): Promise<StoredEntry | null> {
    const idx = await this.c.hget(this.k!.ids, id);
    if (idx === null) return null;
    const row = (await this.fetch([Number(idx)]))[0];
    return row && row.id === id ? row : null;
  }

  async getRange(q: RangeQuery): Promise<StoredEntry[]> {
    const size = (await this.readHead()).size;
    const from = Math.max(0, q.fromIndex ?? 0);
    const to = Math.min(size, q.toIndex ?? size);
    const offset = q.offset ?? 0;
    const limit = q.limit ?? Number.POSITIVE_INFINITY;
    const desc = q.order === 'desc';
    if (limit <= 0 || to <= from) return [];
    let indexes: number[];
    if (q.startMs !== undefined || q.endMs !== undefined) {
      // The time index gives candidates; order by index and page in JS.
      const lo = q.startMs === undefined ? '-inf' : String(q.startMs);
      const hi = q.endMs === undefined ? '+inf' : String(q.endMs);
      indexes = (await this.c.zrangebyscore(this.k!.times, lo, hi))
        .map(Number)
        .filter((i) => i >= from && i < to)
        .sort((a, b) => (desc ? b - a : a - b));
      indexes = indexes.slice(offset, offset + Math.min(limit, indexes.length));
    } else {
      const n = Math.max(0, Math.min(limit, to - from - offset));
      indexes = Array.from({ length: n }, (_, i) => (desc ? to - 1 - offset - i : from + offset + i));
    }
    const out: StoredEntry[] = [];
    for (let i = 0; i < indexes.length; i += 5000)
      out.push(...(await this.fetch(indexes.slice(i, i + 5000))));
    return out;
  }

  async *scan(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {},
  ): AsyncIterable<StoredEntry[]> {
    const chunk = Math.max(1, options.chunkSize ?? 5000);
    let i = Math.max(0, options.fromIndex ?? 0);
    const range = (from: number, to: number) =>
      Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
    let size = (await this.readHead()).size;
    // Read one chunk ahead so the database round trip overlaps the caller's work on the last chunk.
    let next: Promise<StoredEntry[]> | null = null;
    for (;;) {
      const to = Math.min(options.toIndex ?? size, size);
      if (i >= to) {
        if (options.toIndex !== undefined) return;
        const grown = (await this.readHead()).size;
        if (grown <= size) return;
        size = grown;
        continue;
      }
      const stop = Math.min(i + chunk, to);
      const rows = await (next ?? this.fetch(range(i, stop)));
      next = null;
      const after = Math.min(stop + chunk, to);
      if (after > stop) next = this.fetch(range(stop, after));
      i = stop;
      if (rows.length) yield rows;
    }
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    const k = this.k!;
    const value = JSON.stringify({
      root: cp.rootHash.toString('hex'),
      note: cp.note,
      created: cp.createdAtMs,
    });
    const added = await this.c.hsetnx(k.checkpoints, String(cp.size), value);
    if (added !== 1) throw new StorageError(`a checkpoint for size ${cp.size} is already stored`);
    await this.c.zadd(k.checkpointSizes, cp.size, String(cp.size));
  }

  private async checkpointsAt(sizes: string[]): Promise<StoredCheckpoint[]> {
    if (sizes.length === 0) return [];
    const r = await this.c.hmget(this.k!.checkpoints, ...sizes);
    const out: StoredCheckpoint[] = [];
    sizes.forEach((s, i) => {
      const v = r[i];
      if (!v) return;
      const o = JSON.parse(v) as { root: string; note: string; created: number };
      out.push({
        size: Number(s),
        rootHash: Buffer.from(o.root, 'hex'),
        note: o.note,
        createdAtMs: o.created,
      });
    });
    return out;
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const s = await this.c.zrange(this.k!.checkpointSizes, '-1', '-1');
    return (await this.checkpointsAt(s))[0] ?? null;
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    return (await this.checkpointsAt([String(size)]))[0] ?? null;
  }

  async listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    if (options.limit === 0) return [];
    const start = options.limit === undefined ? 0 : -options.limit;
    return this.checkpointsAt(await this.c.zrange(this.k!.checkpointSizes, String(start), '-1'));
  }

  async stats(): Promise<StorageStats> {
    const k = this.k!;
    const [n, s, size] = await Promise.all([
      this.c.hlen(k.entries),
      this.c.hgetall(k.stats),
      this.readHead().then((h) => h.size),
    ]);
    const ends = size === 0 ? [] : await this.fetch(size === 1 ? [0] : [0, size - 1]);
    const first = ends.find((r) => r.index === 0);
    const last = ends.find((r) => r.index === size - 1);
    const entryBytes = Number(s.entryBytes ?? 0);
    return {
      entries: n,
      entryBytes,
      uncompressedEntryBytes: entryBytes,
      tileBytes: Number(s.tileBytes ?? 0),
      firstTimestampMs: first?.timestampMs ?? null,
      lastTimestampMs: last?.timestampMs ?? null,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = this.client;
    this.client = null;
    if (c && this.ownsClient) await c.quit().catch(() => c.disconnect());
  }
}
