/**
 * The SQLite writer thread (`SQLiteBackendOptions.writerThread`): a worker that owns its own
 * better-sqlite3 connection and commits groups the main thread built, one `BEGIN IMMEDIATE`
 * transaction each (head re-check, rows, time blocks, packing totals, tiles, head), in the order
 * they were sent. While it commits group N (the insert and the fsync block only this thread), the
 * main thread builds group N+1 on the head N will produce; the head check refuses N+1 if N did not
 * commit, and the backend then rebuilds it on a fresh head.
 *
 * The worker runs from source text (`eval`), so it needs no separate file in the build.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { StorageError } from '../../errors.js';
import type { TableNames } from './schema.js';

/** A text column as sent: a string, NULL, or (a number) segment `k` of the message's blob buffer. */
type Cell = string | number | null;

/** One group as the writer thread commits it (structured-clone friendly, few objects). */
export interface WriterGroup {
  id: number;
  /** The head the group was built on: it commits only if the stored head is still this one. */
  size: number;
  lastHash: string | null;
  /** Per row: id, body, data, sigs (4 cells a row); ts per row; hash and salt 32 bytes each. */
  cells: Cell[];
  ts: Float64Array;
  hashes: Uint8Array;
  salts: Uint8Array;
  /** Rows whose salt is NULL. */
  noSalt: number[];
  blobs: Uint8Array;
  /** Start offsets of the blob segments, plus the end. */
  blobAt: Uint32Array;
  /** Tiles: level, index, width per tile; their hashes as blob segments `tileBlob[k]`. */
  tiles: number[];
  tileBlob: number[];
  head: { size: number; lastHash: string | null; frontier: Uint8Array; rootHash: Uint8Array };
  /** Compressed ledgers: totals to add, a dictionary trained for this group, time blocks (compact). */
  packing: { stored: number; raw: number } | null;
  dict: { id: number; bytes: Uint8Array } | null;
  timeBlocks: number[];
  /** Compact layout: the first row's body was compacted against this previous hash; if the stored
   * row disagrees, `wholeFirst` (blob segment) is stored instead and `wholeDelta` added to `stored`. */
  checkPrev: string | null;
  wholeFirst: number;
  wholeDelta: number;
}

type Reply = { id: number; won: boolean } | { id: number; error: string; code?: string };

export interface WriterConfig {
  path: string;
  busyTimeoutMs: number;
  durability: 'full' | 'normal';
  tables: TableNames;
  packed: boolean;
  compact: boolean;
}

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const c = workerData.config;
const t = c.tables;
let db;
try {
  db = new Database(c.path, { fileMustExist: true });
  db.pragma('busy_timeout = ' + c.busyTimeoutMs);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = ' + (c.durability === 'normal' ? 'NORMAL' : 'FULL'));
} catch (err) {
  parentPort.postMessage({ id: -1, error: String((err && err.message) || err) });
  throw err;
}
const head = db.prepare('SELECT size, last_hash FROM ' + t.head + ' WHERE one = 1');
const insert = db.prepare('INSERT INTO ' + t.entries + ' (idx, id, ts, hash, body, data, salt, sigs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
const upsertTile = db.prepare('INSERT INTO ' + t.tiles + ' (level, idx, width, hashes) VALUES (?, ?, ?, ?) ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, hashes = excluded.hashes');
const updateHead = db.prepare('UPDATE ' + t.head + ' SET size = ?, last_hash = ?, frontier = ?, root = ? WHERE one = 1');
const hashAt = db.prepare('SELECT lower(hex(hash)) FROM ' + t.entries + ' WHERE idx = ?').pluck();
const addPacking = c.packed ? db.prepare('UPDATE ' + t.packing + ' SET stored_bytes = stored_bytes + ?, raw_bytes = raw_bytes + ? WHERE one = 1') : null;
const insertDict = c.packed ? db.prepare('INSERT INTO ' + t.dicts + ' (id, bytes) VALUES (?, ?)') : null;
const timeBlock = c.compact ? db.prepare('INSERT INTO ' + t.timeBlocks + ' (block, lo, hi) VALUES (?, ?, ?) ON CONFLICT (block) DO UPDATE SET lo = min(lo, excluded.lo), hi = max(hi, excluded.hi)') : null;
const buf = (u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const commit = db.transaction((m) => {
  const h = head.get();
  if (!h || h.size !== m.size || h.last_hash !== m.lastHash) return false;
  const blobs = buf(m.blobs);
  const at = m.blobAt;
  const cell = (v) => (typeof v === 'number' ? blobs.subarray(at[v], at[v + 1]) : v);
  if (m.dict) insertDict.run(m.dict.id, buf(m.dict.bytes));
  let stored = m.packing ? m.packing.stored : 0;
  const cells = m.cells;
  if (m.checkPrev !== null && hashAt.get(m.size - 1) !== m.checkPrev) {
    cells[1] = m.wholeFirst;
    stored += m.wholeDelta;
  }
  const hashes = buf(m.hashes);
  const salts = buf(m.salts);
  const noSalt = new Set(m.noSalt);
  const n = m.ts.length;
  for (let i = 0; i < n; i++) {
    const k = i * 4;
    insert.run(m.size + i, cell(cells[k]), m.ts[i], hashes.subarray(i * 32, i * 32 + 32), cell(cells[k + 1]),
      cell(cells[k + 2]), noSalt.has(i) ? null : salts.subarray(i * 32, i * 32 + 32), cell(cells[k + 3]));
  }
  const tb = m.timeBlocks;
  for (let i = 0; i < tb.length; i += 3) timeBlock.run(tb[i], tb[i + 1], tb[i + 2]);
  if (m.packing) addPacking.run(stored, m.packing.raw);
  const tl = m.tiles;
  for (let i = 0, k = 0; i < tl.length; i += 3, k++) upsertTile.run(tl[i], tl[i + 1], tl[i + 2], cell(m.tileBlob[k]));
  const nh = m.head;
  updateHead.run(nh.size, nh.lastHash, buf(nh.frontier), buf(nh.rootHash));
  return true;
});
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage({ id: m.id, won: commit.immediate(m) });
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: String((err && err.message) || err), code: err && err.code });
  }
});
parentPort.postMessage({ id: 0, won: true });
`;

/** The main thread's end of the writer thread. */
export class SQLiteWriter {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve(won: boolean): void; reject(e: unknown): void }>();
  private nextId = 1;
  private dead: StorageError | null = null;
  private exited: Promise<void>;

  private constructor(worker: Worker) {
    this.worker = worker;
    this.exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.id);
      if (!w) return;
      this.waiting.delete(r.id);
      // Idle, the thread does not keep the process alive (a ledger not closed lets it exit).
      if (this.waiting.size === 0) worker.unref();
      if ('error' in r) {
        w.reject(
          new StorageError(`SQLite append failed: ${r.error}`, {
            cause: Object.assign(new Error(r.error), { code: r.code }),
          }),
        );
      } else w.resolve(r.won);
    });
    const fail = (e: StorageError) => {
      this.dead ??= e;
      for (const w of this.waiting.values()) w.reject(this.dead);
      this.waiting.clear();
    };
    worker.on('error', (err) =>
      fail(new StorageError(`the SQLite writer thread failed: ${err.message}`, { cause: err })),
    );
    worker.on('exit', () =>
      fail(new StorageError('the SQLite writer thread ended', { code: 'STORAGE_CLOSED' })),
    );
  }

  /** False once the thread has died (crashed, terminated): its backend then commits on its own connection. */
  get alive(): boolean {
    return this.dead === null;
  }

  /** Whether `err` is the rejection of a group that was waiting when the thread died (outcome unknown). */
  diedWith(err: unknown): boolean {
    return this.dead !== null && err === this.dead;
  }

  /** Start the thread and wait until its connection is open. */
  static async start(config: WriterConfig): Promise<SQLiteWriter> {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, config } });
    const w = new SQLiteWriter(worker);
    try {
      await w.request(0);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return w;
  }

  private request(id: number): Promise<boolean> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<boolean>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  /** Send a group; resolves true once it is durably committed, false if the head had moved. */
  commit(group: Omit<WriterGroup, 'id'>): Promise<boolean> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    if (this.waiting.size === 0) this.worker.ref();
    const p = this.request(id);
    const m = group as WriterGroup;
    m.id = id;
    this.worker.postMessage(m, [
      m.blobs.buffer as ArrayBuffer,
      m.hashes.buffer as ArrayBuffer,
      m.salts.buffer as ArrayBuffer,
    ]);
    return p;
  }

  /** Let the thread finish what it was sent, close its connection and end. */
  async close(): Promise<void> {
    if (!this.dead) this.worker.postMessage('close');
    const timer = setTimeout(() => void this.worker.terminate(), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Packs a group's rows for the writer thread (see WriterGroup). */
export class GroupPacker {
  readonly cells: Cell[] = [];
  private readonly parts: Uint8Array[] = [];
  private at = 0;
  private readonly offsets: number[] = [0];

  /** A cell for this value: strings and NULL as they are, bytes as a blob segment. */
  cell(v: string | Uint8Array | null | undefined): Cell {
    if (v === null || v === undefined || typeof v === 'string') return v ?? null;
    return this.blob(v);
  }

  blob(v: Uint8Array): number {
    this.parts.push(v);
    this.at += v.byteLength;
    this.offsets.push(this.at);
    return this.offsets.length - 2;
  }

  finish(): { blobs: Uint8Array; blobAt: Uint32Array } {
    const blobs = Buffer.allocUnsafeSlow(this.at);
    let o = 0;
    for (const p of this.parts) {
      blobs.set(p, o);
      o += p.byteLength;
    }
    return { blobs, blobAt: Uint32Array.from(this.offsets) };
  }
}
