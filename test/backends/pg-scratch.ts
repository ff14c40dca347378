/**
 * A PostgreSQL test file's scratch space: the server URL (undefined when there is none), table
 * prefixes of its own (dropped after the file), and one-off SQL through a fresh connection.
 */
import pg from 'pg';
import { afterAll } from 'vitest';
import { dropPgPrefix } from '../conformance/factories/postgres.js';
import { postgresUrl } from '../servers.js';

export function pgScratch(testFile: string, stem: string) {
  const url = postgresUrl(testFile);
  const prefixes: string[] = [];
  afterAll(async () => {
    for (const p of prefixes) await dropPgPrefix(p);
  });
  return {
    url,
    /** A table prefix unique to this process and tag. */
    prefix(tag: string): string {
      const p = `${stem}${process.pid}_${tag}_`;
      prefixes.push(p);
      return p;
    },
    async sql<T = Record<string, unknown>>(text: string): Promise<T[]> {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(text)).rows as T[];
      } finally {
        await c.end();
      }
    },
  };
}
