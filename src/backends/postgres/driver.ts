import type * as Pg from 'pg';
import { DriverMissingError } from '../../errors.js';

export type PgModule = typeof Pg;

let cached: PgModule | undefined;

/** pg is an optional peer dependency: load it only when a PostgreSQL ledger is opened. */
export async function loadPg(): Promise<PgModule> {
  if (cached) return cached;
  try {
    const mod = (await import('pg')) as unknown as { default?: PgModule } & PgModule;
    cached = (mod.default ?? mod) as PgModule;
    return cached;
  } catch (err) {
    throw new DriverMissingError('pg', 'PostgreSQLBackend', { cause: err });
  }
}
