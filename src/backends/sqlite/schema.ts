/** SQLite schema, versioned. One file can hold several ledgers; each has its own tables, prefixed by name. */
import { ValidationError } from '../../errors.js';

/**
 * File versions. 1: every ledger stores whole texts (the version new files start with, so older
 * signledger versions still open them). 2: the file holds a ledger in the compact layout
 * (compact-layout.ts), which older versions cannot read: set when such a ledger is created.
 */
export const SQLITE_SCHEMA_VERSION_WHOLE = 1;
export const SQLITE_SCHEMA_VERSION = 2;

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
  /** Compression bookkeeping: algorithm, byte counts and row layout (present once written compressed). */
  packing: string;
  /** Compression dictionaries. */
  dicts: string;
  /** Per-block time bounds (compact layout only; replaces the time index). */
  timeBlocks: string;
}

export function tableNames(name: string): TableNames {
  const p = `sl_${assertLedgerName(name)}`;
  return {
    entries: `${p}_entries`,
    tiles: `${p}_tiles`,
    head: `${p}_head`,
    checkpoints: `${p}_checkpoints`,
    packing: `${p}_packing`,
    dicts: `${p}_dicts`,
    timeBlocks: `${p}_tblocks`,
  };
}

export const COMMON_DDL = `
CREATE TABLE IF NOT EXISTS signledger_schema (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signledger_ledgers (name TEXT PRIMARY KEY, meta TEXT NOT NULL);
`;

/** Row layouts of the entries table: whole texts (the original), or compact (compact-layout.ts). */
export const LAYOUT_WHOLE = 1;
export const LAYOUT_COMPACT = 2;
export type RowLayout = typeof LAYOUT_WHOLE | typeof LAYOUT_COMPACT;

function entriesDdl(t: TableNames, layout: RowLayout): string {
  if (layout === LAYOUT_COMPACT) {
    return `
CREATE TABLE IF NOT EXISTS ${t.entries} (
  idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
  id    BLOB NOT NULL UNIQUE,
  ts    INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  body  BLOB,
  data  BLOB,
  salt  BLOB,
  sigs  BLOB
);
CREATE TABLE IF NOT EXISTS ${t.timeBlocks} (
  block INTEGER PRIMARY KEY,
  lo    INTEGER NOT NULL,
  hi    INTEGER NOT NULL
);`;
  }
  return `
CREATE TABLE IF NOT EXISTS ${t.entries} (
  idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
  id    TEXT NOT NULL UNIQUE,
  ts    INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  body  TEXT NOT NULL,
  data  TEXT,
  salt  BLOB,
  sigs  TEXT
);
CREATE INDEX IF NOT EXISTS ${t.entries}_ts ON ${t.entries} (ts);`;
}

/** Compression bookkeeping; `layout` was added with the compact layout (a table without it is layout 1). */
export function packingDdl(t: TableNames): string {
  return `
CREATE TABLE IF NOT EXISTS ${t.packing} (
  one INTEGER PRIMARY KEY CHECK (one = 1), algorithm TEXT NOT NULL, stored_bytes INTEGER NOT NULL,
  raw_bytes INTEGER NOT NULL, layout INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS ${t.dicts} (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);`;
}

export function ledgerDdl(t: TableNames, layout: RowLayout = LAYOUT_WHOLE): string {
  return `${entriesDdl(t, layout)}
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
