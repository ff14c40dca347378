import type { ClientSession, Collection, Db, MongoClient, MongoClientOptions } from 'mongodb';
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
  StructuredQuery,
} from '../../storage/backend.js';
import { assertLedgerName } from '../sqlite/schema.js';
import { assertCollectionName, type EntryDoc, fromDoc, toBuffer, toDoc, whereFilter } from './documents.js';
import { loadMongo } from './driver.js';

export interface MongoDBBackendOptions {
  host?: string;
  port?: number;
  /** `mongodb://host:27017/?replicaSet=rs0` or `mongodb+srv://…`. */
  url?: string;
  /** Bring your own connected MongoClient; the backend never closes it. */
  client?: MongoClient;
  /** Database name (default: the URL's, else `signledger`). */
  database?: string;
  /** Entries collection (default `signledger_entries`); heads, tiles and checkpoints use it as a prefix. */
  collection?: string;
  clientOptions?: MongoClientOptions;
  /** Give up on an append after this long losing write conflicts (default 30 s). */
  maxRetryMs?: number;
}

interface HeadDoc {
  _id: string;
  meta: string;
  size: number;
  last: string | null;
  frontier: Buffer;
  root: Buffer;
}
interface TileDoc {
  _id: string;
  l: string;
  lv: number;
  i: number;
  w: number;
  h: Buffer;
}
interface CheckpointDoc {
  _id: string;
  l: string;
  size: number;
  root: Buffer;
  note: string;
  created: number;
}

const READ = { promoteBuffers: true } as const;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * MongoDB through the official driver. Each append is one multi-document transaction that first
 * compare-and-swaps the ledger's head document (a concurrent writer gets a write conflict and
 * retries on the new head); a unique index on (ledger, index) makes a duplicate index impossible even
 * so. Transactions need a replica set or sharded cluster (a one-node replica set is enough).
 */
export class MongoDBBackend implements StorageBackend {
  readonly kind = 'mongodb';
  private readonly options: MongoDBBackendOptions;
  private readonly collectionName: string;
  private client: MongoClient | null = null;
  private ownsClient = false;
  private name: string | null = null;
  private c: {
    entries: Collection<EntryDoc>;
    heads: Collection<HeadDoc>;
    tiles: Collection<TileDoc>;
    checkpoints: Collection<CheckpointDoc>;
  } | null = null;
  private closed = false;

  constructor(options: MongoDBBackendOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ConfigurationError('MongoDBBackend takes an options object');
    this.options = { ...options };
    this.collectionName = assertCollectionName(options.collection ?? 'signledger_entries');
    if (options.database !== undefined) assertCollectionName(options.database, 'database');
  }

  async open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    if (this.closed) throw new StorageError('the MongoDB backend is closed', { code: 'STORAGE_CLOSED' });
    assertLedgerName(name);
    if (!this.client) {
      if (this.options.client) {
        this.client = this.options.client;
      } else {
        const { MongoClient } = await loadMongo();
        const url =
          this.options.url ?? `mongodb://${this.options.host ?? '127.0.0.1'}:${this.options.port ?? 27017}`;
        const client = new MongoClient(url, this.options.clientOptions ?? {});
        try {
          await client.connect();
        } catch (err) {
          throw new StorageError(`cannot connect to MongoDB: ${(err as Error).message}`, { cause: err });
        }
        this.client = client;
        this.ownsClient = true;
      }
    }
    try {
      const db: Db = this.client.db(this.options.database ?? (this.options.url ? undefined : 'signledger'));
      const hello = (await db.admin().command({ hello: 1 })) as { setName?: string; msg?: string };
      if (!hello.setName && hello.msg !== 'isdbgrid') {
        throw new StorageError(
          'MongoDBBackend needs transactions: connect to a replica set or sharded cluster (a one-node replica set, `mongod --replSet rs0` + `rs.initiate()`, is enough)',
          { code: 'STORAGE_INCOMPATIBLE' },
        );
      }
      const n = this.collectionName;
      const c = {
        entries: db.collection<EntryDoc>(n),
        heads: db.collection<HeadDoc>(`${n}_heads`),
        tiles: db.collection<TileDoc>(`${n}_tiles`),
        checkpoints: db.collection<CheckpointDoc>(`${n}_checkpoints`),
      };
      await c.entries.createIndexes([
        { key: { l: 1, i: 1 }, unique: true, name: 'ledger_index' },
        { key: { l: 1, id: 1 }, unique: true, name: 'ledger_id' },
        { key: { l: 1, ts: 1 }, name: 'ledger_ts' },
      ]);
      await c.checkpoints.createIndex({ l: 1, size: 1 }, { unique: true, name: 'ledger_size' });
      const meta = create();
      await c.heads.updateOne(
        { _id: name },
        {
          $setOnInsert: {
            meta: JSON.stringify(meta),
            size: 0,
            last: null,
            frontier: Buffer.alloc(0),
            root: EMPTY_ROOT,
          },
        },
        { upsert: true },
      );
      const head = await c.heads.findOne({ _id: name }, READ);
      if (!head) throw new StorageError('the head document vanished while opening');
      this.c = c;
      this.name = name;
      return JSON.parse(head.meta) as LedgerMeta;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(
        `cannot open MongoDB ledger ${JSON.stringify(name)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private get col() {
    if (!this.c || !this.name || this.closed)
      throw new StorageError('the MongoDB backend is not open', { code: 'STORAGE_CLOSED' });
    return this.c;
  }

  /** Collections in use (tests tamper through them). */
  get collections() {
    return this.col;
  }

  get ledgerName(): string {
    this.col;
    return this.name!;
  }

  private static head(d: HeadDoc): Head {
    return { size: d.size, lastHash: d.last, frontier: toBuffer(d.frontier), rootHash: toBuffer(d.root) };
  }

  private async tilesOf(keys: readonly TileKey[], session?: ClientSession): Promise<Tile[]> {
    if (keys.length === 0) return [];
    const l = this.ledgerName;
    const docs = await this.col.tiles
      .find({ _id: { $in: keys.map((k) => `${l}/${tileKeyString(k)}`) } }, { ...READ, session })
      .toArray();
    const by = new Map(docs.map((d) => [d._id, d]));
    const out: Tile[] = [];
    for (const k of keys) {
      const d = by.get(`${l}/${tileKeyString(k)}`);
      if (d) out.push({ level: d.lv, index: d.i, width: d.w, hashes: toBuffer(d.h) });
    }
    return out;
  }

  async append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    const col = this.col;
    const l = this.ledgerName;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const session = this.client!.startSession();
      try {
        session.startTransaction({ readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } });
        const hd = await col.heads.findOne({ _id: l }, { ...READ, session });
        if (!hd) throw new StorageError('the head document is missing: the store is corrupt');
        const head = MongoDBBackend.head(hd);
        const keys = rightEdgeTiles(head.size);
        const edgeTiles = await this.tilesOf(keys, session);
        if (edgeTiles.length !== keys.length)
          throw new StorageError('right-edge tiles are missing: the store is corrupt');
        const batch = await build({ head, edgeTiles });
        // Compare-and-swap the head first: a concurrent transaction now gets a write conflict.
        const h = batch.head;
        const u = await col.heads.updateOne(
          { _id: l, size: head.size, last: head.lastHash },
          { $set: { size: h.size, last: h.lastHash, frontier: h.frontier, root: h.rootHash } },
          { session },
        );
        if (u.matchedCount !== 1) throw new ConflictError();
        batch.entries.forEach((e, i) => {
          if (e.index !== head.size + i)
            throw new StorageError(`entry index ${e.index} is not contiguous with head ${head.size}`);
        });
        if (batch.entries.length)
          await col.entries.insertMany(
            batch.entries.map((e) => toDoc(l, e)),
            { session, ordered: true },
          );
        if (batch.tiles.length) {
          await col.tiles.bulkWrite(
            batch.tiles.map((t) => ({
              replaceOne: {
                filter: { _id: `${l}/${tileKeyString(t)}` },
                replacement: {
                  _id: `${l}/${tileKeyString(t)}`,
                  l,
                  lv: t.level,
                  i: t.index,
                  w: t.width,
                  h: t.hashes,
                },
                upsert: true,
              },
            })),
            { session, ordered: false },
          );
        }
        if (batch.erase.length) {
          const r = await col.entries.updateMany(
            { l, i: { $in: batch.erase } },
            { $set: { d: null, s: null, 'q.data': null } },
            { session },
          );
          if (r.matchedCount !== new Set(batch.erase).size)
            throw new StorageError('cannot erase a missing entry');
        }
        await this.commitWithRetry(session);
        return batch;
      } catch (err) {
        if (session.inTransaction()) await session.abortTransaction().catch(() => {});
        const e = err as { hasErrorLabel?: (l: string) => boolean; code?: number };
        const retry =
          err instanceof ConflictError || e.hasErrorLabel?.('TransientTransactionError') || e.code === 11000;
        if (!retry)
          throw err instanceof StorageError
            ? err
            : new StorageError(`MongoDB append failed: ${(err as Error).message}`, { cause: err });
        if (Date.now() - started > (this.options.maxRetryMs ?? 30_000)) {
          throw new ConflictError(`gave up after ${attempt + 1} write conflicts`, { cause: err });
        }
        await sleep(Math.random() * Math.min(20, 2 ** Math.min(attempt, 5)));
      } finally {
        await session.endSession();
      }
    }
  }

  private async commitWithRetry(session: ClientSession): Promise<void> {
    for (;;) {
      try {
        await session.commitTransaction();
        return;
      } catch (err) {
        if (
          (err as { hasErrorLabel?: (l: string) => boolean }).hasErrorLabel?.(
            'UnknownTransactionCommitResult',
          )
        )
          continue;
        throw err;
      }
    }
  }

  async readHead(): Promise<Head> {
    const d = await this.col.heads.findOne({ _id: this.ledgerName }, READ);
    if (!d) throw new StorageError('the head document is missing: the store is corrupt');
    return MongoDBBackend.head(d);
  }

  async readTiles(keys: readonly TileKey[]): Promise<Tile[]> {
    return this.tilesOf(keys);
  }

  async getByIndex(index: number): Promise<StoredEntry | null> {
    const d = await this.col.entries.findOne({ l: this.ledgerName, i: index }, READ);
    return d ? fromDoc(d) : null;
  }

  async getById(id: string): Promise<StoredEntry | null> {
    if (typeof id !== 'string') return null;
    const d = await this.col.entries.findOne({ l: this.ledgerName, id }, READ);
    return d ? fromDoc(d) : null;
  }

  private async find(q: RangeQuery, extra: Record<string, unknown>[]): Promise<StoredEntry[]> {
    if (q.limit === 0) return [];
    const filter: Record<string, unknown> = { l: this.ledgerName };
    const i: Record<string, number> = {};
    if (q.fromIndex !== undefined) i.$gte = q.fromIndex;
    if (q.toIndex !== undefined) i.$lt = q.toIndex;
    if (Object.keys(i).length) filter.i = i;
    const ts: Record<string, number> = {};
    if (q.startMs !== undefined) ts.$gte = q.startMs;
    if (q.endMs !== undefined) ts.$lte = q.endMs;
    if (Object.keys(ts).length) filter.ts = ts;
    if (extra.length) filter.$and = extra;
    let cur = this.col.entries
      .find(filter, READ)
      .sort({ l: 1, i: q.order === 'desc' ? -1 : 1 })
      .skip(q.offset ?? 0);
    if (q.limit !== undefined) cur = cur.limit(q.limit);
    return (await cur.toArray()).map(fromDoc);
  }

  async getRange(q: RangeQuery): Promise<StoredEntry[]> {
    return this.find(q, []);
  }

  async query(q: StructuredQuery): Promise<StoredEntry[]> {
    return this.find(q, whereFilter(q.where ?? {}));
  }

  async *scan(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {},
  ): AsyncIterable<StoredEntry[]> {
    const chunk = Math.max(1, options.chunkSize ?? 5000);
    let i = options.fromIndex ?? 0;
    const to = options.toIndex ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const docs = await this.col.entries
        .find({ l: this.ledgerName, i: { $gte: i, $lt: to } }, READ)
        .sort({ l: 1, i: 1 })
        .limit(chunk)
        .toArray();
      if (docs.length === 0) return;
      yield docs.map(fromDoc);
      i = docs[docs.length - 1]!.i + 1;
      if (docs.length < chunk) return;
    }
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    const l = this.ledgerName;
    try {
      await this.col.checkpoints.insertOne({
        _id: `${l}/${cp.size}`,
        l,
        size: cp.size,
        root: cp.rootHash,
        note: cp.note,
        created: cp.createdAtMs,
      });
    } catch (err) {
      throw new StorageError(`cannot store checkpoint for size ${cp.size}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private static cp(d: CheckpointDoc): StoredCheckpoint {
    return { size: d.size, rootHash: toBuffer(d.root), note: d.note, createdAtMs: d.created };
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const d = await this.col.checkpoints
      .find({ l: this.ledgerName }, READ)
      .sort({ l: 1, size: -1 })
      .limit(1)
      .toArray();
    return d[0] ? MongoDBBackend.cp(d[0]) : null;
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    const d = await this.col.checkpoints.findOne({ l: this.ledgerName, size }, READ);
    return d ? MongoDBBackend.cp(d) : null;
  }

  async listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    if (options.limit === 0) return [];
    let cur = this.col.checkpoints.find({ l: this.ledgerName }, READ).sort({ l: 1, size: -1 });
    if (options.limit !== undefined) cur = cur.limit(options.limit);
    return (await cur.toArray()).map(MongoDBBackend.cp).reverse();
  }

  async stats(): Promise<StorageStats> {
    const l = this.ledgerName;
    const col = this.col;
    const [agg] = await col.entries
      .aggregate<{ n: number; bytes: number }>([
        { $match: { l } },
        {
          $group: {
            _id: null,
            n: { $sum: 1 },
            bytes: {
              $sum: {
                $add: [
                  { $binarySize: '$h' },
                  { $strLenBytes: '$b' },
                  { $strLenBytes: { $ifNull: ['$d', ''] } },
                  { $ifNull: [{ $binarySize: '$s' }, 0] },
                  { $strLenBytes: { $ifNull: ['$g', ''] } },
                  { $strLenBytes: '$id' },
                  16,
                ],
              },
            },
          },
        },
      ])
      .toArray();
    const [tiles] = await col.tiles
      .aggregate<{ b: number }>([
        { $match: { l } },
        { $group: { _id: null, b: { $sum: { $binarySize: '$h' } } } },
      ])
      .toArray();
    const first = await col.entries.find({ l }, READ).sort({ l: 1, i: 1 }).limit(1).toArray();
    const last = await col.entries.find({ l }, READ).sort({ l: 1, i: -1 }).limit(1).toArray();
    return {
      entries: agg?.n ?? 0,
      entryBytes: agg?.bytes ?? 0,
      uncompressedEntryBytes: agg?.bytes ?? 0,
      tileBytes: tiles?.b ?? 0,
      firstTimestampMs: first[0]?.ts ?? null,
      lastTimestampMs: last[0]?.ts ?? null,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const c = this.client;
    this.client = null;
    if (c && this.ownsClient) await c.close();
  }
}
