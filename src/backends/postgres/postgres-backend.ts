import type { Pool, PoolClient, PoolConfig, QueryArrayConfig, QueryConfig } from 'pg';
import type { StoredEntry } from '../../entry/types.js';
import { ConfigurationError, StorageError } from '../../errors.js';
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
import { assertLedgerName } from '../sqlite/schema.js';
import { loadPg } from './driver.js';
import { ddl, jsonbSafe, type PgTables, POSTGRES_SCHEMA_VERSION, pgTables } from './schema.js';

export interface PostgreSQLConnectionOptions {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** `postgres://user:pass@host:5432/db` */
  connectionString?: string;
  /** Bring your own pg.Pool; the backend never ends it. */
  pool?: Pool;
  /** Pool size when the backend creates the pool (default 10). */
  max?: number;
  /** Extra pg.Pool settings (ssl, timeouts, ...) when the backend creates the pool. */
  poolConfig?: PoolConfig;
}

export interface PostgreSQLBackendOptions extends PostgreSQLConnectionOptions {
  /** Prefix of every table (default `signledger_`): several deployments can share one schema. */
  tablePrefix?: string;
  /** PostgreSQL schema holding the tables (default: the connection's search_path). */
  schema?: string;
}

type Row = [number, string, number, Buffer, string, string | null, Buffer | null, string | null];
const COLS = 'idx, id, ts, hash, body, data, salt, sigs';

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

type TypeParsers = NonNullable<QueryConfig['types']>;

/**
 * PostgreSQL through `pg`. Many processes may append to one ledger: each group commit is one
 * transaction that locks the ledger's head row (`SELECT … FOR UPDATE`), so writers queue in the
 * database and the chain never forks; a writer that dies mid-transaction is rolled back by the server.
 */
export class PostgreSQLBackend implements StorageBackend {
  readonly kind = 'postgres';
  private readonly options: PostgreSQLBackendOptions;
  readonly tables: PgTables;
  private pool: Pool | null = null;
  private ownsPool = false;
  private ledgerNo: number | null = null;
  private types: TypeParsers | null = null;
  private closed = false;

  constructor(options: PostgreSQLBackendOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ConfigurationError('PostgreSQLBackend takes an options object');
    this.options = { ...options };
    this.tables = pgTables(options.tablePrefix ?? 'signledger_', options.schema);
  }

  async open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    if (this.closed) throw new StorageError('the PostgreSQL backend is closed', { code: 'STORAGE_CLOSED' });
    assertLedgerName(name);
    const pg = await loadPg();
    // int8 as JS numbers (indexes and times stay far below 2^53), everything else as pg parses it.
    this.types = {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === 20
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as TypeParsers['getTypeParser'],
    };
    if (!this.pool) {
      if (this.options.pool) {
        this.pool = this.options.pool;
      } else {
        const o = this.options;
        this.pool = new pg.Pool({
          ...(o.poolConfig ?? {}),
          ...(o.connectionString !== undefined ? { connectionString: o.connectionString } : {}),
          ...(o.host !== undefined ? { host: o.host } : {}),
          ...(o.port !== undefined ? { port: o.port } : {}),
          ...(o.database !== undefined ? { database: o.database } : {}),
          ...(o.user !== undefined ? { user: o.user } : {}),
          ...(o.password !== undefined ? { password: o.password } : {}),
          max: o.max ?? o.poolConfig?.max ?? 10,
        });
        // An idle client losing its connection must not crash the process.
        this.pool.on('error', () => {});
        this.ownsPool = true;
      }
    }
    // Opening can deadlock with another process creating the schema at the same moment: retry.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.openOnce(name, create);
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw err;
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * (attempt + 1)));
      }
    }
  }

  private async openOnce(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    const t = this.tables;
    try {
      return await this.tx(async (c) => {
        // Serialize opens between processes: schema and ledger creation happen under this lock.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`signledger:${t.entries}`]);
        // Create the schema once (serialized between processes opening at the same time). DDL on
        // tables in use would take locks that deadlock with running appends, so skip it when present.
        const exists = async () =>
          (await c.query('SELECT to_regclass($1) IS NOT NULL AS ok', [t.meta.replace(/^"([^"]+)"\./, '$1.')]))
            .rows[0]?.ok === true;
        if (!(await exists())) {
          await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`signledger:${t.entries}`]);
          // Another process may have created it while we waited for the lock.
          if (!(await exists())) await c.query(ddl(t));
          await c.query(
            `INSERT INTO ${t.meta} (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING`,
            [String(POSTGRES_SCHEMA_VERSION)],
          );
        }
        const v = await c.query(`SELECT value FROM ${t.meta} WHERE key = 'schema_version'`);
        if (Number(v.rows[0]?.value) !== POSTGRES_SCHEMA_VERSION) {
          throw new StorageError(
            `the tables ${t.prefix}* use signledger PostgreSQL schema version ${v.rows[0]?.value}; this version reads ${POSTGRES_SCHEMA_VERSION}`,
            { code: 'STORAGE_INCOMPATIBLE' },
          );
        }
        let found = await c.query(`SELECT ledger, meta FROM ${t.ledgers} WHERE name = $1`, [name]);
        if (!found.rows[0]) {
          // Creating a ledger: serialize with other processes creating the same one.
          await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`signledger:${t.entries}`]);
          found = await c.query(`SELECT ledger, meta FROM ${t.ledgers} WHERE name = $1`, [name]);
        }
        if (found.rows[0]) {
          this.ledgerNo = Number(found.rows[0].ledger);
          return JSON.parse(found.rows[0].meta) as LedgerMeta;
        }
        const meta = create();
        const ins = await c.query(`INSERT INTO ${t.ledgers} (name, meta) VALUES ($1, $2) RETURNING ledger`, [
          name,
          JSON.stringify(meta),
        ]);
        this.ledgerNo = Number(ins.rows[0].ledger);
        const h = emptyHead(EMPTY_ROOT);
        await c.query(
          `INSERT INTO ${t.heads} (ledger, size, last_hash, frontier, root) VALUES ($1, 0, NULL, $2, $3)`,
          [this.ledgerNo, h.frontier, h.rootHash],
        );
        return meta;
      });
    } catch (err) {
      if (err instanceof StorageError || err instanceof ConfigurationError) throw err;
      throw new StorageError(
        `cannot open PostgreSQL ledger ${JSON.stringify(name)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  private get p(): Pool {
    if (!this.pool || this.ledgerNo === null || this.closed) {
      throw new StorageError('the PostgreSQL backend is not open', { code: 'STORAGE_CLOSED' });
    }
    return this.pool;
  }

  /** The ledger's row key in the shared tables (after open). */
  get ledgerKey(): number {
    this.p;
    return this.ledgerNo!;
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>, begin = true): Promise<T> {
    const pool = this.pool;
    if (!pool) throw new StorageError('the PostgreSQL backend is not open', { code: 'STORAGE_CLOSED' });
    const c = await pool.connect();
    let broken: unknown;
    try {
      try {
        if (begin) await c.query('BEGIN');
        const r = await fn(c);
        await c.query('COMMIT');
        return r;
      } catch (err) {
        await c.query('ROLLBACK').catch((e) => {
          broken = e;
        });
        throw err;
      }
    } finally {
      c.release(broken as Error | undefined);
    }
  }

  /** A named (server-side prepared) statement returning rows as arrays, int8 as numbers. */
  private q(name: string, text: string, values: unknown[]): QueryArrayConfig {
    return { name: `${this.tables.prefix}${name}`, text, values, rowMode: 'array', types: this.types! };
  }

  private async rows<T>(name: string, text: string, values: unknown[], c?: PoolClient): Promise<T[]> {
    try {
      const r = await (c ?? this.p).query(this.q(name, text, values));
      return r.rows as T[];
    } catch (err) {
      throw new StorageError(`PostgreSQL ${name} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private async headOf(c: PoolClient | undefined, lock: boolean): Promise<Head> {
    const t = this.tables;
    const r = await this.rows<[number, string | null, Buffer, Buffer]>(
      lock ? 'head_lock' : 'head',
      `SELECT size, last_hash, frontier, root FROM ${t.heads} WHERE ledger = $1${lock ? ' FOR UPDATE' : ''}`,
      [this.ledgerKey],
      c,
    );
    const h = r[0];
    if (!h) throw new StorageError('the head row is missing: the store is corrupt');
    return { size: h[0], lastHash: h[1], frontier: h[2], rootHash: h[3] };
  }

  private async tilesOf(keys: readonly TileKey[], c?: PoolClient): Promise<Tile[]> {
    if (keys.length === 0) return [];
    const t = this.tables;
    const r = await this.rows<[number, number, number, Buffer]>(
      'tiles',
      `SELECT level, idx, width, hashes FROM ${t.tiles}
       WHERE ledger = $1 AND (level, idx) IN (SELECT * FROM unnest($2::int[], $3::bigint[]))`,
      [this.ledgerKey, keys.map((k) => k.level), keys.map((k) => k.index)],
      c,
    );
    const byKey = new Map(r.map((x) => [`${x[0]}/${x[1]}`, x]));
    const out: Tile[] = [];
    for (const k of keys) {
      const x = byKey.get(`${k.level}/${k.index}`);
      if (x) out.push({ level: x[0], index: x[1], width: x[2], hashes: x[3] });
    }
    return out;
  }

  /**
   * BEGIN, lock the head row and read the right-edge tiles, in one round trip (simple protocol: the
   * only value is our own integer ledger key, checked to be one).
   */
  private async beginLocked(c: PoolClient): Promise<{ head: Head; edgeTiles: Tile[] }> {
    const t = this.tables;
    const ledger = this.ledgerKey;
    if (!Number.isSafeInteger(ledger)) throw new StorageError('invalid ledger key');
    // Right-edge tile at level L: index floor(size / 256^(L+1)), present when (size / 256^L) % 256 != 0.
    const sql = `BEGIN;
      WITH h AS (SELECT size, last_hash, frontier, root FROM ${t.heads} WHERE ledger = ${ledger} FOR UPDATE)
      SELECT h.size, h.last_hash, h.frontier, h.root, x.level, x.idx, x.width, x.hashes
      FROM h LEFT JOIN ${t.tiles} x ON x.ledger = ${ledger} AND (x.level, x.idx) IN (
        SELECT l, h.size >> (8 * (l + 1)) FROM generate_series(0, 6) AS l
        WHERE h.size >> (8 * l) > 0 AND (h.size >> (8 * l)) & 255 <> 0)
      ORDER BY x.level`;
    const res = (await c.query({
      text: sql,
      rowMode: 'array',
      types: this.types!,
    } as QueryArrayConfig)) as unknown as {
      rows: unknown[][];
    }[];
    const rows = res[1]?.rows as
      | [number, string | null, Buffer, Buffer, number | null, number, number, Buffer][]
      | undefined;
    const first = rows?.[0];
    if (!rows || !first) throw new StorageError('the head row is missing: the store is corrupt');
    const head: Head = { size: first[0], lastHash: first[1], frontier: first[2], rootHash: first[3] };
    let edgeTiles: Tile[] = [];
    for (const r of rows)
      if (r[4] !== null) edgeTiles.push({ level: r[4], index: r[5], width: r[6], hashes: r[7] });
    const keys = rightEdgeTiles(head.size);
    // If this statement waited for the lock, the head is the newest version (FOR UPDATE re-reads it)
    // but the joined tiles come from the snapshot taken before the wait: when their widths do not
    // fit the head, read them again in a new statement (a new snapshot, after the lock).
    const fits = (ts: Tile[]) =>
      ts.length === keys.length &&
      keys.every((k, i) => {
        const x = ts[i]!;
        return (
          x.level === k.level &&
          x.index === k.index &&
          x.width === Math.floor(head.size / 256 ** k.level) % 256
        );
      });
    if (!fits(edgeTiles)) {
      edgeTiles = await this.tilesOf(keys, c);
      if (!fits(edgeTiles))
        throw new StorageError('right-edge tiles are missing or do not match the head: the store is corrupt');
    }
    return { head, edgeTiles };
  }

  async append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    const t = this.tables;
    const ledger = this.ledgerKey;
    return this.tx(async (c) => {
      // The row lock is held until COMMIT: other writers (any process) wait here, so the head
      // \`build\` sees is the head the batch is written over.
      const { head, edgeTiles } = await this.beginLocked(c);
      const batch = await build({ head, edgeTiles });
      const es = batch.entries;
      es.forEach((e, i) => {
        if (e.index !== head.size + i)
          throw new StorageError(`entry index ${e.index} is not contiguous with head ${head.size}`);
      });
      const h = batch.head;
      // Without erasures the statement has no UPDATE of entries, so a role granted only
      // INSERT on entries can append (docs/BACKENDS.md).
      const erase = batch.erase.length > 0;
      const r = await this.rows<[number]>(
        erase ? 'commit_erase' : 'commit',
        `WITH e AS (
           INSERT INTO ${t.entries} (ledger, ${COLS})
           SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bytea[], $6::text[], $7::text[], $8::bytea[], $9::text[])
         ), tl AS (
           INSERT INTO ${t.tiles} (ledger, level, idx, width, hashes)
           SELECT $1, * FROM unnest($10::int[], $11::bigint[], $12::int[], $13::bytea[])
           ON CONFLICT (ledger, level, idx) DO UPDATE SET width = excluded.width, hashes = excluded.hashes
         )${
           erase
             ? `, x AS (
           UPDATE ${t.entries} SET data = NULL, salt = NULL WHERE ledger = $1 AND idx = ANY($14::bigint[]) RETURNING 1
         )`
             : ''
         }
         UPDATE ${t.heads} SET size = $15, last_hash = $16, frontier = $17, root = $18
         WHERE ledger = $1 AND size = $19
         RETURNING ${erase ? '(SELECT count(*) FROM x)' : 'cardinality($14::bigint[])'}`,
        [
          ledger,
          es.map((e) => e.index),
          es.map((e) => e.id),
          es.map((e) => e.timestampMs),
          es.map((e) => e.hash),
          es.map((e) => e.body),
          es.map((e) => e.data),
          es.map((e) => e.salt),
          es.map((e) => e.signatures),
          batch.tiles.map((x) => x.level),
          batch.tiles.map((x) => x.index),
          batch.tiles.map((x) => x.width),
          batch.tiles.map((x) => x.hashes),
          batch.erase,
          h.size,
          h.lastHash,
          h.frontier,
          h.rootHash,
          head.size,
        ],
        c,
      );
      if (r.length !== 1) throw new StorageError('the head moved while it was locked: the store is corrupt');
      if (Number(r[0]![0]) !== new Set(batch.erase).size)
        throw new StorageError('cannot erase a missing entry');
      return batch;
    }, false);
  }

  async readHead(): Promise<Head> {
    return this.headOf(undefined, false);
  }

  async readTiles(keys: readonly TileKey[]): Promise<Tile[]> {
    return this.tilesOf(keys);
  }

  async getByIndex(index: number): Promise<StoredEntry | null> {
    const r = await this.rows<Row>(
      'by_index',
      `SELECT ${COLS} FROM ${this.tables.entries} WHERE ledger = $1 AND idx = $2`,
      [this.ledgerKey, index],
    );
    return r[0] ? rowToStored(r[0]) : null;
  }

  async getById(id: string): Promise<StoredEntry | null> {
    const r = await this.rows<Row>(
      'by_id',
      `SELECT ${COLS} FROM ${this.tables.entries} WHERE ledger = $1 AND id = $2`,
      [this.ledgerKey, id],
    );
    return r[0] ? rowToStored(r[0]) : null;
  }

  /** WHERE clauses for a range; values are always parameters. */
  private rangeSql(q: RangeQuery, extra: string[], params: unknown[]): { text: string; values: unknown[] } {
    const where = ['ledger = $1', ...extra];
    const values: unknown[] = [this.ledgerKey, ...params];
    const add = (clause: string, v: unknown) => {
      values.push(v);
      where.push(clause.replace('?', `$${values.length}`));
    };
    if (q.fromIndex !== undefined) add('idx >= ?', q.fromIndex);
    if (q.toIndex !== undefined) add('idx < ?', q.toIndex);
    if (q.startMs !== undefined) add('ts >= ?', q.startMs);
    if (q.endMs !== undefined) add('ts <= ?', q.endMs);
    values.push(q.limit ?? null, q.offset ?? 0);
    const text = `SELECT ${COLS} FROM ${this.tables.entries} WHERE ${where.join(' AND ')}
      ORDER BY idx ${q.order === 'desc' ? 'DESC' : 'ASC'} LIMIT $${values.length - 1} OFFSET $${values.length}`;
    return { text, values };
  }

  private async unnamed(text: string, values: unknown[]): Promise<StoredEntry[]> {
    try {
      const r = await this.p.query({ text, values, rowMode: 'array', types: this.types! });
      return (r.rows as Row[]).map(rowToStored);
    } catch (err) {
      throw new StorageError(`PostgreSQL query failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async getRange(q: RangeQuery): Promise<StoredEntry[]> {
    const { text, values } = this.rangeSql(q, [], []);
    return this.unnamed(text, values);
  }

  /**
   * `where` becomes jsonb containment on the GIN-indexed query copies of data and metadata; for JSON
   * scalars containment is exact equality at the path.
   */
  async query(q: StructuredQuery): Promise<StoredEntry[]> {
    const data: Record<string, unknown> = {};
    const metadata: Record<string, unknown> = {};
    for (const [path, value] of Object.entries(q.where ?? {})) {
      const p = parseWherePath(path);
      let node = p.root === 'data' ? data : metadata;
      p.segments.forEach((s, i) => {
        if (i === p.segments.length - 1) {
          node[s] = value;
        } else {
          if (typeof node[s] !== 'object' || node[s] === null) node[s] = {};
          node = node[s] as Record<string, unknown>;
        }
      });
    }
    const t = this.tables;
    const extra: string[] = [];
    const params: unknown[] = [];
    if (Object.keys(data).length) {
      params.push(jsonbSafe(JSON.stringify(data)));
      extra.push(`${t.jsonb}(data) @> $${params.length + 1}::jsonb`);
    }
    if (Object.keys(metadata).length) {
      params.push(jsonbSafe(JSON.stringify(metadata)));
      extra.push(`(${t.jsonb}(body) -> 'metadata') @> $${params.length + 1}::jsonb`);
    }
    const { text, values } = this.rangeSql(q, extra, params);
    return this.unnamed(text, values);
  }

  async *scan(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {},
  ): AsyncIterable<StoredEntry[]> {
    const chunk = Math.max(1, options.chunkSize ?? 5000);
    let i = options.fromIndex ?? 0;
    const to = options.toIndex ?? Number.MAX_SAFE_INTEGER;
    const text = `SELECT ${COLS} FROM ${this.tables.entries} WHERE ledger = $1 AND idx >= $2 AND idx < $3 ORDER BY idx LIMIT $4`;
    for (;;) {
      const rows = await this.rows<Row>('scan', text, [this.ledgerKey, i, to, chunk]);
      if (rows.length === 0) return;
      yield rows.map(rowToStored);
      i = rows[rows.length - 1]![0] + 1;
      if (rows.length < chunk) return;
    }
  }

  async addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    await this.rows(
      'add_checkpoint',
      `INSERT INTO ${this.tables.checkpoints} (ledger, size, root, note, created_ms) VALUES ($1, $2, $3, $4, $5)`,
      [this.ledgerKey, cp.size, cp.rootHash, cp.note, cp.createdAtMs],
    );
  }

  private async checkpoints(name: string, where: string, values: unknown[]): Promise<StoredCheckpoint[]> {
    const r = await this.rows<[number, Buffer, string, number]>(
      name,
      `SELECT size, root, note, created_ms FROM ${this.tables.checkpoints} WHERE ledger = $1 ${where}`,
      [this.ledgerKey, ...values],
    );
    return r.map((x) => ({ size: x[0], rootHash: x[1], note: x[2], createdAtMs: x[3] }));
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return (await this.checkpoints('cp_latest', 'ORDER BY size DESC LIMIT 1', []))[0] ?? null;
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    return (await this.checkpoints('cp_at', 'AND size = $2', [size]))[0] ?? null;
  }

  async listCheckpoints(options: { limit?: number } = {}): Promise<StoredCheckpoint[]> {
    const r = await this.checkpoints('cp_list', 'ORDER BY size DESC LIMIT $2', [options.limit ?? null]);
    return r.reverse();
  }

  async stats(): Promise<StorageStats> {
    const t = this.tables;
    const [e] = await this.rows<[number, number]>(
      'stats',
      `SELECT count(*)::int8,
         coalesce(sum(length(hash) + octet_length(body) + coalesce(octet_length(data), 0) + coalesce(length(salt), 0)
           + coalesce(octet_length(sigs), 0) + octet_length(id) + 16), 0)::int8
       FROM ${t.entries} WHERE ledger = $1`,
      [this.ledgerKey],
    );
    const [first] = await this.rows<[number]>(
      'first_ts',
      `SELECT ts FROM ${t.entries} WHERE ledger = $1 ORDER BY idx LIMIT 1`,
      [this.ledgerKey],
    );
    const [last] = await this.rows<[number]>(
      'last_ts',
      `SELECT ts FROM ${t.entries} WHERE ledger = $1 ORDER BY idx DESC LIMIT 1`,
      [this.ledgerKey],
    );
    const [tiles] = await this.rows<[number]>(
      'tile_bytes',
      `SELECT coalesce(sum(length(hashes)), 0)::int8 FROM ${t.tiles} WHERE ledger = $1`,
      [this.ledgerKey],
    );
    return {
      entries: e?.[0] ?? 0,
      entryBytes: e?.[1] ?? 0,
      uncompressedEntryBytes: e?.[1] ?? 0,
      tileBytes: tiles?.[0] ?? 0,
      firstTimestampMs: first?.[0] ?? null,
      lastTimestampMs: last?.[0] ?? null,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pool = this.pool;
    this.pool = null;
    if (pool && this.ownsPool) await pool.end();
  }

  /** The pool in use (tests tamper through it; advanced users may run read-only SQL). */
  get connection(): Pool {
    return this.p;
  }
}
