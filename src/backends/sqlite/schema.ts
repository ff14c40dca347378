/** SQLite schema, versioned. One file can hold several ledgers; each has its own tables, prefixed by name. */
import { ValidationError } from '../../errors.js';

export const SQLITE_SCHEMA_VERSION = 1;

const NAME_RE = /^[a-z][a-z0-9_]{0,47}$/;

/** Ledger names become table-name prefixes: validate them, never interpolate anything unchecked. */
export function assertLedgerName(name: string): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new ValidationError(
      `invalid ledger name ${JSON.stringify(name)}: use 1-48 of [a-z0-9_], starting with a letter`,
      { path: '/name' },
    );
  }
  return name;
}

export interface TableNames {
  entries: string;
  tiles: string;
  head: string;
  checkpoints: string;
}

export function tableNames(name: string): TableNames {
  const p = `sl_${assertLedgerName(name)}`;
  return { entries: `${p}_entries`, tiles: `${p}_tiles`, head: `${p}_head`, checkpoints: `${p}_checkpoints` };
}

export const COMMON_DDL = `
CREATE TABLE IF NOT EXISTS signledger_schema (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signledger_ledgers (name TEXT PRIMARY KEY, meta TEXT NOT NULL);
`;

export function ledgerDdl(t: TableNames): string {
  return `
CREATE TABLE IF NOT EXISTS ${t.entries} (
  idx   INTEGER PRIMARY KEY,
  id    TEXT NOT NULL UNIQUE,
  ts    INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  body  TEXT NOT NULL,
  data  TEXT,
  salt  BLOB,
  sigs  TEXT
);
CREATE INDEX IF NOT EXISTS ${t.entries}_ts ON ${t.entries} (ts);
CREATE TABLE IF NOT EXISTS ${t.tiles} (
  level  INTEGER NOT NULL,
  idx    INTEGER NOT NULL,
  width  INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ${t.head} (
  one       INTEGER PRIMARY KEY CHECK (one = 1),
  size      INTEGER NOT NULL,
  last_hash TEXT,
  frontier  BLOB NOT NULL,
  root      BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS ${t.checkpoints} (
  size       INTEGER PRIMARY KEY,
  root       BLOB NOT NULL,
  note       TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
`;
}
