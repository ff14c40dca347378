/**
 * The one contract every storage backend implements (memory, SQLite, PostgreSQL, MongoDB, Redis).
 *
 * Backends store bytes and hashes the ledger computed and provide atomic sequencing; they know
 * nothing of canonical JSON or proof rules. The conformance suite in test/conformance runs unchanged
 * against every implementation.
 */
import type { Compressor } from '../compression/compressor.js';
import type { HashAlgorithm } from '../crypto/hash.js';
import type { StoredEntry } from '../entry/types.js';
import type { IntegrityFailure } from '../errors.js';
import type { Tile, TileKey } from '../merkle/tiles.js';

export const STORAGE_SCHEMA_VERSION = 1;

/** Identity of one ledger inside a store, fixed when it is created. */
export interface LedgerMeta {
  /** On-disk/wire format version of entries (docs/FORMAT.md). */
  formatVersion: number;
  /** Random UUID committed into every entry, so entries cannot be replayed into another ledger. */
  ledgerId: string;
  /** Name of the ledger within its store ("default" unless chosen). */
  name: string;
  hashAlgorithm: HashAlgorithm;
  createdAt: string;
}

/** The log's head: what an append builds on, replaced atomically with each batch. */
export interface Head {
  size: number;
  /** Hex hash of entry `size - 1`, or null when empty. */
  lastHash: string | null;
  /** Concatenated 32-byte roots of the right edge's complete subtrees (merkle/frontier). */
  frontier: Buffer;
  /** RFC 9162 root at `size`. */
  rootHash: Buffer;
}

/** A checkpoint the ledger signed, stored for later consistency checks. */
export interface StoredCheckpoint {
  size: number;
  rootHash: Buffer;
  /** The full signed note text. */
  note: string;
  createdAtMs: number;
}

/** What one group commit writes, all or nothing. */
export interface AppendBatch {
  entries: StoredEntry[];
  /** Tiles created or changed by these entries (merkle/tiles). */
  tiles: Tile[];
  head: Head;
  /**
   * Indexes whose data and salt are erased in the same transaction (redaction). An index with no
   * entry fails the commit with a StorageError; one whose data is already erased (another writer
   * redacted it first) with AlreadyErasedError naming it. Either way nothing of the group is written.
   */
  erase: number[];
}

export interface AppendContext {
  head: Head;
  /**
   * The right-edge partial tiles at `head.size` (merkle/tiles rightEdgeTiles). A backend may instead
   * pass `edgeTilesFromFrontier(head)`: the build reads only frontier nodes, but the returned tiles'
   * old nodes are then placeholders, so that backend must write only the new nodes (`tileSplice`).
   */
  edgeTiles: Tile[];
}

export interface RangeQuery {
  /** First index (inclusive). */
  fromIndex?: number;
  /** Last index (exclusive). */
  toIndex?: number;
  /** Inclusive lower bound on the entry time, ms. */
  startMs?: number;
  /** Inclusive upper bound on the entry time, ms. */
  endMs?: number;
  /** Rows to skip after filtering. */
  offset?: number;
  limit?: number;
  order?: 'asc' | 'desc';
}

/** A structured query pushed down to the database where the backend can. */
export interface StructuredQuery extends RangeQuery {
  /** Equality on JSON paths: `data.user`, `metadata.category`. Values are JSON scalars. */
  where?: Record<string, string | number | boolean | null>;
}

export interface StorageStats {
  entries: number;
  /** Bytes of entry rows as stored (bodies, data, salts, signatures, hashes), excluding tiles. */
  entryBytes: number;
  tileBytes: number;
  /** Bytes before compression, when the backend compresses; equals entryBytes otherwise. */
  uncompressedEntryBytes: number;
  firstTimestampMs: number | null;
  lastTimestampMs: number | null;
}

export interface StorageBackend {
  /** Short name: "memory", "sqlite", "postgres", ... */
  readonly kind: string;

  /**
   * True when nothing outside this process can write the store (in memory). Only then does a ledger
   * keep its recent-entries cache by default: an entry redacted through another process would be
   * served from the cache with its data.
   */
  readonly processLocal?: boolean;

  /**
   * Open the ledger's storage. If the store holds no ledger of this name, `create()` gives the meta
   * to record; otherwise the stored meta is returned and the caller checks it.
   */
  open(name: string, create: () => LedgerMeta): Promise<LedgerMeta>;

  /**
   * Sequencing. Read the head and the right-edge tiles, call `build`, and write its batch atomically
   * only if the head is still the one `build` saw (compare-and-swap or a lock held across `build`).
   * Retry with a fresh head when another writer won. Never writes a batch over a moved head.
   */
  append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch>;

  /**
   * Optional: how many `append` calls may overlap (default 1). A backend that says 2 accepts a
   * second `append` while one commits: it builds on the head the first will produce, and its head
   * check refuses (and retries) that build if the first fails.
   */
  readonly pipelineDepth?: number;

  readHead(): Promise<Head>;
  readTiles(keys: readonly TileKey[]): Promise<Tile[]>;

  getByIndex(index: number): Promise<StoredEntry | null>;
  getById(id: string): Promise<StoredEntry | null>;
  /** Rows in index order (or reverse), filtered by index range and time. */
  getRange(query: RangeQuery): Promise<StoredEntry[]>;
  /**
   * Stream rows in index order from `fromIndex` (default 0) to `toIndex` (default: the end), in
   * chunks. `audit` (verification): present each row's id and time as the store's own read indexes
   * hold them, where those are kept apart from the row (Redis), so an edited index shows as a column
   * that disagrees with the commitment.
   */
  scan(options?: {
    fromIndex?: number;
    toIndex?: number;
    chunkSize?: number;
    audit?: boolean;
  }): AsyncIterable<StoredEntry[]>;
  /** Optional database-side structured query; when absent the ledger filters a scan. */
  query?(q: StructuredQuery): Promise<StoredEntry[]>;

  addCheckpoint(cp: StoredCheckpoint): Promise<void>;
  latestCheckpoint(): Promise<StoredCheckpoint | null>;
  getCheckpoint(size: number): Promise<StoredCheckpoint | null>;
  listCheckpoints(options?: { limit?: number }): Promise<StoredCheckpoint[]>;

  stats(): Promise<StorageStats>;
  close(): Promise<void>;

  /**
   * Optional: check what reads rely on but entry verification cannot see — rows stored past the head,
   * auxiliary indexes kept in ordinary tables. Called by `verify()` after the entries verified; null
   * when everything agrees. Reads already ignore such rows; this makes their presence a failure.
   */
  auditStore?(): Promise<IntegrityFailure | null>;

  /** Optional: how worker threads can open their own reader of this store (parallel verification). */
  parallelScanSpec?(): ParallelScanSpec | null;

  /** Optional: store entry texts compressed (call before open). Backends without it refuse `compression`. */
  useCompression?(compressor: Compressor): void;
}

/** Enough for a worker thread to open its own read-only view of a store (structured-clone friendly). */
export type ParallelScanSpec =
  | { kind: 'sqlite'; path: string; name: string }
  | {
      kind: 'postgres';
      /** Connection settings the worker opens its own one-connection pool with. */
      connection: {
        connectionString?: string;
        host?: string;
        port?: number;
        database?: string;
        user?: string;
        password?: string;
        poolConfig?: Record<string, unknown>;
      };
      tablePrefix?: string;
      schema?: string;
      name: string;
    }
  | {
      kind: 'redis';
      /** Connection settings the worker opens its own client with. */
      connection: {
        url?: string;
        host?: string;
        port?: number;
        username?: string;
        password?: string;
        db?: number;
      };
      prefix: string;
      name: string;
    };

/** auditStore's report of a row (`what`: "a row", "an entry") stored outside [0, head). */
export function outsideLogFailure(index: number, what = 'a row'): IntegrityFailure {
  return {
    kind: 'head_mismatch',
    index,
    message: `${what} with index ${index} is stored ${index < 0 ? 'below index 0' : 'past the head'}: it is not part of the log`,
  };
}

export function emptyHead(emptyRoot: Buffer): Head {
  return { size: 0, lastHash: null, frontier: Buffer.alloc(0), rootHash: emptyRoot };
}
