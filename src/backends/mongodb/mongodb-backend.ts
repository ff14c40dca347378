import type { ClientSession, Collection, Db, Document, MongoClient, MongoClientOptions } from 'mongodb';
import type { StoredEntry } from '../../entry/types.js';
import {
  AlreadyErasedError,
  CommitOutcomeUnknownError,
  ConfigurationError,
  ConflictError,
  type IntegrityFailure,
  SignLedgerError,
  StorageError,
} from '../../errors.js';
import { EMPTY_ROOT } from '../../merkle/hash.js';
import {
  rightEdgeTiles,
  strayTile,
  strayTileFailure,
  type Tile,
  type TileKey,
  tileKeyString,
} from '../../merkle/tiles.js';
import {
  type AppendBatch,
  type AppendContext,
  type Head,
  type LedgerMeta,
  outsideLogFailure,
  type RangeQuery,
  type StorageBackend,
  type StorageStats,
  type StoredCheckpoint,
  type StructuredQuery,
} from '../../storage/backend.js';
import { assertLedgerName } from '../sqlite/schema.js';
import {
  assertCollectionName,
  DEFAULT_MAX_BSON_OBJECT_SIZE,
  type EntryDoc,
  fitDocument,
  fromDoc,
  matchesWhere,
  resolveDatabaseName,
  toBuffer,
  toDoc,
  whereConditions,
  whereFilter,
} from './documents.js';
import { loadMongo, type MongoModule } from './driver.js';

export interface MongoDBBackendOptions {
  host?: string;
  port?: number;
  /** `mongodb://host:27017/?replicaSet=rs0` or `mongodb+srv://…`. */
  url?: string;
  /** Bring your own connected MongoClient; the backend never closes it. */
  client?: MongoClient;
  /** Database name (default: the URL's database path, else `signledger`). */
  database?: string;
  /** Entries collection (default `signledger_entries`); heads, tiles and checkpoints use it as a prefix. */
  collection?: string;
  clientOptions?: MongoClientOptions;
  /**
   * Give up on an append after this long losing write conflicts, and on a commit whose outcome stays
   * unknown after this long (default 90 s: above the server's default `transactionLifetimeLimitSeconds`
   * of 60 s, after which the open transaction of a crashed writer is aborted and stops blocking).
   */
  maxRetryMs?: number;
}

/** Default `maxRetryMs`: longer than MongoDB's default 60 s transaction lifetime limit. */
export const DEFAULT_MAX_RETRY_MS = 90_000;
/** `$getField` (used by `where`) needs MongoDB 5.0, wire version 13. */
export const MIN_WIRE_VERSION = 13;
/** Durable writes everywhere: acknowledged by a majority, in their journals. */
const WRITE_CONCERN = { w: 'majority' as const, journal: true };
const TXN_OPTIONS = {
  readConcern: { level: 'snapshot' as const },
  writeConcern: WRITE_CONCERN,
  readPreference: 'primary' as const,
};

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
/** Entry reads never need the parsed copy. */
const READ_ENTRY = { promoteBuffers: true, projection: { q: 0 } } as const;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Errors from the driver or its BSON layer (the only errors the backend rewraps as StorageError). */
export function isDriverError(err: unknown): err is Error & { code?: unknown } {
  if (!(err instanceof Error) || err instanceof SignLedgerError) return false;
  return (
    typeof (err as { hasErrorLabel?: unknown }).hasErrorLabel === 'function' || /^(Mongo|BSON)/.test(err.name)
  );
}

function hasLabel(err: unknown, label: string): boolean {
  const f = (err as { hasErrorLabel?: (l: string) => boolean } | null)?.hasErrorLabel;
  return typeof f === 'function' && f.call(err, label) === true;
}

/** Duplicate key (11000; 11001 and 12582 are legacy forms). */
function isDuplicateKey(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 11000 || code === 11001 || code === 12582;
}

/**
 * What append does with an error thrown inside its transaction:
 * - retry: a lost compare-and-swap or a driver error labelled TransientTransactionError (write
 *   conflict, transaction aborted by the server); the transaction was not applied.
 * - inconsistent: a duplicate key after the head compare-and-swap succeeded in a snapshot transaction:
 *   entries exist at or past the head, i.e. the store is corrupt; retrying cannot help.
 * - wrap: any other driver error, rethrown as StorageError (cause kept).
 * - rethrow: everything else unchanged: signledger errors (StorageError, IntegrityError,
 *   ValidationError…) and errors from the `build` callback (e.g. the sequencer's PartialGroupError).
 */
export function classifyAppendError(err: unknown): 'retry' | 'inconsistent' | 'wrap' | 'rethrow' {
  if (err instanceof ConflictError) return 'retry';
  if (!isDriverError(err)) return 'rethrow';
  if (hasLabel(err, 'TransientTransactionError')) return 'retry';
  if (isDuplicateKey(err)) return 'inconsistent';
  return 'wrap';
}

/** Whether commitTransaction may be retried: the server did not say whether the commit applied. */
export function isUnknownCommitResult(err: unknown): boolean {
  return hasLabel(err, 'UnknownTransactionCommitResult');
}

/** What `open` needs of the server: transactions (replica set or mongos) and MongoDB ≥ 5.0. */
export function checkServer(hello: Document): { maxBsonObjectSize: number } {
  if (!hello.setName && hello.msg !== 'isdbgrid') {
    throw new StorageError(
      'MongoDBBackend needs transactions: connect to a replica set or sharded cluster (a one-node replica set, `mongod --replSet rs0` + `rs.initiate()`, is enough)',
      { code: 'STORAGE_INCOMPATIBLE' },
    );
  }
  const wire = hello.maxWireVersion;
  if (typeof wire !== 'number' || wire < MIN_WIRE_VERSION) {
    throw new StorageError(
      `MongoDBBackend needs MongoDB 5.0 or later (wire version ${MIN_WIRE_VERSION}); the server reports wire version ${String(wire)}`,
      { code: 'STORAGE_INCOMPATIBLE' },
    );
  }
  const max = hello.maxBsonObjectSize;
  return {
    maxBsonObjectSize: typeof max === 'number' && max > 0 ? max : DEFAULT_MAX_BSON_OBJECT_SIZE,
  };
}

/**
 * MongoDB through the official driver. Each append is one multi-document transaction that first
 * compare-and-swaps the ledger's head document (a concurrent writer gets a write conflict and
 * retries on the new head); a unique index on (ledger, index) makes a duplicate index impossible even
 * so. Transactions need a replica set or sharded cluster (a one-node replica set is enough) running
 * MongoDB 5.0 or later.
 */
export class MongoDBBackend implements StorageBackend {
  readonly kind = 'mongodb';
  private readonly options: MongoDBBackendOptions;
  private readonly collectionName: string;
  private readonly databaseName: string;
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
  private maxBsonObjectSize = DEFAULT_MAX_BSON_OBJECT_SIZE;
  private bson: MongoModule['BSON'] | null = null;

  constructor(options: MongoDBBackendOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ConfigurationError('MongoDBBackend takes an options object');
    this.options = { ...options };
    this.collectionName = assertCollectionName(options.collection ?? 'signledger_entries');
    this.databaseName = resolveDatabaseName(options);
    if (
      options.maxRetryMs !== undefined &&
      (typeof options.maxRetryMs !== 'number' ||
        !Number.isFinite(options.maxRetryMs) ||
        options.maxRetryMs < 0)
    )
      throw new ConfigurationError('maxRetryMs must be a finite number of milliseconds >= 0');
  }

  /** The database this backend uses (option `database`, else the URL's path, else `signledger`). */
  get database(): string {
    return this.databaseName;
  }

  async open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    if (this.closed) throw new StorageError('the MongoDB backend is closed', { code: 'STORAGE_CLOSED' });
    assertLedgerName(name);
    const mongo = await loadMongo();
    this.bson = mongo.BSON;
    if (!this.client) {
      if (this.options.client) {
        this.client = this.options.client;
      } else {
        const url =
          this.options.url ?? `mongodb://${this.options.host ?? '127.0.0.1'}:${this.options.port ?? 27017}`;
        let client: MongoClient;
        try {
          client = new mongo.MongoClient(url, this.options.clientOptions ?? {});
          await client.connect();
        } catch (err) {
          throw new StorageError(`cannot connect to MongoDB: ${(err as Error).message}`, { cause: err });
        }
        if (this.closed) {
          await client.close().catch(() => {});
          throw new StorageError('the MongoDB backend is closed', { code: 'STORAGE_CLOSED' });
        }
        this.client = client;
        this.ownsClient = true;
      }
    }
    try {
      const db: Db = this.client.db(this.databaseName);
      const hello = await db.admin().command({ hello: 1 }, { readPreference: 'primary' });
      this.maxBsonObjectSize = checkServer(hello).maxBsonObjectSize;
      const n = this.collectionName;
      // Heads and tiles are read on the primary (they are what appends build on); every write is
      // majority + journal. Entry and checkpoint reads follow the client's read preference.
      const primary = { readPreference: 'primary' as const, writeConcern: WRITE_CONCERN };
      const c = {
        entries: db.collection<EntryDoc>(n, { writeConcern: WRITE_CONCERN }),
        heads: db.collection<HeadDoc>(`${n}_heads`, primary),
        tiles: db.collection<TileDoc>(`${n}_tiles`, primary),
        checkpoints: db.collection<CheckpointDoc>(`${n}_checkpoints`, { writeConcern: WRITE_CONCERN }),
      };
      await c.entries.createIndexes([
        { key: { l: 1, i: 1 }, unique: true, name: 'ledger_index' },
        { key: { l: 1, id: 1 }, unique: true, name: 'ledger_id' },
        { key: { l: 1, ts: 1 }, name: 'ledger_ts' },
      ]);
      await c.tiles.createIndex({ l: 1 }, { name: 'ledger' });
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
      if (err instanceof SignLedgerError) throw err;
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

  private closedError(cause?: unknown): StorageError {
    return new StorageError('the MongoDB backend was closed', { code: 'STORAGE_CLOSED', cause });
  }

  /** Exact BSON size of a document as the driver will serialize it. */
  private sizeOf = (doc: EntryDoc): number => {
    if (!this.bson) throw new StorageError('the MongoDB backend is not open', { code: 'STORAGE_CLOSED' });
    return this.bson.calculateObjectSize(doc as unknown as Document);
  };

  /**
   * One transaction per attempt: read head and edge tiles (snapshot, primary), build, convert and
   * size-check the documents, compare-and-swap the head, insert entries, upsert tiles, erase, commit.
   * See classifyAppendError for what is retried; retries stop after `maxRetryMs` with ConflictError.
   */
  async append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    const col = this.col;
    const l = this.ledgerName;
    const maxRetryMs = this.options.maxRetryMs ?? DEFAULT_MAX_RETRY_MS;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const client = this.client;
      if (this.closed || !client) throw this.closedError();
      let session: ClientSession;
      try {
        session = client.startSession();
      } catch (err) {
        if (this.closed) throw this.closedError(err);
        throw new StorageError(`MongoDB append failed: ${(err as Error).message}`, { cause: err });
      }
      let committing = false;
      try {
        session.startTransaction(TXN_OPTIONS);
        const hd = await col.heads.findOne({ _id: l }, { ...READ, session });
        if (!hd) throw new StorageError('the head document is missing: the store is corrupt');
        const head = MongoDBBackend.head(hd);
        const keys = rightEdgeTiles(head.size);
        const edgeTiles = await this.tilesOf(keys, session);
        if (edgeTiles.length !== keys.length)
          throw new StorageError('right-edge tiles are missing: the store is corrupt');
        const batch = await build({ head, edgeTiles });
        batch.entries.forEach((e, i) => {
          if (e.index !== head.size + i)
            throw new StorageError(`entry index ${e.index} is not contiguous with head ${head.size}`);
        });
        // Everything that can be done without the head is done before taking it: once the head is
        // swapped, every other writer gets write conflicts until this transaction ends.
        const docs = batch.entries.map((e) => fitDocument(toDoc(l, e), this.maxBsonObjectSize, this.sizeOf));
        const erase = [...new Set(batch.erase)];
        const h = batch.head;
        const u = await col.heads.updateOne(
          { _id: l, size: head.size, last: head.lastHash },
          { $set: { size: h.size, last: h.lastHash, frontier: h.frontier, root: h.rootHash } },
          { session },
        );
        if (u.matchedCount !== 1) throw new ConflictError();
        if (docs.length) await col.entries.insertMany(docs, { session, ordered: true, checkKeys: false });
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
        if (erase.length) {
          // Another writer's redaction moved the head too, so reaching here (the head compare-and-swap
          // held, in this snapshot) means what this reads is current.
          const gone = await col.entries
            .find({ l, i: { $in: erase }, d: null }, { session, projection: { i: 1 } })
            .toArray();
          if (gone.length) throw new AlreadyErasedError(gone.map((x) => x.i).sort((a, b) => a - b));
          // `q.data` can only be set where `q` is an object ($set on a path through null fails),
          // so entries without a parsed copy are erased by a second update.
          const withCopy = await col.entries.updateMany(
            { l, i: { $in: erase }, q: { $type: 'object' } },
            { $set: { d: null, s: null, 'q.data': null } },
            { session },
          );
          const withoutCopy = await col.entries.updateMany(
            { l, i: { $in: erase }, q: { $not: { $type: 'object' } } },
            { $set: { d: null, s: null, q: null } },
            { session },
          );
          if (withCopy.matchedCount + withoutCopy.matchedCount !== erase.length)
            throw new StorageError('cannot erase a missing entry');
        }
        committing = true;
        await this.commitWithRetry(session, maxRetryMs);
        return batch;
      } catch (err) {
        if (!committing && session.inTransaction()) await session.abortTransaction().catch(() => {});
        if (err instanceof CommitOutcomeUnknownError) throw err;
        if (this.closed) {
          if (committing)
            throw new CommitOutcomeUnknownError(
              'the MongoDB backend was closed while an append was committing: the entries may or may not be stored',
              { cause: err },
            );
          throw this.closedError(err);
        }
        switch (classifyAppendError(err)) {
          case 'rethrow':
            throw err;
          case 'wrap':
            throw new StorageError(`MongoDB append failed: ${(err as Error).message}`, { cause: err });
          case 'inconsistent':
            throw new StorageError(
              'the MongoDB store is inconsistent: an entry already exists at or past the head (duplicate key after the head compare-and-swap); verify the ledger',
              { cause: err, details: { keyValue: (err as { keyValue?: unknown }).keyValue ?? null } },
            );
          case 'retry':
            break;
        }
        if (Date.now() - started > maxRetryMs) {
          throw new ConflictError(`gave up after ${attempt + 1} write conflicts in ${maxRetryMs} ms`, {
            cause: err,
          });
        }
        await sleep(Math.random() * Math.min(50, 2 ** Math.min(attempt, 6)));
      } finally {
        await session.endSession().catch(() => {});
      }
    }
  }

  /**
   * Commit, retrying only while the outcome is unknown (`UnknownTransactionCommitResult`: retrying a
   * commit is safe, the server applies it once). After `maxRetryMs` of that: CommitOutcomeUnknownError.
   * Any other commit error means the transaction did not commit (TransientTransactionError: retried
   * as a whole by append).
   */
  private async commitWithRetry(session: ClientSession, maxRetryMs: number): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await session.commitTransaction();
        return;
      } catch (err) {
        if (!isUnknownCommitResult(err)) throw err;
        if (this.closed || Date.now() - started > maxRetryMs) {
          throw new CommitOutcomeUnknownError(
            `the MongoDB commit outcome is unknown after ${attempt + 1} attempts: the entries may or may not be stored (${(err as Error).message})`,
            { cause: err },
          );
        }
        await sleep(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)));
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

  /**
   * The head's size: reads return rows below it only. An append moves rows and head in one
   * transaction, so a document past the head was put there behind the library's back (verify()
   * reports it, see auditStore). The head only grows, so reading it first never hides a row.
   */
  private async headSize(): Promise<number> {
    // Only the size: the frontier and root are not needed to bound a read.
    const d = await this.col.heads.findOne({ _id: this.ledgerName }, { projection: { size: 1 } });
    if (!d || !Number.isSafeInteger(d.size))
      throw new StorageError('the head document is missing: the store is corrupt');
    return d.size;
  }

  /** A document stored outside [0, head) (reads skip them; verify() reads from 0, so never sees one below). */
  async auditStore(): Promise<IntegrityFailure | null> {
    // Tiles where the tree has none (verify() compares the tiles that should exist). The tile keys
    // are read before the head: tiles and head grow together, so every tile read is in that head.
    const tiles = await this.col.tiles
      .find({ l: this.ledgerName }, { projection: { lv: 1, i: 1 } })
      .toArray();
    const size = await this.headSize();
    const stray = strayTile(
      tiles.map((d) => ({ level: d.lv, index: d.i })),
      size,
    );
    if (stray) return strayTileFailure(stray, size);
    // The lowest such index (FORMAT.md §2.6): findOne alone returns any match.
    const lowest = { ...READ_ENTRY, sort: { i: 1 } } as const;
    const d =
      (await this.col.entries.findOne({ l: this.ledgerName, i: { $lt: 0 } }, lowest)) ??
      (await this.col.entries.findOne({ l: this.ledgerName, i: { $gte: size } }, lowest));
    if (!d) return null;
    return outsideLogFailure(d.i, 'an entry');
  }

  async getByIndex(index: number): Promise<StoredEntry | null> {
    if (!Number.isSafeInteger(index) || index < 0 || index >= (await this.headSize())) return null;
    const d = await this.col.entries.findOne({ l: this.ledgerName, i: index }, READ_ENTRY);
    return d ? fromDoc(d) : null;
  }

  async getById(id: string): Promise<StoredEntry | null> {
    if (typeof id !== 'string') return null;
    const size = await this.headSize();
    const d = await this.col.entries.findOne(
      { l: this.ledgerName, id, i: { $gte: 0, $lt: size } },
      READ_ENTRY,
    );
    return d ? fromDoc(d) : null;
  }

  private async rangeFilter(q: RangeQuery): Promise<Record<string, unknown>> {
    const filter: Record<string, unknown> = { l: this.ledgerName };
    const size = await this.headSize();
    const i: Record<string, number> = {
      $gte: Math.max(0, q.fromIndex ?? 0),
      $lt: Math.min(size, q.toIndex ?? size),
    };
    filter.i = i;
    const ts: Record<string, number> = {};
    if (q.startMs !== undefined) ts.$gte = q.startMs;
    if (q.endMs !== undefined) ts.$lte = q.endMs;
    if (Object.keys(ts).length) filter.ts = ts;
    return filter;
  }

  async getRange(q: RangeQuery): Promise<StoredEntry[]> {
    if (q.limit === 0) return [];
    let cur = this.col.entries
      .find(await this.rangeFilter(q), READ_ENTRY)
      .sort({ l: 1, i: q.order === 'desc' ? -1 : 1 })
      .skip(q.offset ?? 0);
    if (q.limit !== undefined) cur = cur.limit(q.limit);
    return (await cur.toArray()).map(fromDoc);
  }

  /**
   * `where` narrows the rows read in the database (whereFilter: exact on entries with a parsed copy,
   * plus every entry without one); each row is then checked with the ledger's own semantics and
   * offset/limit are applied here, after that check, so pages are never short or shifted.
   */
  async query(q: StructuredQuery): Promise<StoredEntry[]> {
    const where = q.where ?? {};
    const candidates = whereFilter(where);
    if (candidates === null) return this.getRange(q);
    const conds = whereConditions(where);
    if (q.limit === 0) return [];
    const limit = q.limit ?? Number.POSITIVE_INFINITY;
    let skip = q.offset ?? 0;
    const out: StoredEntry[] = [];
    const cur = this.col.entries
      .find({ ...(await this.rangeFilter(q)), ...candidates }, READ_ENTRY)
      .sort({ l: 1, i: q.order === 'desc' ? -1 : 1 });
    try {
      for await (const d of cur) {
        const row = fromDoc(d);
        if (!matchesWhere(row, conds)) continue;
        if (skip > 0) {
          skip--;
          continue;
        }
        out.push(row);
        if (out.length >= limit) break;
      }
    } finally {
      await cur.close().catch(() => {});
    }
    return out;
  }

  async *scan(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {},
  ): AsyncIterable<StoredEntry[]> {
    const chunk = Math.max(1, options.chunkSize ?? 5000);
    let i = Math.max(0, options.fromIndex ?? 0);
    // Rows up to the head as it is when the scan starts (a snapshot of the log's length).
    const size = await this.headSize();
    const to = Math.min(options.toIndex ?? size, size);
    for (;;) {
      const docs = await this.col.entries
        .find({ l: this.ledgerName, i: { $gte: i, $lt: to } }, READ_ENTRY)
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
    // Entries of the log only: documents outside [0, head) are not part of it (auditStore reports them).
    const inLog = { l, i: { $gte: 0, $lt: await this.headSize() } };
    const [agg] = await col.entries
      .aggregate<{ n: number; bytes: number }>([
        { $match: inLog },
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
    const first = await col.entries.find(inLog, READ_ENTRY).sort({ l: 1, i: 1 }).limit(1).toArray();
    const last = await col.entries.find(inLog, READ_ENTRY).sort({ l: 1, i: -1 }).limit(1).toArray();
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

export { CommitOutcomeUnknownError };
