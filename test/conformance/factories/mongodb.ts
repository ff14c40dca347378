/**
 * MongoDB conformance factory. No MongoDB server can be installed on the project's machines, so this
 * runs only when SIGNLEDGER_TEST_MONGODB_URL points at a real replica set; otherwise the suite is
 * skipped and says so. Each key gets its own collections; tampering edits documents directly.
 */
import { MongoClient } from 'mongodb';
import { MongoDBBackend } from '../../../src/backends/mongodb/index.js';
import type { StoredEntry } from '../../../src/entry/types.js';
import type { BackendFactory, Tamper } from '../harness.js';

const URL_ENV = 'SIGNLEDGER_TEST_MONGODB_URL';
const url = process.env[URL_ENV];
const DB = 'signledger_test';

function coll(key: string): string {
  return `e${key.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

async function withDb<T>(fn: (db: ReturnType<MongoClient['db']>) => Promise<T>): Promise<T> {
  const c = new MongoClient(url ?? '');
  await c.connect();
  try {
    return await fn(c.db(DB));
  } finally {
    await c.close();
  }
}

const FIELDS: Record<string, string> = {
  body: 'b',
  data: 'd',
  hash: 'h',
  timestampMs: 'ts',
  id: 'id',
  signatures: 'g',
  salt: 's',
};

function bin(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  return Buffer.from((v as { buffer: Uint8Array }).buffer);
}

function tamper(key: string): Tamper {
  const n = coll(key);
  const e = (db: ReturnType<MongoClient['db']>) => db.collection(n);
  const readRow = async (db: ReturnType<MongoClient['db']>, index: number): Promise<StoredEntry | null> => {
    const d = await e(db).findOne({ i: index });
    if (!d) return null;
    return {
      index: d.i,
      id: d.id,
      timestampMs: d.ts,
      hash: bin(d.h),
      body: d.b,
      data: d.d,
      salt: d.s == null ? null : bin(d.s),
      signatures: d.g,
    };
  };
  return {
    async updateEntry(index, patch) {
      const set: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(patch)) set[FIELDS[k]!] = v;
      await withDb((db) => e(db).updateOne({ i: index }, { $set: set }));
    },
    readEntry: (index) => withDb((db) => readRow(db, index)),
    async deleteEntry(index) {
      await withDb((db) => e(db).deleteOne({ i: index }));
    },
    async swapEntries(i, j) {
      await withDb(async (db) => {
        await e(db).updateOne({ i }, { $set: { i: -1 } });
        await e(db).updateOne({ i: j }, { $set: { i } });
        await e(db).updateOne({ i: -1 }, { $set: { i: j } });
      });
    },
    async insertEntryAt(index, row) {
      await withDb(async (db) => {
        const docs = await e(db)
          .find({ i: { $gte: index } })
          .sort({ i: -1 })
          .toArray();
        for (const d of docs) await e(db).updateOne({ _id: d._id }, { $set: { i: d.i + 1 } });
        await e(db).insertOne(entryDoc(index, row));
      });
    },
    async insertBelowZero(row) {
      await withDb((db) => e(db).insertOne(entryDoc(-1, row)));
    },
    async setHead(h) {
      await withDb((db) =>
        db
          .collection(`${n}_heads`)
          .updateOne(
            { _id: 'default' as never },
            { $set: { size: h.size, last: h.lastHash, frontier: h.frontier, root: h.rootHash } },
          ),
      );
    },
    async writeTile(level, index, width, hashes) {
      const id = `default/${level}/${index}`;
      await withDb((db) =>
        db
          .collection(`${n}_tiles`)
          .replaceOne(
            { _id: id as never },
            { l: 'default', lv: level, i: index, w: width, h: hashes },
            { upsert: true },
          ),
      );
    },
    async deleteAllTiles() {
      await withDb((db) => db.collection(`${n}_tiles`).deleteMany({}));
    },
    async deleteAllEntries() {
      await withDb((db) => e(db).deleteMany({}));
    },
    async updateCheckpoint(size, patch) {
      const set: Record<string, unknown> = {};
      if (patch.rootHash) set.root = patch.rootHash;
      if (patch.note) set.note = patch.note;
      await withDb((db) => db.collection(`${n}_checkpoints`).updateOne({ size }, { $set: set }));
    },
    async deleteCheckpoints() {
      await withDb((db) => db.collection(`${n}_checkpoints`).deleteMany({}));
    },
  };
}

export const factory: BackendFactory = {
  name: 'mongodb',
  available: Boolean(url),
  skipReason: `${URL_ENV} is not set: no MongoDB server can be installed on these machines, so the MongoDB backend was NOT tested here (set ${URL_ENV} to a replica set, e.g. mongodb://127.0.0.1:27017/?replicaSet=rs0, to run it)`,
  async open(key) {
    return { backend: new MongoDBBackend({ url, database: DB, collection: coll(key) }), tamper: tamper(key) };
  },
  async cleanup(key) {
    const n = coll(key);
    await withDb(async (db) => {
      for (const s of ['', '_heads', '_tiles', '_checkpoints'])
        await db
          .collection(`${n}${s}`)
          .drop()
          .catch(() => {});
    });
  },
};

/** A stored entry document as the backend writes it (without the parsed copy `q`). */
function entryDoc(index: number, row: Omit<StoredEntry, 'index'>) {
  return {
    l: 'default',
    i: index,
    id: row.id,
    ts: row.timestampMs,
    h: row.hash,
    b: row.body,
    d: row.data,
    s: row.salt,
    g: row.signatures,
    q: null,
  };
}
