export type {
  AppendBatch,
  AppendContext,
  Head,
  LedgerMeta,
  RangeQuery,
  StorageBackend,
  StorageStats,
  StoredCheckpoint,
  StructuredQuery,
} from '../storage/backend.js';
export { InMemoryBackend } from './memory/memory-backend.js';
export { SQLiteBackend, type SQLiteBackendOptions } from './sqlite/sqlite-backend.js';
