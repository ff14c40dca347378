/**
 * A StorageBackend wrapper the CLI opens every ledger through. It enforces what the command
 * promised: read-only commands can never write (append and addCheckpoint throw), and commands
 * other than init/import never create a ledger as a side effect of opening a store.
 */

import type { StoredEntry } from '../entry/types.js';
import type { Tile, TileKey } from '../merkle/tiles.js';
import type {
  AppendBatch,
  AppendContext,
  Head,
  LedgerMeta,
  ParallelScanSpec,
  RangeQuery,
  StorageBackend,
  StorageStats,
  StoredCheckpoint,
  StructuredQuery,
} from '../storage/backend.js';
import { CliError } from './errors.js';

export interface GuardOptions {
  readOnly: boolean;
  /** Allow `open` to create the ledger (init, import). */
  allowCreate: boolean;
  /** Where the store is, for messages. */
  label: string;
}

export class GuardedBackend implements StorageBackend {
  readonly kind: string;
  /** True once `open` created the ledger (it did not exist before). */
  created = false;
  query?: (q: StructuredQuery) => Promise<StoredEntry[]>;
  /** Forwarded so `signledger verify` uses worker threads on SQLite (they open the file read-only). */
  parallelScanSpec?: () => ParallelScanSpec | null;

  constructor(
    readonly inner: StorageBackend,
    private readonly guard: GuardOptions,
  ) {
    this.kind = inner.kind;
    if (inner.query) this.query = (q) => inner.query!(q);
    if (inner.parallelScanSpec) this.parallelScanSpec = () => inner.parallelScanSpec!();
  }

  private refuse(what: string): never {
    throw new CliError(`internal: a read-only command tried to ${what}`, 'READ_ONLY');
  }

  open(name: string, create: () => LedgerMeta): Promise<LedgerMeta> {
    return this.inner.open(name, () => {
      if (!this.guard.allowCreate || this.guard.readOnly) {
        throw new CliError(
          `${this.guard.label} holds no ledger named "${name}": run \`signledger init\` first`,
          'NOT_FOUND',
        );
      }
      this.created = true;
      return create();
    });
  }

  append(build: (ctx: AppendContext) => AppendBatch | Promise<AppendBatch>): Promise<AppendBatch> {
    if (this.guard.readOnly) this.refuse('append');
    return this.inner.append(build);
  }

  addCheckpoint(cp: StoredCheckpoint): Promise<void> {
    if (this.guard.readOnly) this.refuse('store a checkpoint');
    return this.inner.addCheckpoint(cp);
  }

  readHead(): Promise<Head> {
    return this.inner.readHead();
  }
  readTiles(keys: readonly TileKey[]): Promise<Tile[]> {
    return this.inner.readTiles(keys);
  }
  getByIndex(index: number): Promise<StoredEntry | null> {
    return this.inner.getByIndex(index);
  }
  getById(id: string): Promise<StoredEntry | null> {
    return this.inner.getById(id);
  }
  getRange(query: RangeQuery): Promise<StoredEntry[]> {
    return this.inner.getRange(query);
  }
  scan(options?: { fromIndex?: number; toIndex?: number; chunkSize?: number }): AsyncIterable<StoredEntry[]> {
    return this.inner.scan(options);
  }
  latestCheckpoint(): Promise<StoredCheckpoint | null> {
    return this.inner.latestCheckpoint();
  }
  getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    return this.inner.getCheckpoint(size);
  }
  listCheckpoints(options?: { limit?: number }): Promise<StoredCheckpoint[]> {
    return this.inner.listCheckpoints(options);
  }
  stats(): Promise<StorageStats> {
    return this.inner.stats();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
