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
export { MongoDBBackend, type MongoDBBackendOptions } from './mongodb/mongodb-backend.js';
export { PostgreSQLBackend, type PostgreSQLBackendOptions } from './postgres/postgres-backend.js';
export { RedisBackend, type RedisBackendOptions } from './redis/redis-backend.js';
export { SQLiteBackend, type SQLiteBackendOptions } from './sqlite/sqlite-backend.js';
