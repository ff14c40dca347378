import type { StoredEntry } from '../../entry/types.js';
import { StorageError } from '../../errors.js';
import { EMPTY_ROOT } from '../../merkle/hash.js';
import { rightEdgeTiles, type Tile, type TileKey } from '../../merkle/tiles.js';
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
  type StructuredQuery,
} from '../../storage/backend.js';
import { parseWherePath } from '../../storage/where.js';
import { type Database, loadBetterSqlite3 } from './driver.js';
import { COMMON_DDL, ledgerDdl, SQLITE_SCHEMA_VERSION, type TableNames, tableNames } from './schema.js';

export interface SQLiteBackendOptions {
  /** Path of the database file (created if missing). `:memory:` works for tests. */
  path?: string;
  /**
   * `full` (default): every commit is fsynced before the append resolves, so a resolved append
   * survives power loss. `normal`: WAL without fsync per commit (survives a process crash, not an OS crash).
   */
  durability?: 'full' | 'normal';
  /** How long a writer waits for another process's write lock, ms (default 10,000). */
  busyTimeoutMs?: number;
  /** Open the file read-only (CLI read commands). */
  readonly?: boolean;
  /** Use an already-open better-sqlite3 Database. */
  database?: Database;
}

type Row = [number, string, number, Buffer, string, string | null, Buffer | null, string | null];
const ROW_COLUMNS = 'idx, id, ts, hash, body, data, salt, sigs';

function rowToStored(r: Row): StoredEntry {
  return {
    index: r[0],
    id: r[1],
    timestampMs: r[2],
    hash: r[3],
    body: r[4],
    data: r[5],
    salt: r[6],
    signatures: r[7],
  };
}

/**
 * SQLite through better-sqlite3: one file, WAL, durable by default. Several processes may append to one
 * file: each append re-checks the head inside a `BEGIN IMMEDIATE` transaction and retries if another
 * process moved it, so the chain never forks.
 */
export class SQLiteBackend implements StorageBackend {
  readonly kind = 'sqlite';
  readonly path: string;
  private readonly options: SQLiteBackendOptions;
  private db: Database | null = null;
  private t: TableNames | null = null;
  private stmts: ReturnType<SQLiteBackend['prepare']> | null = null;
  private closed = false;

  constructor(pathOrOptions: string | SQLiteBackendOptions = {}) {
    this.options = typeof pathOrOptions === 'string' ? { path: pathOrOptions } : { ...pathOrOptions };
    this.path = this.options.path ?? 'signledger.db';
  }

  async open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    if (this.closed) throw new StorageError('the SQLite backend is closed', { code: 'STORAGE_CLOSED' });
    const t = tableNames(name);
    let db = this.options.database;
    if (!db) {
      const Ctor = await loadBetterSqlite3();
      try {
        db = new Ctor(this.path, { readonly: this.options.readonly ?? false, fileMustExist: this.options.readonly ?? false });
      } catch (err) {
        throw new StorageError(`cannot open SQLite database ${this.path}: ${(err as Error).message}`, { cause: err });
      }
    }
    this.db = db;
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(this.options.busyTimeoutMs ?? 10_000))}`);
      if (!this.options.readonly) {
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${this.options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
      }
      const meta = this.options.readonly ? this.openReadonly(db, name, t) : this.openWritable(db, name, t, create);
      this.t = t;
      this.stmts = this.prepare(db, t);
      return meta;
    } catch (err) {
      if (!this.options.database) db.close();
      this.db = null;
      if (err instanceof StorageError) throw err;
      throw new StorageError(`cannot open SQLite database ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private checkSchema(db: Database): void {
    const row = db.prepare("SELECT value FROM signledger_schema WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    if (row && Number(row.value) !== SQLITE_SCHEMA_VERSION) {
      throw new StorageError(
        `${this.path} uses signledger SQLite schema version ${row.value}; this version of signledger reads version ${SQLITE_SCHEMA_VERSION}`,
        { code: 'STORAGE_INCOMPATIBLE' },
      );
    }
  }

  private openWritable(db: Database, name: string, t: TableNames, create: () => LedgerMeta): LedgerMeta {
    const hasSchema = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='signledger_schema'").get();
    if (!hasSchema) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type='table'").get() as { n: number };
      if (tables.n > 0) {
        throw new StorageError(`${this.path} is a SQLite database but not a signledger store`, {
          code: 'STORAGE_INCOMPATIBLE',
        });
      }
    } else {
      this.checkSchema(db);
    }
    return db
      .transaction((): LedgerMeta => {
        db.exec(COMMON_DDL);
        db.prepare("INSERT OR IGNORE INTO signledger_schema (key, value) VALUES ('schema_version', ?)").run(
          String(SQLITE_SCHEMA_VERSION),
        );
        const existing = db.prepare('SELECT meta FROM signledger_ledgers WHERE name = ?').get(name) as
          | { meta: string }
          | undefined;
        if (existing) return JSON.parse(existing.meta) as LedgerMeta;
        const meta = create();
        db.exec(ledgerDdl(t));
        db.prepare('INSERT INTO signledger_ledgers (name, meta) VALUES (?, ?)').run(name, JSON.stringify(meta));
        const h = emptyHead(EMPTY_ROOT);
        db.prepare(`INSERT INTO ${t.head} (one, size, last_hash, frontier, root) VALUES (1, 0, NULL, ?, ?)`).run(
          h.frontier,
          h.rootHash,
        );
        return meta;
      })
      .immediate();
  }

  private openReadonly(db: Database, name: string, _t: TableNames): LedgerMeta {
    const hasSchema = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='signledger_schema'").get();
    if (!hasSchema) {
      throw new StorageError(`${this.path} is not a signledger store`, { code: 'STORAGE_INCOMPATIBLE' });
    }
    this.checkSchema(db);
    const existing = db.prepare('SELECT meta FROM signledger_ledgers WHERE name = ?').get(name) as
      | { meta: string }
      | undefined;
    if (!existing) throw new StorageError(`${this.path} holds no ledger named ${JSON.stringify(name)}`);
    return JSON.parse(existing.meta) as LedgerMeta;
  }

  private prepare(db: Database, t: TableNames) {
    return {
      head: db.prepare(`SELECT size, last_hash, frontier, root FROM ${t.head} WHERE one = 1`),
      tile: db.prepare(`SELECT level, idx, width, hashes FROM ${t.tiles} WHERE level = ? AND idx = ?`),
      insertEntry: db.prepare(`INSERT INTO ${t.entries} (${ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      upsertTile: db.prepare(
        `INSERT INTO ${t.tiles} (level, idx, width, hashes) VALUES (?, ?, ?, ?)
         ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, hashes = excluded.hashes`,
      ),
      updateHead: db.prepare(`UPDATE ${t.head} SET size = ?, last_hash = ?, frontier = ?, root = ? WHERE one = 1`),
      erase: db.prepare(`UPDATE ${t.entries} SET data = NULL, salt = NULL WHERE idx = ?`),
      byIndex: db.prepare(`SELECT ${ROW_COLUMNS} FROM ${t.entries} WHERE idx = ?`).raw(),
      byId: db.prepare(`SELECT ${ROW_COLUMNS} FROM ${t.entries} WHERE id = ?`).raw(),
      scan: db.prepare(`SELECT ${ROW_COLUMNS} FROM ${t.entries} WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ?`).raw(),
      addCheckpoint: db.prepare(`INSERT INTO ${t.checkpoints} (size, root, note, created_ms) VALUES (?, ?, ?, ?)`),
      latestCheckpoint: db.prepare(
        `SELECT size, root, note, created_ms FROM ${t.checkpoints} ORDER BY size DESC LIMIT 1`,
      ),
      checkpointAt: db.prepare(`SELECT size, root, note, created_ms FROM ${t.checkpoints} WHERE size = ?`),
      listCheckpoints: db.prepare(
        `SELECT size, root, note, created_ms FROM ${t.checkpoints} ORDER BY size DESC LIMIT ?`,
      ),
    };
  }

  private get s() {
    if (!this.stmts || !this.db) throw new StorageError('the SQLite backend is not open', { code: 'STORAGE_CLOSED' });
    return this.stmts;
  }

  private readHeadSync(): Head {
    const r = this.s.head.get() as { size: number; last_hash: string | null; frontier: Buffer; root: Buffer } | undefined;
    if (!r) throw new StorageError('the head row is missing: the store is corrupt');
    return { size: r.size, lastHash: r.last_hash, frontier: r.frontier, rootHash: r.root };
  }

  private readTilesSync(keys: readonly TileKey[]): Tile[] {
    const out: Tile[] = [];
    for (const k of keys) {
      const r = this.s.tile.get(k.level, k.index) as
        | { level: number; idx: number; width: number; hashes: Buffer }
        | undefined;
      if (r) out.push({ level: r.level, index: r.idx, width: r.width, hashes: r.hashes });
    }
    return out;
  }

  async append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    const db = this.db;
    const s = this.s;
    if (!db) throw new StorageError('the SQLite backend is not open', { code: 'STORAGE_CLOSED' });
    for (;;) {
      // Read outside the write lock (WAL gives a consistent snapshot per statement; the head and
      // tiles are re-validated below under the lock).
      const { head, edgeTiles } = db.transaction(() => {
        const h = this.readHeadSync();
        const keys = rightEdgeTiles(h.size);
        const tiles = this.readTilesSync(keys);
        if (tiles.length !== keys.length) throw new StorageError('right-edge tiles are missing: the store is corrupt');
        return { head: h, edgeTiles: tiles };
      }).deferred();
      const batch = await build({ head, edgeTiles });
      const won = db
        .transaction((): boolean => {
          const now = this.readHeadSync();
          if (now.size !== head.size || now.lastHash !== head.lastHash) return false;
          for (const e of batch.entries) {
            s.insertEntry.run(e.index, e.id, e.timestampMs, e.hash, e.body, e.data, e.salt, e.signatures);
          }
          for (const idx of batch.erase) {
            const r = s.erase.run(idx);
            if (r.changes !== 1) throw new StorageError(`cannot erase missing entry ${idx}`);
          }
          for (const t of batch.tiles) s.upsertTile.run(t.level, t.index, t.width, t.hashes);
          const h = batch.head;
          s.updateHead.run(h.size, h.lastHash, h.frontier, h.rootHash);
          return true;
        })
        .immediate();
      if (won) return batch;
    }
  }

  async readHead(): Promise<Head> {
    return this.readHeadSync();
  }

  async readTiles(keys: readonly TileKey[]): Promise<Tile[]> {
    return this.readTilesSync(keys);
  }

  async getByIndex(index: number): Promise<StoredEntry | null> {
    const r = this.s.byIndex.get(index) as Row | undefined;
    return r ? rowToStored(r) : null;
  }

  async getById(id: string): Promise<StoredEntry | null> {
    const r = this.s.byId.get(id) as Row | undefined;
    return r ? rowToStored(r) : null;
  }

  async getRange(q: RangeQuery): Promise<StoredEntry[]> {
    const { sql, params } = this.rangeSql(q, []);
    return (this.db!.prepare(sql).raw().all(...params) as Row[]).map(rowToStored);
  }

  private rangeSql(q: RangeQuery, extraWhere: string[], extraParams: unknown[] = []) {
    const where: string[] = [...extraWhere];
    const params: unknown[] = [...extraParams];
    if (q.fromIndex !== undefined) {
      where.push('idx >= ?');
      params.push(q.fromIndex);
    }
    if (q.toIndex !== undefined) {
      where.push('idx < ?');
      params.push(q.toIndex);
    }
    if (q.startMs !== undefined) {
      where.push('ts >= ?');
      params.push(q.startMs);
    }
    if (q.endMs !== undefined) {
      where.push('ts <= ?');
      params.push(q.endMs);
    }
    let sql = `SELECT ${ROW_COLUMNS} FROM ${this.t!.entries}`;
    if (where.length) sql += ` WHERE ${where.join(' AND ')}`;
    sql += ` ORDER BY idx ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT ? OFFSET ?`;
    params.push(q.limit ?? -1, q.offset ?? 0);
    return { sql, params };
  }

  async query(q: StructuredQuery): Promise<StoredEntry[]> {
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const [path, value] of Object.entries(q.where ?? {})) {
      const p = parseWherePath(path);
      const column = p.root === 'data' ? 'data' : "json_extract(body, '$.metadata')";
      const jsonPath = '$' + p.segments.map((s) => `."${s}"`).join('');
      if (value === null) {
        clauses.push(`json_type(${column}, ?) = 'null'`);
        params.push(jsonPath);
      } else if (typeof value === 'boolean') {
        clauses.push(`json_type(${column}, ?) = ?`);
        params.push(jsonPath, value ? 'true' : 'false');
      } else if (typeof value === 'number') {
        clauses.push(`json_type(${column}, ?) IN ('integer', 'real') AND json_extract(${column}, ?) = ?`);
        params.push(jsonPath, jsonPath, value);
      } else {
        clauses.push(`json_type(${column}, ?) = 'text' AND json_extract(${column}, ?) = ?`);
        params.push(jsonPath, jsonPath, value);
      }
    }
    const { sql, params: all } = this.rangeSql(q, clauses, params);
    return (this.db!.prepare(sql).raw().all(...all) as Row[]).map(rowToStored);
  }

  async *scan(options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {}): AsyncIterable<StoredEntry[]> {
    const chunk = options.chunkSize ?? 2000;
    let i = options.fromIndex ?? 0;
    const to = options.toIndex ?? Number.MAX_SAFE_INTEGER;
    for (;;) {
      const rows = this.s.scan.all(i, to, chunk) as Row[];
      if (rows.length === 0) return;
      yield rows.map(rowToStored);
      const last = rows[rows.length - 1]!;
      i = last[0] + 1;
      if (rows.length < chunk) return;
    }
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    try {
      this.s.addCheckpoint.run(cp.size, cp.rootHash, cp.note, cp.createdAtMs);
    } catch (err) {
      throw new StorageError(`cannot store checkpoint for size ${cp.size}: ${(err as Error).message}`, { cause: err });
    }
  }

  private static cp(r: { size: number; root: Buffer; note: string; created_ms: number } | undefined) {
    return r ? { size: r.size, rootHash: r.root, note: r.note, createdAtMs: r.created_ms } : null;
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return SQLiteBackend.cp(this.s.latestCheckpoint.get() as never);
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    return SQLiteBackend.cp(this.s.checkpointAt.get(size) as never);
  }

  async listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    const rows = this.s.listCheckpoints.all(options.limit ?? -1) as never[];
    return rows.map((r) => SQLiteBackend.cp(r)!).reverse();
  }

  async stats(): Promise<StorageStats> {
    const t = this.t!;
    const db = this.db!;
    const e = db
      .prepare(
        `SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi,
          coalesce(sum(length(hash) + length(CAST(body AS BLOB)) + coalesce(length(CAST(data AS BLOB)), 0) + coalesce(length(salt), 0) + coalesce(length(CAST(sigs AS BLOB)), 0) + length(id) + 16), 0) AS bytes
         FROM ${t.entries}`,
      )
      .get() as { n: number; lo: number | null; hi: number | null; bytes: number };
    const first = db.prepare(`SELECT ts FROM ${t.entries} ORDER BY idx ASC LIMIT 1`).get() as { ts: number } | undefined;
    const last = db.prepare(`SELECT ts FROM ${t.entries} ORDER BY idx DESC LIMIT 1`).get() as { ts: number } | undefined;
    const tiles = db.prepare(`SELECT coalesce(sum(length(hashes)), 0) AS b FROM ${t.tiles}`).get() as { b: number };
    return {
      entries: e.n,
      entryBytes: e.bytes,
      uncompressedEntryBytes: e.bytes,
      tileBytes: tiles.b,
      firstTimestampMs: first?.ts ?? null,
      lastTimestampMs: last?.ts ?? null,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stmts = null;
    if (this.db && !this.options.database) this.db.close();
    this.db = null;
  }

  /** The underlying database (tests tamper with it; advanced users may run read-only SQL). */
  get database(): Database {
    if (!this.db) throw new StorageError('the SQLite backend is not open', { code: 'STORAGE_CLOSED' });
    return this.db;
  }

  get tables(): TableNames {
    if (!this.t) throw new StorageError('the SQLite backend is not open', { code: 'STORAGE_CLOSED' });
    return this.t;
  }
}
