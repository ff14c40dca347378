import type { Pool, PoolClient, PoolConfig, QueryArrayConfig, QueryConfig } from 'pg';
import type { StoredEntry } from '../../entry/types.js';
import {
  AlreadyErasedError,
  CommitOutcomeUnknownError,
  ConfigurationError,
  type IntegrityFailure,
  SignLedgerError,
  StorageError,
} from '../../errors.js';
import { decodeFrontier } from '../../merkle/frontier.js';
import { EMPTY_ROOT } from '../../merkle/hash.js';
import {
  edgeTilesFromFrontier,
  strayTile,
  strayTileFailure,
  type Tile,
  type TileKey,
  tileSplice,
} from '../../merkle/tiles.js';
import {
  type AppendBatch,
  type AppendContext,
  emptyHead,
  type Head,
  type LedgerMeta,
  outsideLogFailure,
  type ParallelScanSpec,
  type RangeQuery,
  type StorageBackend,
  type StorageStats,
  type StoredCheckpoint,
  type StructuredQuery,
} from '../../storage/backend.js';
import { parseWherePath } from '../../storage/where.js';
import { assertLedgerName } from '../sqlite/schema.js';
import { copyBinary, copyInQuery } from './copy-in.js';
import { CopyRows, CopyTiles } from './copy-rows.js';
import { loadPg, type PgModule } from './driver.js';
import { byteaLit, intLit, textLit } from './literals.js';
import { ddl, HAS_METADATA, jsonbSafe, type PgTables, POSTGRES_SCHEMA_VERSION, pgTables } from './schema.js';

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
  /**
   * Create the two GIN indexes that serve `query({ where })` when creating the tables (default
   * true). Without them appends cost the server ~15% less CPU and `where` queries stay correct
   * but scan the ledger's rows. Applies only when this backend creates the tables.
   */
  queryIndexes?: boolean;
  /**
   * Keep the head lock until the group's commit is flushed (default false). By default a group
   * commits with synchronous_commit off, releasing the lock at once, and its append resolves only
   * after a second, synchronous transaction in the same round trip has flushed the WAL up to it
   * (replicas included, per the session's synchronous_commit): durability is unchanged, and the
   * next writer's work overlaps the flush. Other sessions may see a group a moment before it is
   * durable; a server crash in that moment loses it together with every later group (WAL order),
   * never forking the chain. Set true for the strict order, or when the role may not execute
   * pg_logical_emit_message (then it is used automatically).
   */
  holdLockUntilDurable?: boolean;
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

/**
 * A durable no-op: a transactional WAL message, so this transaction's commit flushes (with the
 * session's synchronous_commit, replicas included) all WAL before it — the group committed just
 * before with synchronous_commit off among it.
 */
const FLUSH = `SELECT pg_logical_emit_message(true, 'signledger', '')`;

type TypeParsers = NonNullable<QueryConfig['types']>;

/**
 * A client taken from the pool. pg emits 'error' on a checked-out client whose connection drops
 * between queries (e.g. while an append's group is being signed); with no listener that is an
 * uncaught 'error' event and the process dies. The error is kept instead: the next query fails,
 * the append rejects, and the client is destroyed on release rather than returned to the pool.
 */
/**
 * The connection failed rather than a statement: no SQLSTATE (a socket error), a connection
 * exception (class 08), or the server shutting the session down (57P01-57P03).
 */
function connectionFailure(code: unknown): boolean {
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true;
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

async function checkout(pool: Pool): Promise<PoolClient> {
  let c: PoolClient;
  try {
    c = await pool.connect();
  } catch (err) {
    throw new StorageError(`cannot connect to PostgreSQL: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
  c.on('error', keepLostConnection);
  return c;
}

/** The connection error of each checked-out client whose connection dropped (not a pg client field). */
const lostConnections = new WeakMap<PoolClient, Error>();

function keepLostConnection(this: PoolClient, err: Error): void {
  lostConnections.set(this, err);
}

function checkin(c: PoolClient, broken: Error | undefined): void {
  c.off('error', keepLostConnection);
  const lost = lostConnections.get(c);
  lostConnections.delete(c);
  c.release(broken ?? lost);
}

/**
 * PostgreSQL through `pg`. Many processes may append to one ledger: each group commit is one
 * transaction that locks the ledger's head row (`SELECT … FOR UPDATE`), so writers queue in the
 * database and the chain never forks; a writer that dies mid-transaction is rolled back by the server.
 */
export class PostgreSQLBackend implements StorageBackend {
  readonly kind = 'postgres';
  private openedName: string | null = null;
  private readonly options: PostgreSQLBackendOptions;
  readonly tables: PgTables;
  private pool: Pool | null = null;
  private ownsPool = false;
  private ledgerNo: number | null = null;
  private types: TypeParsers | null = null;
  private closed = false;
  /** Commit groups asynchronously and flush after the lock is released (see holdLockUntilDurable). */
  private earlyRelease = false;
  private pg: PgModule | null = null;

  constructor(options: PostgreSQLBackendOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ConfigurationError('PostgreSQLBackend takes an options object');
    this.options = { ...options };
    this.tables = pgTables(options.tablePrefix ?? 'signledger_', options.schema);
  }

  async open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    if (this.closed) throw new StorageError('the PostgreSQL backend is closed', { code: 'STORAGE_CLOSED' });
    assertLedgerName(name);
    this.openedName = name;
    const pg = await loadPg();
    this.pg = pg;
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
          if (!(await exists())) await c.query(ddl(t, this.options.queryIndexes !== false));
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
        this.earlyRelease =
          this.options.holdLockUntilDurable !== true &&
          (
            await c.query(
              "SELECT has_function_privilege('pg_catalog.pg_logical_emit_message(boolean, text, text)', 'EXECUTE') AS ok",
            )
          ).rows[0]?.ok === true;
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
    const c = await checkout(pool);
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
      checkin(c, broken as Error | undefined);
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

  /**
   * Tiles by key, in the keys' order (missing ones skipped), through a binary COPY (copy-rows.ts): a
   * tile is 16 KiB of hashes, which a text-format result would hex-encode on the server and decode
   * here, and verify() reads every tile (measured: ~6% of a two-thread PostgreSQL verify).
   */
  private async tilesOf(keys: readonly TileKey[]): Promise<Tile[]> {
    if (keys.length === 0) return [];
    const t = this.tables;
    // COPY takes no parameters: every value here is an integer checked by intLit.
    const wanted = keys.map((k) => `(${intLit(k.level)},${intLit(k.index)})`).join(',');
    const sql = `COPY (SELECT level, idx, width, hashes FROM ${t.tiles} WHERE ledger = ${intLit(this.ledgerKey)}
      AND (level, idx) IN (VALUES ${wanted})) TO STDOUT (FORMAT binary)`;
    const c = await checkout(this.p);
    let broken: Error | undefined;
    let rows: Tile[];
    try {
      const q = new CopyTiles(sql);
      (c as unknown as { query(q: CopyTiles): void }).query(q);
      rows = await q.done;
    } catch (err) {
      if (!(err as { code?: string }).code) broken = err as Error;
      throw new StorageError(`PostgreSQL tile read failed: ${(err as Error).message}`, { cause: err });
    } finally {
      checkin(c, broken);
    }
    const byKey = new Map(rows.map((x) => [`${x.level}/${x.index}`, x]));
    const out: Tile[] = [];
    for (const k of keys) {
      const x = byKey.get(`${k.level}/${k.index}`);
      if (x) out.push(x);
    }
    return out;
  }

  /**
   * BEGIN and lock the head row, in one round trip (simple protocol: the only value is our own
   * integer ledger key, checked to be one). The right-edge tiles are not read: an append needs only
   * their frontier nodes, which the head holds (`edgeTilesFromFrontier`), and writes only their new
   * nodes, spliced into the stored blobs by the commit statement (`commitSql`). Reading them took
   * a statement and up to ~26 KiB of hex each way per group while the lock was held.
   */
  private async beginLocked(c: PoolClient): Promise<{ head: Head; edgeTiles: Tile[] }> {
    const t = this.tables;
    const ledger = intLit(this.ledgerKey);
    const sql = `BEGIN ISOLATION LEVEL READ COMMITTED;${this.earlyRelease ? ' SET LOCAL synchronous_commit = off;' : ''}
      SELECT size, last_hash, frontier, root FROM ${t.heads} WHERE ledger = ${ledger} FOR UPDATE`;
    const res = (await c.query({
      text: sql,
      rowMode: 'array',
      types: this.types!,
    } as QueryArrayConfig)) as unknown as {
      rows: unknown[][];
    }[];
    const first = res[res.length - 1]?.rows[0] as [number, string | null, Buffer, Buffer] | undefined;
    if (!first) throw new StorageError('the head row is missing: the store is corrupt');
    const head: Head = { size: first[0], lastHash: first[1], frontier: first[2], rootHash: first[3] };
    let edgeTiles: Tile[];
    try {
      edgeTiles = edgeTilesFromFrontier(head.size, decodeFrontier(head.frontier, head.size));
    } catch (err) {
      throw new StorageError(`the head's frontier does not fit its size: the store is corrupt`, {
        cause: err,
      });
    }
    return { head, edgeTiles };
  }

  /**
   * The group's write, COMMIT and the flush as one message: one round trip while the lock is held.
   * The first statement moves the head and guards everything: `size` and `root` are NOT NULL, so a
   * head that moved or an erase that missed its row fails it, and a missing head row fails the
   * division; the rest of the message (the COPY of the entries, COMMIT) is then skipped and the
   * transaction rolled back. Tiles are written only if the head row was updated.
   */
  private commitSql(old: Head, edgeTiles: readonly Tile[], batch: AppendBatch): string {
    const t = this.tables;
    const L = intLit(this.ledgerKey);
    const h = batch.head;
    const erase = [...new Set(batch.erase)].map(intLit);
    // Tiles the group started (old width 0) are written whole; an edge tile it grew keeps its
    // stored nodes and gets the new ones spliced in, guarded: a stored width other than the one the
    // head implies fails the statement (NOT NULL on width), and so does a missing tile (ln(0)).
    const tiles: string[] = [];
    const grown: string[] = [];
    for (const x of batch.tiles) {
      const edge = edgeTiles.find((e) => e.level === x.level && e.index === x.index);
      if (!edge || edge.width === 0) {
        tiles.push(`(${L},${intLit(x.level)},${intLit(x.index)},${intLit(x.width)},${byteaLit(x.hashes)})`);
        continue;
      }
      const pieces: string[] = [];
      for (const p of tileSplice(edge.width, x.width)) {
        if (p.oldLength) pieces.push(`substring(hashes from ${p.oldStart + 1} for ${p.oldLength})`);
        if (p.newLength) pieces.push(byteaLit(x.hashes.subarray(p.newStart, p.newStart + p.newLength)));
      }
      grown.push(`g${grown.length} AS (
  UPDATE ${t.tiles} SET width = CASE WHEN width = ${intLit(edge.width)} THEN ${intLit(x.width)} END,
    hashes = ${pieces.join(' || ')}
  WHERE ledger = ${L} AND level = ${intLit(x.level)} AND idx = ${intLit(x.index)} AND EXISTS (SELECT FROM h) RETURNING 1
)`);
    }
    // Without erasures the statement has no UPDATE of entries, so a role granted only INSERT on
    // entries can append (docs/BACKENDS.md).
    const x = erase.length
      ? `x AS (UPDATE ${t.entries} SET data = NULL, salt = NULL WHERE ledger = ${L} AND idx IN (${erase.join(',')}) AND data IS NOT NULL RETURNING 1),\n`
      : '';
    const root = erase.length
      ? `CASE WHEN (SELECT count(*) FROM x) = ${erase.length} THEN ${byteaLit(h.rootHash)} END`
      : byteaLit(h.rootHash);
    return `WITH ${x}h AS (
  UPDATE ${t.heads} SET size = CASE WHEN size = ${intLit(old.size)} THEN ${intLit(h.size)} END,
    last_hash = ${textLit(h.lastHash)}, frontier = ${byteaLit(h.frontier)}, root = ${root}
  WHERE ledger = ${L} RETURNING 1
)${
      tiles.length
        ? `, tl AS (
  INSERT INTO ${t.tiles} (ledger, level, idx, width, hashes)
  SELECT * FROM (VALUES ${tiles.join(',\n')}) v WHERE EXISTS (SELECT FROM h)
  ON CONFLICT (ledger, level, idx) DO UPDATE SET width = excluded.width, hashes = excluded.hashes
)`
        : ''
    }${grown.length ? `,\n${grown.join(',\n')}` : ''}
SELECT 1 / (SELECT count(*) FROM h)::int${
      grown.length
        ? `, ln(${grown.map((_, i) => `(SELECT count(*) FROM g${i})`).join(' + ')} - ${grown.length - 1})`
        : ''
    };${batch.entries.length ? `\nCOPY ${t.entries} (ledger, ${COLS}) FROM STDIN (FORMAT binary);` : ''}
COMMIT${this.earlyRelease ? `;\n${FLUSH}` : ''}`;
  }

  /**
   * Why an erase missed: entries another writer erased first (AlreadyErasedError; erased data stays
   * erased, so reading after the rollback is exact) or no such entry.
   */
  private async eraseMissed(c: PoolClient, indexes: readonly number[], cause: unknown): Promise<Error> {
    try {
      await c.query('ROLLBACK');
      const r = await c.query<{ idx: string }>(
        `SELECT idx FROM ${this.tables.entries} WHERE ledger = ${intLit(this.ledgerKey)} AND idx IN (${[...new Set(indexes)].map(intLit).join(',')}) AND data IS NULL ORDER BY idx`,
      );
      if (r.rows.length) return new AlreadyErasedError(r.rows.map((x) => Number(x.idx)));
    } catch {
      // The connection failed too: report the miss itself.
    }
    return new StorageError('cannot erase a missing entry', { cause });
  }

  async append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    const pool = this.p;
    const c = await checkout(pool);
    let broken: unknown;
    try {
      // The row lock is held until COMMIT: other writers (any process) wait here, so the head
      // `build` sees is the head the batch is written over.
      const { head, edgeTiles } = await this.beginLocked(c);
      const batch = await build({ head, edgeTiles });
      const es = batch.entries;
      es.forEach((e, i) => {
        if (e.index !== head.size + i)
          throw new StorageError(`entry index ${e.index} is not contiguous with head ${head.size}`);
      });
      const sql = this.commitSql(head, edgeTiles, batch);
      let res: { rows: unknown[][]; rowCount: number | null }[];
      // A connection already lost (while the group was built and signed) never sends the commit.
      const lostBeforeSend = lostConnections.has(c);
      try {
        const config = { text: sql, rowMode: 'array' };
        res = (await (es.length
          ? new Promise<typeof res>((resolve, reject) => {
              const data = copyBinary(this.ledgerKey, es);
              c.query(
                copyInQuery(this.pg!, config, data, (err, r) =>
                  err ? reject(err) : resolve(r as typeof res),
                ) as never,
              );
            })
          : c.query(config as QueryArrayConfig))) as { rows: unknown[][]; rowCount: number | null }[];
      } catch (err) {
        if (err instanceof StorageError) throw err;
        const e = err as { code?: string; column?: string; message: string };
        if (e.code === '23502' && e.column === 'size')
          throw new StorageError('the head moved while it was locked: the store is corrupt', { cause: err });
        if (e.code === '23502' && e.column === 'root') throw await this.eraseMissed(c, batch.erase, err);
        if ((e.code === '23502' && e.column === 'width') || e.code === '2201E')
          throw new StorageError(
            'right-edge tiles are missing or do not match the head: the store is corrupt',
            {
              cause: err,
            },
          );
        if (e.code === '22012')
          throw new StorageError('the head row is missing: the store is corrupt', { cause: err });
        // No SQLSTATE: the connection failed, not a statement. The message holding the write and
        // its COMMIT may have been applied before it did: the caller must not assume nothing was
        // stored (a retry could store the entries twice); verify() or a read tells.
        if (lostBeforeSend)
          throw new StorageError(
            `the PostgreSQL connection was lost before the commit was sent: nothing was written (${e.message})`,
            { cause: err },
          );
        if (connectionFailure(e.code))
          throw new CommitOutcomeUnknownError(
            `the PostgreSQL connection failed while the commit was in flight (${e.message}): it may or may not have been applied`,
            { cause: err },
          );
        throw new StorageError(`PostgreSQL commit failed: ${e.message}`, { cause: err });
      }
      if (es.length && res[1]?.rowCount !== es.length)
        throw new StorageError('PostgreSQL stored a different number of entries than the group holds');
      return batch;
    } catch (err) {
      // After a failed statement the transaction is still open (its COMMIT was skipped).
      await c.query('ROLLBACK').catch((e) => {
        broken = e;
      });
      // Errors before the commit was sent (the lock wait, a lost connection): nothing was written.
      if (err instanceof SignLedgerError) throw err;
      throw new StorageError(`PostgreSQL append failed: ${(err as Error)?.message ?? String(err)}`, {
        cause: err,
      });
    } finally {
      checkin(c, broken as Error | undefined);
    }
  }

  async readHead(): Promise<Head> {
    return this.headOf(undefined, false);
  }

  async readTiles(keys: readonly TileKey[]): Promise<Tile[]> {
    return this.tilesOf(keys);
  }

  /**
   * Rows in [0, head) only, decided in the same statement (one snapshot): an append moves rows and
   * head in one transaction, so a row past the head, or at a negative index (which verify(),
   * reading from 0, would never see), was put there behind the library's back.
   */
  private inLog(ledger: string): string {
    return `idx >= 0 AND idx < (SELECT size FROM ${this.tables.heads} WHERE ledger = ${ledger})`;
  }

  /** A row stored outside [0, head) (reads skip them): reported by verify(). */
  async auditStore(): Promise<IntegrityFailure | null> {
    const t = this.tables;
    let r: { rows: { idx: string }[] };
    try {
      // Tiles where the tree has none (verify() compares the tiles that should exist); one
      // statement, so the head and the tile keys are one snapshot.
      const tiles = await this.p.query({
        text: `SELECT (SELECT size FROM ${t.heads} WHERE ledger = $1), level, idx FROM ${t.tiles} WHERE ledger = $1`,
        values: [this.ledgerKey],
        rowMode: 'array',
        types: this.types!,
      } as QueryArrayConfig);
      const rows = tiles.rows as [number, number, number][];
      if (rows.length) {
        const size = rows[0]![0];
        const stray = strayTile(
          rows.map((x) => ({ level: x[1], index: x[2] })),
          size,
        );
        if (stray) return strayTileFailure(stray, size);
      }
      // Two index range probes (an OR of the two conditions would scan the ledger's rows).
      r = await this.p.query(
        `(SELECT idx::text AS idx FROM ${t.entries} WHERE ledger = $1 AND idx < 0 ORDER BY idx LIMIT 1)
         UNION ALL
         (SELECT idx::text FROM ${t.entries} WHERE ledger = $1
            AND idx >= (SELECT size FROM ${t.heads} WHERE ledger = $1) ORDER BY idx LIMIT 1)
         LIMIT 1`,
        [this.ledgerKey],
      );
    } catch (err) {
      throw new StorageError(`PostgreSQL query failed: ${(err as Error).message}`, { cause: err });
    }
    const past = r.rows[0];
    if (!past) return null;
    return outsideLogFailure(Number(past.idx));
  }

  async getByIndex(index: number): Promise<StoredEntry | null> {
    const r = await this.rows<Row>(
      'by_index',
      `SELECT ${COLS} FROM ${this.tables.entries} WHERE ledger = $1 AND idx = $2 AND ${this.inLog('$1')}`,
      [this.ledgerKey, index],
    );
    return r[0] ? rowToStored(r[0]) : null;
  }

  async getById(id: string): Promise<StoredEntry | null> {
    const r = await this.rows<Row>(
      'by_id',
      `SELECT ${COLS} FROM ${this.tables.entries} WHERE ledger = $1 AND id = $2 AND ${this.inLog('$1')}`,
      [this.ledgerKey, id],
    );
    return r[0] ? rowToStored(r[0]) : null;
  }

  /** WHERE clauses for a range; values are always parameters. */
  private rangeSql(q: RangeQuery, extra: string[], params: unknown[]): { text: string; values: unknown[] } {
    const where = ['ledger = $1', this.inLog('$1'), ...extra];
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
    // Prototype-less objects and own-property definition: a path segment `__proto__` is a member
    // name like any other (JSON allows it), never a way to reach Object.prototype.
    const data: Record<string, unknown> = Object.create(null);
    const metadata: Record<string, unknown> = Object.create(null);
    const put = (o: Record<string, unknown>, k: string, v: unknown) =>
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    for (const [path, value] of Object.entries(q.where ?? {})) {
      const p = parseWherePath(path);
      let node = p.root === 'data' ? data : metadata;
      p.segments.forEach((s, i) => {
        if (i === p.segments.length - 1) {
          put(node, s, value);
        } else {
          if (!Object.hasOwn(node, s) || typeof node[s] !== 'object' || node[s] === null)
            put(node, s, Object.create(null));
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
      // HAS_METADATA lets the planner use the partial metadata index (schema.ts).
      extra.push(`(${t.jsonb}(body) -> 'metadata') @> $${params.length + 1}::jsonb`, HAS_METADATA);
    }
    const { text, values } = this.rangeSql(q, extra, params);
    return this.unnamed(text, values);
  }

  /**
   * Keyset pages in index order. The next page is requested before the current one is handed out,
   * so the server produces it (and the driver decodes it as it arrives) while the caller works on
   * this one. It is requested on the guess that this page is full and contiguous — then it is
   * exactly the page that follows; otherwise (a gap, the end) the guess is dropped and the next page
   * read from the last index seen. The first page is small so that the caller starts early.
   */
  async *scan(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {},
  ): AsyncIterable<StoredEntry[]> {
    const chunk = Math.max(1, options.chunkSize ?? 5000);
    const to = options.toIndex ?? Number.MAX_SAFE_INTEGER;
    const page = (from: number, n: number) => {
      const p = this.copyRows(from, to, n);
      // A page requested ahead and then dropped must not surface as an unhandled rejection.
      p.catch(() => {});
      return { from, n, rows: p };
    };
    let cur = page(options.fromIndex ?? 0, Math.min(chunk, 512));
    for (;;) {
      const next = cur.from + cur.n < to ? page(cur.from + cur.n, chunk) : null;
      const rows = await cur.rows;
      if (rows.length === 0) return;
      const last = rows[rows.length - 1]!.index;
      yield rows;
      if (rows.length < cur.n) return;
      cur = next && last === cur.from + cur.n - 1 ? next : page(last + 1, chunk);
    }
  }

  /** Rows `from <= idx < to` in index order, at most `limit`, through a binary COPY (copy-rows.ts). */
  private async copyRows(from: number, to: number, limit: number): Promise<StoredEntry[]> {
    const t = this.tables;
    // COPY takes no parameters: every value here is an integer checked by intLit.
    const ledger = intLit(this.ledgerKey);
    const sql = `COPY (SELECT ${COLS} FROM ${t.entries} WHERE ledger = ${ledger} AND idx >= ${intLit(from)} AND idx < ${intLit(to)} AND ${this.inLog(ledger)} ORDER BY idx LIMIT ${intLit(limit)}) TO STDOUT (FORMAT binary)`;
    const c = await checkout(this.p);
    let broken: Error | undefined;
    try {
      const q = new CopyRows(sql);
      (c as unknown as { query(q: CopyRows): void }).query(q);
      return await q.done;
    } catch (err) {
      if (!(err as { code?: string }).code) broken = err as Error;
      throw new StorageError(`PostgreSQL scan failed: ${(err as Error).message}`, { cause: err });
    } finally {
      checkin(c, broken);
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
       FROM ${t.entries} WHERE ledger = $1 AND ${this.inLog('$1')}`,
      [this.ledgerKey],
    );
    const [first] = await this.rows<[number]>(
      'first_ts',
      `SELECT ts FROM ${t.entries} WHERE ledger = $1 AND ${this.inLog('$1')} ORDER BY idx LIMIT 1`,
      [this.ledgerKey],
    );
    const [last] = await this.rows<[number]>(
      'last_ts',
      `SELECT ts FROM ${t.entries} WHERE ledger = $1 AND ${this.inLog('$1')} ORDER BY idx DESC LIMIT 1`,
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

  /**
   * How verification workers open their own connection (parallel verification of large ledgers):
   * the same connection settings with a one-connection pool. None when the pool was handed in (its
   * settings are not known) or the settings cannot be passed to a thread (functions in poolConfig).
   */
  parallelScanSpec(): ParallelScanSpec | null {
    const o = this.options;
    if (o.pool || this.openedName === null || this.closed) return null;
    let poolConfig: Record<string, unknown> | undefined;
    if (o.poolConfig) {
      try {
        poolConfig = structuredClone(o.poolConfig) as Record<string, unknown>;
      } catch {
        return null;
      }
    }
    const connection: Extract<ParallelScanSpec, { kind: 'postgres' }>['connection'] = {};
    if (o.connectionString !== undefined) connection.connectionString = o.connectionString;
    if (o.host !== undefined) connection.host = o.host;
    if (o.port !== undefined) connection.port = o.port;
    if (o.database !== undefined) connection.database = o.database;
    if (o.user !== undefined) connection.user = o.user;
    if (o.password !== undefined) connection.password = o.password;
    if (poolConfig) connection.poolConfig = poolConfig;
    return {
      kind: 'postgres',
      connection,
      ...(o.tablePrefix !== undefined ? { tablePrefix: o.tablePrefix } : {}),
      ...(o.schema !== undefined ? { schema: o.schema } : {}),
      name: this.openedName,
    };
  }

  /** The pool in use (tests tamper through it; advanced users may run read-only SQL). */
  get connection(): Pool {
    return this.p;
  }
}
