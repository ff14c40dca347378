import type { Compressor } from '../compression/compressor.js';
import type { HashAlgorithm } from '../crypto/hash.js';
import type { MultiSigner } from '../crypto/signatures/multi.js';
import type { Signer } from '../crypto/signatures/types.js';
import type { Entry } from '../entry/types.js';
import type { IntegrityError } from '../errors.js';
import type { NoteVerifier } from '../note/keys.js';
import type { StorageBackend } from '../storage/backend.js';
import type { SignatureChecker } from '../verify/stream-verifier.js';
import type { LogKey } from './log-key.js';

/** A Signer, or one of its bound functions (the seed's `signer: rsa.sign`). */
export type SignerLike = Signer | ((message: string) => Promise<string>);

export interface LedgerOptions {
  /** Where entries live. Default: a fresh InMemoryBackend. */
  backend?: StorageBackend;
  /** Ledger name inside the store (several ledgers may share one database). Default "default". */
  name?: string;
  /**
   * Entry hash algorithm for a NEW ledger (default sha256). An existing ledger keeps the one it was
   * created with; passing a different one explicitly is refused.
   */
  hashAlgorithm?: HashAlgorithm;
  /**
   * Compress stored entries (SQLite and in-memory backends). Transparent: hashes, proofs and
   * signatures are over the uncompressed canonical bytes.
   */
  compression?: Compressor;
  /** Signs checkpoints (C2SP signed note). A vkey string gives a verify-only ledger. */
  logKey?: LogKey | string;
  /** Checkpoint origin line; default the log key's name. */
  origin?: string;
  /**
   * Sign every entry with this signer by default. An append may still opt out with `sign: false`
   * unless `enableSignatures` is set.
   */
  signer?: SignerLike;
  /** Several signers (distinct keys; a list or a MultiSigner): every entry carries one signature from each. */
  signers?: readonly SignerLike[] | MultiSigner;
  /**
   * Require every entry to be signed: an append without a signer (or with `sign: false`) is
   * refused, and verify() requires one valid signature per event unless `requireSignatures` says otherwise.
   */
  enableSignatures?: boolean;
  /** Trusted public keys for verifying entry signatures (a KeyRing). Default: the signers given here. */
  keyring?: SignatureChecker;
  /**
   * Valid signatures from distinct keys each event entry must carry for verification to pass.
   * Default: 1 with `enableSignatures`, else 0.
   */
  requireSignatures?: number;
  /** Witness keys whose cosignatures on trusted checkpoints are checked. */
  witnesses?: readonly NoteVerifier[];
  witnessQuorum?: number;
  /** Periodically verify new entries (incrementally). `true` = every 60 s. */
  autoVerify?: boolean | { intervalMs?: number };
  /**
   * Called when a subscriber throws or its promise rejects (the append has succeeded regardless).
   * Default: the error is dropped.
   */
  onSubscriberError?: (error: unknown, entry: Entry) => void;
  /** Called when background verification fails. Default: the error is kept in `lastAutoVerifyError`. */
  onIntegrityError?: (error: IntegrityError) => void;
  /**
   * Size of the recent-entries cache `getEntry` answers from (0 disables). Default 1,000 on the
   * in-memory backend, 0 on stores other processes can write: an entry redacted through another
   * process would be served from this cache, data included, until evicted. Set it there only if no
   * other process redacts.
   */
  maxEntriesMemory?: number;
  /** Merkle tiles (≤ 16 KiB each) cached for proof generation (default 4,096; 0 disables). */
  proofCacheTiles?: number;
  /** Largest canonical size of one entry's data plus metadata (default 1 MiB). */
  maxEntryBytes?: number;
  /** Most appends committed in one storage transaction (default 4,096). */
  maxBatchSize?: number;
  /**
   * How long a group commit waits for its signers (default 30,000 ms; `Infinity` waits forever).
   * Appends are sequenced through signing (a signature covers the entry hash, which covers the
   * previous one): an entry whose signer has not answered by then fails with SignatureError and
   * the rest of its group commits, instead of a hung KMS holding every later append.
   */
  signTimeoutMs?: number;
  /** Clock for timestamps (tests): whole epoch milliseconds; any other reading fails that append (ConfigurationError, nothing written). */
  now?: () => number;
}

export interface AppendOptions {
  metadata?: Record<string, unknown>;
  /** Sign this entry (with `signer`, or the ledger's signer). */
  sign?: boolean;
  /** Sign this entry with this signer instead of the ledger's. */
  signer?: SignerLike;
  /** Sign this entry with each of these (distinct keys; with `signer`, after it) instead of the ledger's. */
  signers?: readonly SignerLike[] | MultiSigner;
}

export interface GetEntriesOptions {
  offset?: number;
  limit?: number;
  startTime?: Date | number | string;
  endTime?: Date | number | string;
  /** `asc` (default): append order from the start; `desc`: newest first. */
  order?: 'asc' | 'desc';
}

export interface QueryOptions {
  limit?: number;
  startTime?: Date | number | string;
  endTime?: Date | number | string;
}

export interface StructuredQueryOptions extends QueryOptions {
  where?: Record<string, string | number | boolean | null>;
  from?: Date | number | string;
  to?: Date | number | string;
  offset?: number;
  order?: 'asc' | 'desc';
}

export interface LedgerStats {
  ledgerId: string;
  name: string;
  backend: string;
  totalEntries: number;
  firstEntryTime: Date | null;
  lastEntryTime: Date | null;
  /**
   * Bytes of entry rows as stored (after compression, if any), in the store's own representation:
   * on SQLite, PostgreSQL, MongoDB and Redis the bytes it keeps; in memory, the UTF-16 units of its
   * texts plus hashes as hex, an estimate of its footprint, not what a disk store would use.
   */
  totalSizeBytes: number;
  /** Bytes of the persisted Merkle tree. */
  treeSizeBytes: number;
  uncompressedSizeBytes: number;
  compressionRatio: number;
  hashAlgorithm: HashAlgorithm;
  rootHash: string;
  latestCheckpointSize: number | null;
  formatVersion: number;
}
