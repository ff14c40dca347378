export { SQLiteBackend, type SQLiteBackendOptions } from './sqlite-backend.js';
export { assertLedgerName, SQLITE_SCHEMA_VERSION } from './schema.js';
