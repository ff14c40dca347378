import { Compressor } from '../../compression/compressor.js';
import { TextCodec } from '../../compression/text-codec.js';
import { HASH_LENGTHS } from '../../crypto/hash.js';
import type { StoredEntry } from '../../entry/types.js';
import {
  AlreadyErasedError,
  ConfigurationError,
  ConflictError,
  type IntegrityFailure,
  StorageError,
} from '../../errors.js';
import { EMPTY_ROOT } from '../../merkle/hash.js';
import {
  rightEdgeTiles,
  strayTile,
  strayTileFailure,
  TILE_WIDTH,
  type Tile,
  type TileKey,
  tileBlobLength,
  tileKeyString,
} from '../../merkle/tiles.js';
import {
  type AppendBatch,
  type AppendContext,
  emptyHead,
  type Head,
  type LedgerMeta,
  type RangeQuery,
  type StorageBackend,
  type StorageStats,
  type StoredCheckpoint,
} from '../../storage/backend.js';
import { Columns, rowBytes } from './columns.js';

/** One row as stored (texts compressed when the backend compresses): what the test hooks read and write. */
export type MemoryRow = StoredEntry;

interface LedgerState {
  meta: LedgerMeta;
  cols: Columns;
  tiles: Map<string, StoredTile>;
  head: Head;
  checkpoints: StoredCheckpoint[];
  bytes: number;
  /** Bytes the compressed texts would take uncompressed, minus their stored size (stats). */
  packedSavings: number;
  codec: TextCodec | null;
}

/**
 * Compressed texts are kept as their frame's bytes in a latin1 string. A frame starts with its
 * algorithm code (0-5), a control character that canonical JSON text never starts with.
 */
function isFrame(s: string | null): s is string {
  return s !== null && s.length > 0 && s.charCodeAt(0) < 0x20;
}

function unpack(c: TextCodec | null, s: string | null): string | null {
  if (!c || !isFrame(s)) return s;
  return c.decode(Buffer.from(s, 'latin1'));
}

function unpackRow(r: StoredEntry, c: TextCodec | null): StoredEntry {
  if (c) {
    r.body = unpack(c, r.body)!;
    r.data = unpack(c, r.data);
    r.signatures = unpack(c, r.signatures);
  }
  return r;
}

function newColumns(meta: LedgerMeta, codec: TextCodec | null): Columns {
  return new Columns(HASH_LENGTHS[meta.hashAlgorithm], meta.ledgerId, codec === null);
}

/**
 * A stored tile; `slot` is a full-size buffer its growing versions are copied into, so each append
 * batch rewrites the right-edge tiles without allocating (tiles written by tests have none).
 */
interface StoredTile extends Tile {
  slot?: Buffer;
}

const FULL_TILE_BYTES = tileBlobLength(TILE_WIDTH);

function storeTile(tiles: Map<string, StoredTile>, t: Tile): void {
  const key = tileKeyString(t);
  const len = t.hashes.length;
  let slot = tiles.get(key)?.slot;
  if (!slot || slot.length < len) slot = Buffer.allocUnsafe(Math.max(len, FULL_TILE_BYTES));
  slot.set(t.hashes);
  const hashes = slot.length === len ? slot : slot.subarray(0, len);
  tiles.set(key, { level: t.level, index: t.index, width: t.width, hashes, slot });
}

function copyTile(t: Tile): Tile {
  return { level: t.level, index: t.index, width: t.width, hashes: Buffer.from(t.hashes) };
}

function copyHead(h: Head): Head {
  return {
    size: h.size,
    lastHash: h.lastHash,
    frontier: Buffer.from(h.frontier),
    rootHash: Buffer.from(h.rootHash),
  };
}

/**
 * Everything in process memory: for tests, development and short-lived tools. One backend object
 * serves one ledger; appends are compare-and-swap on the head like every store. Rows are kept in
 * compact columns (columns.ts, ~0.36 MB per 1,000 entries with the tree) and read back exactly as
 * written.
 */
/** Rows reads may return: those below the head (an append moves rows and head together). */
function visible(s: { cols: { count: number }; head: Head }): number {
  return Math.min(s.cols.count, s.head.size);
}

export class InMemoryBackend implements StorageBackend {
  readonly kind = 'memory';
  readonly processLocal = true;
  private readonly ledgers = new Map<string, LedgerState>();
  private state: LedgerState | null = null;
  private closed = false;
  private compressor: Compressor | null = null;

  /**
   * Keep entry texts compressed with this Compressor (call before `open`; the Ledger's
   * `compression` option does). A ledger keeps the codec it was first opened with.
   */
  useCompression(compressor: Compressor): void {
    if (!(compressor instanceof Compressor)) throw new ConfigurationError('compression must be a Compressor');
    if (this.state) throw new ConfigurationError('set compression before the in-memory backend is opened');
    this.compressor = compressor;
  }

  async open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    this.assertOpen();
    if (this.compressor) await this.compressor.init();
    let s = this.ledgers.get(name);
    if (!s) {
      const meta = create();
      const codec = this.compressor ? new TextCodec(this.compressor) : null;
      s = {
        meta,
        cols: newColumns(meta, codec),
        tiles: new Map(),
        head: emptyHead(EMPTY_ROOT),
        checkpoints: [],
        bytes: 0,
        packedSavings: 0,
        codec,
      };
      this.ledgers.set(name, s);
    }
    this.state = s;
    return { ...s.meta };
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError('the in-memory backend is closed', { code: 'STORAGE_CLOSED' });
  }

  private s(): LedgerState {
    this.assertOpen();
    if (!this.state) throw new StorageError('backend not opened', { code: 'STORAGE_CLOSED' });
    return this.state;
  }

  async append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    for (;;) {
      const s = this.s();
      const head = copyHead(s.head);
      const edgeTiles = rightEdgeTiles(head.size).map((k) => {
        const t = s.tiles.get(tileKeyString(k));
        if (!t) throw new StorageError(`tile ${tileKeyString(k)} missing`);
        return copyTile(t);
      });
      const batch = await build({ head, edgeTiles });
      // Compare-and-swap: another ledger object may have appended while build awaited.
      if (s.head.size !== head.size || s.head.lastHash !== head.lastHash) continue;
      this.apply(s, batch);
      return batch;
    }
  }

  private apply(s: LedgerState, batch: AppendBatch): void {
    const cols = s.cols;
    const start = cols.count;
    let expected = start;
    // Ids are checked while indexing them below (a duplicate undoes the whole batch).
    for (const e of batch.entries) {
      if (e.index !== expected++) throw new ConflictError(`entry index ${e.index} is not contiguous`);
    }
    const erased: number[] = [];
    for (const idx of batch.erase) {
      if (!(Number.isInteger(idx) && idx >= 0 && idx < start))
        throw new StorageError(`cannot erase missing entry ${idx}`);
      if (cols.dataAt(idx) === null) erased.push(idx);
    }
    if (erased.length) throw new AlreadyErasedError(erased);
    const c = s.codec;
    if (c?.wantsDictionary(start + batch.entries.length)) {
      const samples: string[] = [];
      for (let i = 0; i < Math.min(start, c.compressor.trainAfter); i++) {
        const r = unpackRow(cols.read(i), c);
        samples.push(r.body, r.data ?? '');
      }
      for (const e of batch.entries.slice(0, Math.max(0, c.compressor.trainAfter - start)))
        samples.push(e.body, e.data ?? '');
      c.train(samples);
    }
    let savings = 0;
    const pack = (t: string | null): string | null => {
      if (t === null) return null;
      const packed = c!.encode(t).toString('latin1');
      savings += Buffer.byteLength(t) - packed.length;
      return packed;
    };
    let bytes = 0;
    for (const e of batch.entries) {
      const row = c ? { ...e, body: pack(e.body)!, data: pack(e.data), signatures: pack(e.signatures) } : e;
      const pos = cols.count;
      cols.write(pos, row);
      cols.count = pos + 1;
      if (!cols.addId(pos)) {
        cols.truncate(start);
        throw new StorageError(`duplicate entry id ${e.id}`);
      }
      bytes += rowBytes(row);
    }
    s.bytes += bytes;
    s.packedSavings += savings;
    for (const idx of batch.erase) {
      const data = cols.dataAt(idx);
      s.bytes -= (data?.length ?? 0) + cols.saltLengthAt(idx);
      if (c && isFrame(data)) s.packedSavings -= Buffer.byteLength(unpack(c, data)!) - data.length;
      cols.erase(idx);
    }
    for (const t of batch.tiles) storeTile(s.tiles, t);
    s.head = copyHead(batch.head);
  }

  async readHead(): Promise<Head> {
    return copyHead(this.s().head);
  }

  /** Rows kept past the head (reads skip them; only the test hooks can put one there). */
  async auditStore(): Promise<IntegrityFailure | null> {
    const s = this.s();
    const stray = strayTile(s.tiles.values(), s.head.size);
    if (stray) return strayTileFailure(stray, s.head.size);
    if (s.cols.count <= s.head.size) return null;
    return {
      kind: 'head_mismatch',
      index: s.head.size,
      message: `a row with index ${s.head.size} is stored past the head: it is not part of the log`,
    };
  }

  async readTiles(keys: readonly TileKey[]): Promise<Tile[]> {
    const s = this.s();
    const out: Tile[] = [];
    for (const k of keys) {
      const t = s.tiles.get(tileKeyString(k));
      if (t) out.push(copyTile(t));
    }
    return out;
  }

  async getByIndex(index: number): Promise<StoredEntry | null> {
    const s = this.s();
    if (!(Number.isInteger(index) && index >= 0 && index < visible(s))) return null;
    return unpackRow(s.cols.read(index), s.codec);
  }

  async getById(id: string): Promise<StoredEntry | null> {
    const s = this.s();
    const pos = s.cols.find(id);
    return pos < 0 || pos >= visible(s) ? null : unpackRow(s.cols.read(pos), s.codec);
  }

  /** RangeQuery over positions, as storage/range.ts filterRange does over a row array. */
  async getRange(q: RangeQuery): Promise<StoredEntry[]> {
    const s = this.s();
    const cols = s.cols;
    const from = Math.max(0, q.fromIndex ?? 0);
    const to = Math.min(visible(s), q.toIndex ?? cols.count);
    const offset = q.offset ?? 0;
    const limit = q.limit ?? Number.POSITIVE_INFINITY;
    const out: StoredEntry[] = [];
    if (limit <= 0) return out;
    const hasTime = q.startMs !== undefined || q.endMs !== undefined;
    const lo = q.startMs ?? Number.NEGATIVE_INFINITY;
    const hi = q.endMs ?? Number.POSITIVE_INFINITY;
    const desc = q.order === 'desc';
    let skipped = 0;
    for (let k = 0; k < to - from; k++) {
      const pos = desc ? to - 1 - k : from + k;
      if (hasTime) {
        const t = cols.timeAt(pos);
        if (t < lo || t > hi) continue;
      }
      if (skipped < offset) {
        skipped++;
        continue;
      }
      out.push(unpackRow(cols.read(pos), s.codec));
      if (out.length >= limit) break;
    }
    return out;
  }

  async *scan(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {},
  ): AsyncIterable<StoredEntry[]> {
    const chunk = options.chunkSize ?? 1000;
    let i = options.fromIndex ?? 0;
    for (;;) {
      const s = this.s();
      const count = visible(s);
      const end = Math.min(options.toIndex ?? count, count);
      if (i >= end) return;
      const stop = Math.min(i + chunk, end);
      const out: StoredEntry[] = new Array(stop - i);
      for (let k = i; k < stop; k++) out[k - i] = unpackRow(s.cols.read(k), s.codec);
      yield out;
      i = stop;
    }
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    const s = this.s();
    if (s.checkpoints.some((c) => c.size === cp.size)) {
      throw new StorageError(`a checkpoint for size ${cp.size} is already stored`);
    }
    s.checkpoints.push({ ...cp, rootHash: Buffer.from(cp.rootHash) });
    s.checkpoints.sort((a, b) => a.size - b.size);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    const cps = this.s().checkpoints;
    const c = cps[cps.length - 1];
    return c ? { ...c, rootHash: Buffer.from(c.rootHash) } : null;
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    const c = this.s().checkpoints.find((x) => x.size === size);
    return c ? { ...c, rootHash: Buffer.from(c.rootHash) } : null;
  }

  async listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    const cps = this.s().checkpoints;
    const list = options.limit === undefined ? cps : cps.slice(Math.max(0, cps.length - options.limit));
    return list.map((c) => ({ ...c, rootHash: Buffer.from(c.rootHash) }));
  }

  async stats(): Promise<StorageStats> {
    const s = this.s();
    let tileBytes = 0;
    for (const t of s.tiles.values()) tileBytes += t.hashes.length;
    const n = s.cols.count;
    return {
      entries: n,
      entryBytes: s.bytes,
      uncompressedEntryBytes: s.bytes + s.packedSavings,
      tileBytes,
      firstTimestampMs: n > 0 ? s.cols.timeAt(0) : null,
      lastTimestampMs: n > 0 ? s.cols.timeAt(n - 1) : null,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private unsafeState(name: string): LedgerState {
    const s = this.ledgers.get(name);
    if (!s) throw new StorageError(`no ledger ${name}`);
    return s;
  }

  /** Test hook: copies of the rows as stored, in position order. */
  _unsafeSnapshot(name = 'default'): MemoryRow[] {
    const cols = this.unsafeState(name).cols;
    return Array.from({ length: cols.count }, (_, i) => cols.read(i));
  }

  /**
   * Test hook: store exactly these rows (any contents, any `index`) in place of all rows, as an
   * attacker with memory access could. Head, tiles and checkpoints are left alone.
   */
  _unsafeReplace(rows: readonly MemoryRow[], name = 'default'): void {
    const s = this.unsafeState(name);
    const cols = newColumns(s.meta, s.codec);
    for (const r of rows) {
      cols.write(cols.count, r);
      cols.count++;
    }
    cols.rebuildIds();
    s.cols = cols;
    this.recount(s);
  }

  /** Test hook: overwrite the row at position `pos` (or add one at the end); other rows read back unchanged. */
  _unsafeSet(pos: number, row: MemoryRow, name = 'default'): void {
    const s = this.unsafeState(name);
    const cols = s.cols;
    if (!(Number.isInteger(pos) && pos >= 0 && pos <= cols.count)) throw new StorageError(`no row ${pos}`);
    cols.pin(pos + 1);
    cols.write(pos, row);
    if (pos === cols.count) cols.count++;
    cols.rebuildIds();
    this.recount(s);
  }

  /**
   * Test hook: a live array-like view of the rows; reading a row's field reads the store, and
   * assigning a row or one of its fields writes the store (through `_unsafeSet`).
   */
  _unsafeRows(name = 'default'): MemoryRow[] {
    const s = this.unsafeState(name);
    const rowView = (pos: number): MemoryRow => {
      const view = {};
      for (const k of ['index', 'id', 'timestampMs', 'hash', 'body', 'data', 'salt', 'signatures'] as const) {
        Object.defineProperty(view, k, {
          enumerable: true,
          get: () => s.cols.read(pos)[k],
          set: (v: unknown) => this._unsafeSet(pos, { ...s.cols.read(pos), [k]: v }, name),
        });
      }
      return view as MemoryRow;
    };
    const isPos = (p: string | symbol): p is string => typeof p === 'string' && /^(0|[1-9][0-9]*)$/.test(p);
    return new Proxy([] as MemoryRow[], {
      get: (_target, p) => {
        if (p === 'length') return s.cols.count;
        if (isPos(p)) return Number(p) < s.cols.count ? rowView(Number(p)) : undefined;
        // Anything else (iteration, map, ...) on a snapshot of views.
        const views = Array.from({ length: s.cols.count }, (_, i) => rowView(i));
        return Reflect.get(views, p, views);
      },
      set: (_target, p, v) => {
        if (!isPos(p)) return false;
        this._unsafeSet(Number(p), { ...(v as MemoryRow) }, name);
        return true;
      },
    });
  }

  /** Recompute the byte counts after tampering. */
  private recount(s: LedgerState): void {
    s.bytes = 0;
    s.packedSavings = 0;
    for (let i = 0; i < s.cols.count; i++) {
      const r = s.cols.read(i);
      s.bytes += rowBytes(r);
      if (s.codec)
        for (const t of [r.body, r.data, r.signatures])
          if (isFrame(t)) s.packedSavings += Buffer.byteLength(unpack(s.codec, t)!) - t.length;
    }
  }
}
