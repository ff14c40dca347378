import { Compressor } from '../../compression/compressor.js';
import { TextCodec } from '../../compression/text-codec.js';
import type { StoredEntry } from '../../entry/types.js';
import { ConfigurationError, ConflictError, StorageError } from '../../errors.js';
import { EMPTY_ROOT } from '../../merkle/hash.js';
import { rightEdgeTiles, type Tile, type TileKey, tileKeyString } from '../../merkle/tiles.js';
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
import { filterRange } from '../../storage/range.js';

/**
 * Rows kept as flat strings: a Buffer costs ~100 bytes of overhead each, a string far less. `hash`
 * and `salt` are hex; compressed texts are frames in latin1 strings (see isFrame).
 */
export interface MemoryRow {
  index: number;
  id: string;
  ts: number;
  hash: string;
  body: string;
  data: string | null;
  salt: string | null;
  sigs: string | null;
}

/**
 * Texts built by concatenation are V8 rope strings (a 32-byte node per piece, ~4x the text). Reading
 * one character flattens the rope in place, and the GC then drops the rope nodes.
 */
function flat<T extends string | null>(s: T): T {
  if (s !== null && s.length > 0) s.charCodeAt(0);
  return s;
}

interface LedgerState {
  meta: LedgerMeta;
  rows: MemoryRow[];
  byId: Map<string, number>;
  tiles: Map<string, Tile>;
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

function toStored(r: MemoryRow, c: TextCodec | null): StoredEntry {
  return {
    index: r.index,
    id: r.id,
    timestampMs: r.ts,
    hash: Buffer.from(r.hash, 'hex'),
    body: c ? unpack(c, r.body)! : r.body,
    data: c ? unpack(c, r.data) : r.data,
    salt: r.salt === null ? null : Buffer.from(r.salt, 'hex'),
    signatures: c ? unpack(c, r.sigs) : r.sigs,
  };
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
 * serves one ledger; appends are compare-and-swap on the head like every store.
 */
export class InMemoryBackend implements StorageBackend {
  readonly kind = 'memory';
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
      s = {
        meta: create(),
        rows: [],
        byId: new Map(),
        tiles: new Map(),
        head: emptyHead(EMPTY_ROOT),
        checkpoints: [],
        bytes: 0,
        packedSavings: 0,
        codec: this.compressor ? new TextCodec(this.compressor) : null,
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
    let expected = s.head.size;
    for (const e of batch.entries) {
      if (e.index !== expected++) throw new ConflictError(`entry index ${e.index} is not contiguous`);
      if (s.byId.has(e.id)) throw new StorageError(`duplicate entry id ${e.id}`);
    }
    for (const idx of batch.erase) {
      const row = s.rows[idx];
      if (!row) throw new StorageError(`cannot erase missing entry ${idx}`);
    }
    const c = s.codec;
    if (c?.wantsDictionary(s.rows.length + batch.entries.length)) {
      const samples: string[] = [];
      for (const r of s.rows.slice(0, c.compressor.trainAfter))
        samples.push(unpack(c, r.body)!, unpack(c, r.data) ?? '');
      for (const e of batch.entries.slice(0, Math.max(0, c.compressor.trainAfter - s.rows.length)))
        samples.push(e.body, e.data ?? '');
      c.train(samples);
    }
    const pack = (t: string | null): string | null => {
      if (!c || t === null) return flat(t);
      const packed = c.encode(t).toString('latin1');
      s.packedSavings += Buffer.byteLength(t) - packed.length;
      return packed;
    };
    for (const e of batch.entries) {
      const row: MemoryRow = {
        index: e.index,
        id: e.id,
        ts: e.timestampMs,
        hash: e.hash.toString('hex'),
        body: pack(e.body)!,
        data: pack(e.data),
        salt: e.salt === null ? null : e.salt.toString('hex'),
        sigs: pack(e.signatures),
      };
      s.rows.push(row);
      s.byId.set(e.id, e.index);
      s.bytes += rowBytes(row);
    }
    for (const idx of batch.erase) {
      const row = s.rows[idx]!;
      s.bytes -= rowBytes(row);
      if (c && isFrame(row.data))
        s.packedSavings -= Buffer.byteLength(unpack(c, row.data)!) - row.data.length;
      row.data = null;
      row.salt = null;
      s.bytes += rowBytes(row);
    }
    for (const t of batch.tiles) s.tiles.set(tileKeyString(t), copyTile(t));
    s.head = copyHead(batch.head);
  }

  async readHead(): Promise<Head> {
    return copyHead(this.s().head);
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
    const r = s.rows[index];
    return r ? toStored(r, s.codec) : null;
  }

  async getById(id: string): Promise<StoredEntry | null> {
    const s = this.s();
    const i = s.byId.get(id);
    return i === undefined ? null : toStored(s.rows[i]!, s.codec);
  }

  async getRange(q: RangeQuery): Promise<StoredEntry[]> {
    const s = this.s();
    return filterRange(s.rows, q, (r) => r.ts).map((r) => toStored(r, s.codec));
  }

  async *scan(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {},
  ): AsyncIterable<StoredEntry[]> {
    const chunk = options.chunkSize ?? 1000;
    let i = options.fromIndex ?? 0;
    for (;;) {
      const s = this.s();
      const end = Math.min(options.toIndex ?? s.rows.length, s.rows.length);
      if (i >= end) return;
      const stop = Math.min(i + chunk, end);
      const out: StoredEntry[] = new Array(stop - i);
      for (let k = i; k < stop; k++) out[k - i] = toStored(s.rows[k]!, s.codec);
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
    return {
      entries: s.rows.length,
      entryBytes: s.bytes,
      uncompressedEntryBytes: s.bytes + s.packedSavings,
      tileBytes,
      firstTimestampMs: s.rows[0]?.ts ?? null,
      lastTimestampMs: s.rows[s.rows.length - 1]?.ts ?? null,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * Test hook: the raw rows, so tests can tamper behind the ledger's back like an attacker with memory
   * access. `hash` and `salt` are hex strings.
   */
  _unsafeRows(name = 'default'): MemoryRow[] {
    const s = this.ledgers.get(name);
    if (!s) throw new StorageError(`no ledger ${name}`);
    return s.rows;
  }
}

function rowBytes(r: MemoryRow): number {
  return (
    8 +
    8 +
    r.id.length +
    r.hash.length +
    r.body.length +
    (r.data?.length ?? 0) +
    (r.salt ? r.salt.length / 2 : 0) +
    (r.sigs?.length ?? 0)
  );
}
