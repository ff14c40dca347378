export { InMemoryBackend } from './backends/memory/memory-backend.js';
export { Compressor } from './compression/index.js';
export { HASH_ALGORITHMS, type HashAlgorithm } from './crypto/hash.js';
export { canonicalize, canonicalizeBytes, type JsonObject, type JsonValue } from './encoding/canonical.js';
export type { Entry, EntryType, StoredEntry } from './entry/types.js';
export * from './errors.js';
export {
  type BatchEntryError,
  BatchProcessor,
  type BatchProcessorOptions,
  type BatchReport,
} from './ledger/batch.js';
export { Ledger, type Subscriber, type VerifyOptions } from './ledger/ledger.js';
export { generateLogKey, type LogKey, resolveLogKey } from './ledger/log-key.js';
export type {
  AppendOptions,
  GetEntriesOptions,
  LedgerOptions,
  LedgerStats,
  QueryOptions,
  SignerLike,
  StructuredQueryOptions,
} from './ledger/options.js';
export { MerkleTree } from './merkle/tree.js';
export { backendFromUrl, type LedgerConfig, openLedger, registerBackendScheme } from './open.js';
export {
  type CheckpointInput,
  type ConsistencyProofData,
  computeEntryHash,
  entryLeafHash,
  type InclusionProofData,
  openSignedCheckpoint,
  type SignedCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from './verify/proofs.js';
export type { AssuranceLevel, VerificationReport } from './verify/report.js';
