/**
 * PostgreSQL conformance factory. Each key gets its own table set (table prefix `<key>_`), so stores
 * are isolated; tampering goes through a separate connection, as someone with database access would.
 */
import pg from 'pg';
import { PostgreSQLBackend } from '../../../src/backends/postgres/index.js';
import { pgTables } from '../../../src/backends/postgres/schema.js';
import type { StoredEntry } from '../../../src/entry/types.js';
import type { BackendFactory, Tamper } from '../harness.js';

const URL_ENV = 'SIGNLEDGER_TEST_POSTGRES_URL';
const url = process.env[URL_ENV];

const COLS: Record<string, string> = {
  body: 'body',
  data: 'data',
  hash: 'hash',
  timestampMs: 'ts',
  id: 'id',
  signatures: 'sigs',
  salt: 'salt',
};

export function pgPrefix(key: string): string {
  return `${key.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_`;
}

async function withClient<T>(fn: (c: pg.Client) => Promise<T>, unconstrain?: string): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // Someone who owns the tables is not bound by their CHECK constraints (idx >= 0): drop them, on
    // this store's entries table only (other test files run at the same time on their own tables).
    if (unconstrain !== undefined) {
      await c.query(`DO $$ DECLARE r record; BEGIN
        FOR r IN SELECT conname FROM pg_constraint
                 WHERE contype = 'c' AND conrelid = to_regclass('${unconstrain.replace(/'/g, "''")}')
                   AND conname LIKE '%idx_check' LOOP
          EXECUTE format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', '${unconstrain.replace(/'/g, "''")}', r.conname);
        END LOOP; END $$`);
    }
    return await fn(c);
  } finally {
    await c.end();
  }
}

export function pgTamper(prefix: string): Tamper {
  const t = pgTables(prefix);
  const withTables = <T>(fn: (c: pg.Client) => Promise<T>) => withClient(fn, t.entries);
  return {
    async updateEntry(index, patch) {
      await withTables(async (c) => {
        for (const [k, v] of Object.entries(patch)) {
          await c.query(`UPDATE ${t.entries} SET ${COLS[k]} = $1 WHERE idx = $2`, [v, index]);
        }
      });
    },
    async readEntry(index) {
      return withTables(async (c) => {
        const r = await c.query(
          `SELECT idx::float8 AS idx, id, ts::float8 AS ts, hash, body, data, salt, sigs FROM ${t.entries} WHERE idx = $1`,
          [index],
        );
        const x = r.rows[0];
        if (!x) return null;
        return {
          index: x.idx,
          id: x.id,
          timestampMs: x.ts,
          hash: x.hash,
          body: x.body,
          data: x.data,
          salt: x.salt,
          signatures: x.sigs,
        } satisfies StoredEntry;
      });
    },
    async deleteEntry(index) {
      await withTables((c) => c.query(`DELETE FROM ${t.entries} WHERE idx = $1`, [index]));
    },
    async swapEntries(i, j) {
      await withTables(async (c) => {
        await c.query('BEGIN');
        await c.query(`UPDATE ${t.entries} SET idx = -1 WHERE idx = $1`, [i]);
        await c.query(`UPDATE ${t.entries} SET idx = $1 WHERE idx = $2`, [i, j]);
        await c.query(`UPDATE ${t.entries} SET idx = $1 WHERE idx = -1`, [j]);
        await c.query('COMMIT');
      });
    },
    async insertEntryAt(index, row) {
      await withTables(async (c) => {
        await c.query('BEGIN');
        // Shift through negative numbers: a unique key is checked row by row.
        await c.query(`UPDATE ${t.entries} SET idx = -idx - 2 WHERE idx >= $1`, [index]);
        await c.query(`UPDATE ${t.entries} SET idx = -idx - 1 WHERE idx < 0`);
        await c.query(
          `INSERT INTO ${t.entries} (ledger, idx, id, ts, hash, body, data, salt, sigs)
           SELECT ledger, $1, $2, $3, $4, $5, $6, $7, $8 FROM ${t.ledgers} LIMIT 1`,
          [index, row.id, row.timestampMs, row.hash, row.body, row.data, row.salt, row.signatures],
        );
        await c.query('COMMIT');
      });
    },
    async insertBelowZero(row) {
      await withTables((c) =>
        c.query(
          `INSERT INTO ${t.entries} (ledger, idx, id, ts, hash, body, data, salt, sigs)
           SELECT ledger, -1, $1, $2, $3, $4, $5, $6, $7 FROM ${t.ledgers} LIMIT 1`,
          [row.id, row.timestampMs, row.hash, row.body, row.data, row.salt, row.signatures],
        ),
      );
    },
    async setHead(h) {
      await withTables((c) =>
        c.query(`UPDATE ${t.heads} SET size = $1, last_hash = $2, frontier = $3, root = $4`, [
          h.size,
          h.lastHash,
          h.frontier,
          h.rootHash,
        ]),
      );
    },
    async writeTile(level, index, width, hashes) {
      await withTables((c) =>
        c.query(
          `INSERT INTO ${t.tiles} (ledger, level, idx, width, hashes) SELECT ledger, $1, $2, $3, $4 FROM ${t.ledgers} LIMIT 1
           ON CONFLICT (ledger, level, idx) DO UPDATE SET width = excluded.width, hashes = excluded.hashes`,
          [level, index, width, hashes],
        ),
      );
    },
    async deleteAllTiles() {
      await withTables((c) => c.query(`DELETE FROM ${t.tiles}`));
    },
    async deleteAllEntries() {
      await withTables((c) => c.query(`DELETE FROM ${t.entries}`));
    },
    async updateCheckpoint(size, patch) {
      await withTables(async (c) => {
        if (patch.rootHash)
          await c.query(`UPDATE ${t.checkpoints} SET root = $1 WHERE size = $2`, [patch.rootHash, size]);
        if (patch.note)
          await c.query(`UPDATE ${t.checkpoints} SET note = $1 WHERE size = $2`, [patch.note, size]);
      });
    },
    async deleteCheckpoints() {
      await withTables((c) => c.query(`DELETE FROM ${t.checkpoints}`));
    },
  };
}

/** Drop every table (and the query function) a prefix created. */
export async function dropPgPrefix(prefix: string): Promise<void> {
  const t = pgTables(prefix);
  await withClient((c) =>
    c.query(
      `DROP TABLE IF EXISTS ${t.checkpoints}, ${t.tiles}, ${t.entries}, ${t.heads}, ${t.ledgers}, ${t.meta} CASCADE;
       DROP FUNCTION IF EXISTS ${t.jsonb}(text);`,
    ),
  );
}

export const factory: BackendFactory = {
  name: 'postgres',
  available: Boolean(url),
  skipReason: `${URL_ENV} is not set (run scripts/services.sh start, then source .tmp/services.env)`,
  async open(key) {
    const prefix = pgPrefix(key);
    return {
      backend: new PostgreSQLBackend({ connectionString: url, tablePrefix: prefix, max: 4 }),
      tamper: pgTamper(prefix),
    };
  },
  async cleanup(key) {
    await dropPgPrefix(pgPrefix(key));
  },
  childEnv(key) {
    return {
      SIGNLEDGER_TEST_POSTGRES_URL: url ?? '',
      LEDGER_BACKEND: 'postgres',
      LEDGER_PREFIX: pgPrefix(key),
    };
  },
};
