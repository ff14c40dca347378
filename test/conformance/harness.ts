/**
 * What the conformance suite needs from each backend under test: a way to make fresh stores and a
 * way to tamper with rows behind the library's back, as an attacker with database access would.
 */
import type { StoredEntry } from '../../src/entry/types.js';
import type { StorageBackend } from '../../src/storage/backend.js';

export interface Tamper {
  /** Overwrite stored columns of the entry at `index` (only the given ones). */
  updateEntry(
    index: number,
    patch: Partial<
      Pick<StoredEntry, 'body' | 'data' | 'hash' | 'timestampMs' | 'id' | 'signatures' | 'salt'>
    >,
  ): Promise<void>;
  /** Read the raw row at `index` as stored. */
  readEntry(index: number): Promise<StoredEntry | null>;
  /** Delete the entry row at `index` (nothing else). */
  deleteEntry(index: number): Promise<void>;
  /** Exchange the contents of rows i and j, keeping their index positions. */
  swapEntries(i: number, j: number): Promise<void>;
  /** Insert a row with the given contents at `index`, shifting every later row up by one (head untouched). */
  insertEntryAt(index: number, row: Omit<StoredEntry, 'index'>): Promise<void>;
  /** Store a row at index -1 (only stores that can hold one: SQLite, PostgreSQL, MongoDB). */
  insertBelowZero?(row: Omit<StoredEntry, 'index'>): Promise<void>;
  /** Delete the last k entries AND rewrite the head and tiles consistently as if they never existed (needs `rebuild`). */
  setHead(head: { size: number; lastHash: string | null; frontier: Buffer; rootHash: Buffer }): Promise<void>;
  /** Overwrite one tile blob. */
  writeTile(level: number, index: number, width: number, hashes: Buffer): Promise<void>;
  /** Delete every tile (a consistent rewrite then writes them again). */
  deleteAllTiles(): Promise<void>;
  /** Delete every entry row. */
  deleteAllEntries(): Promise<void>;
  /** Edit a stored checkpoint row's root/note. */
  updateCheckpoint(size: number, patch: { rootHash?: Buffer; note?: string }): Promise<void>;
  deleteCheckpoints(): Promise<void>;
}

export interface BackendUnderTest {
  backend: StorageBackend;
  tamper: Tamper;
}

export interface BackendFactory {
  /** Name shown in test titles. */
  name: string;
  /** Whether the backend can be used (e.g. a server URL is configured). When false the suite is skipped and says why. */
  available: boolean;
  skipReason?: string;
  /**
   * A fresh, empty store. `key` names the store: calling `open(key)` again must give a second backend
   * object on the SAME store (for multi-writer tests).
   */
  open(key: string): Promise<BackendUnderTest>;
  /** Remove everything `open(key)` created. */
  cleanup(key: string): Promise<void>;
  /**
   * Optional: a script path + env for a child process that appends to the same store (multi-process
   * tests). The child is run as `node --import tsx <script>` with env LEDGER_STORE=<key>.
   */
  childEnv?(key: string): Record<string, string>;
}
