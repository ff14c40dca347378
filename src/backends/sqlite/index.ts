export { assertLedgerName, SQLITE_SCHEMA_VERSION } from './schema.js';
export { SQLiteBackend, type SQLiteBackendOptions } from './sqlite-backend.js';
