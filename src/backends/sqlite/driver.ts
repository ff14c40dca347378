import type BetterSqlite3 from 'better-sqlite3';
import { DriverMissingError } from '../../errors.js';

export type Database = BetterSqlite3.Database;
type DatabaseCtor = typeof BetterSqlite3;

let cached: DatabaseCtor | undefined;

/** better-sqlite3 is an optional peer dependency: load it only when a SQLite ledger is opened. */
export async function loadBetterSqlite3(): Promise<DatabaseCtor> {
  if (cached) return cached;
  try {
    const mod = (await import('better-sqlite3')) as unknown as { default?: DatabaseCtor } & DatabaseCtor;
    cached = (mod.default ?? mod) as DatabaseCtor;
    return cached;
  } catch (err) {
    throw new DriverMissingError('better-sqlite3', 'SQLiteBackend', { cause: err });
  }
}
