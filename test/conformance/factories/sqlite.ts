import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { tableNames } from '../../../src/backends/sqlite/schema.js';
import { SQLiteBackend } from '../../../src/backends/sqlite/sqlite-backend.js';
import type { StoredEntry } from '../../../src/entry/types.js';
import type { BackendFactory, Tamper } from '../harness.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-conf-'));
const t = tableNames('default');

export function sqlitePath(key: string): string {
  return join(dir, `${key}.db`);
}

const COLS: Record<string, string> = {
  body: 'body',
  data: 'data',
  hash: 'hash',
  timestampMs: 'ts',
  id: 'id',
  signatures: 'sigs',
  salt: 'salt',
};

/** Tampering through a second, independent connection: exactly what someone with the file can do. */
function tamper(path: string): Tamper {
  const withDb = <T>(fn: (db: Database.Database) => T): T => {
    const db = new Database(path);
    // Someone with the file is not bound by its CHECK constraints (idx >= 0).
    db.pragma('ignore_check_constraints = ON');
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  return {
    async updateEntry(index, patch) {
      withDb((db) => {
        for (const [k, v] of Object.entries(patch)) {
          db.prepare(`UPDATE ${t.entries} SET ${COLS[k]} = ? WHERE idx = ?`).run(v as never, index);
        }
      });
    },
    async readEntry(index) {
      return withDb((db) => {
        const r = db.prepare(`SELECT * FROM ${t.entries} WHERE idx = ?`).get(index) as
          | Record<string, unknown>
          | undefined;
        if (!r) return null;
        return {
          index: r.idx,
          id: r.id,
          timestampMs: r.ts,
          hash: r.hash,
          body: r.body,
          data: r.data,
          salt: r.salt,
          signatures: r.sigs,
        } as unknown as StoredEntry;
      });
    },
    async deleteEntry(index) {
      withDb((db) => db.prepare(`DELETE FROM ${t.entries} WHERE idx = ?`).run(index));
    },
    async swapEntries(i, j) {
      withDb((db) =>
        db.transaction(() => {
          db.prepare(`UPDATE ${t.entries} SET idx = -1 WHERE idx = ?`).run(i);
          db.prepare(`UPDATE ${t.entries} SET idx = ? WHERE idx = ?`).run(i, j);
          db.prepare(`UPDATE ${t.entries} SET idx = ? WHERE idx = -1`).run(j);
        })(),
      );
    },
    async insertEntryAt(index, row) {
      withDb((db) =>
        db.transaction(() => {
          const rows = db
            .prepare(`SELECT idx FROM ${t.entries} WHERE idx >= ? ORDER BY idx DESC`)
            .all(index) as { idx: number }[];
          for (const r of rows) db.prepare(`UPDATE ${t.entries} SET idx = idx + 1 WHERE idx = ?`).run(r.idx);
          db.prepare(
            `INSERT INTO ${t.entries} (idx, id, ts, hash, body, data, salt, sigs) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(index, row.id, row.timestampMs, row.hash, row.body, row.data, row.salt, row.signatures);
        })(),
      );
    },
    async insertBelowZero(row) {
      withDb((db) =>
        db
          .prepare(
            `INSERT INTO ${t.entries} (idx, id, ts, hash, body, data, salt, sigs) VALUES (-1, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(row.id, row.timestampMs, row.hash, row.body, row.data, row.salt, row.signatures),
      );
    },
    async setHead(h) {
      withDb((db) =>
        db
          .prepare(`UPDATE ${t.head} SET size = ?, last_hash = ?, frontier = ?, root = ?`)
          .run(h.size, h.lastHash, h.frontier, h.rootHash),
      );
    },
    async writeTile(level, index, width, hashes) {
      withDb((db) =>
        db
          .prepare(`INSERT OR REPLACE INTO ${t.tiles} (level, idx, width, hashes) VALUES (?, ?, ?, ?)`)
          .run(level, index, width, hashes),
      );
    },
    async deleteAllTiles() {
      withDb((db) => db.prepare(`DELETE FROM ${t.tiles}`).run());
    },
    async deleteAllEntries() {
      withDb((db) => db.prepare(`DELETE FROM ${t.entries}`).run());
    },
    async updateCheckpoint(size, patch) {
      withDb((db) => {
        if (patch.rootHash)
          db.prepare(`UPDATE ${t.checkpoints} SET root = ? WHERE size = ?`).run(patch.rootHash, size);
        if (patch.note)
          db.prepare(`UPDATE ${t.checkpoints} SET note = ? WHERE size = ?`).run(patch.note, size);
      });
    },
    async deleteCheckpoints() {
      withDb((db) => db.prepare(`DELETE FROM ${t.checkpoints}`).run());
    },
  };
}

export const factory: BackendFactory = {
  name: 'sqlite',
  available: true,
  async open(key) {
    const path = sqlitePath(key);
    return { backend: new SQLiteBackend({ path }), tamper: tamper(path) };
  },
  async cleanup(key) {
    for (const suffix of ['', '-wal', '-shm']) rmSync(sqlitePath(key) + suffix, { force: true });
  },
};
