// The compact row layout of compressed SQLite ledgers (src/backends/sqlite/compact-layout.ts): reads
// give back exactly what was appended, every stored column stays covered by verification, a failed
// append leaves nothing, and files written with the whole-text layout keep working.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { tableNames } from '../../src/backends/sqlite/schema.js';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Compressor } from '../../src/compression/index.js';
import { TextCodec } from '../../src/compression/text-codec.js';
import { digest } from '../../src/crypto/hash.js';
import { Ed25519Signer, KeyRing } from '../../src/crypto/signatures/index.js';
import { commitmentText, dataDigestHex, newSalt } from '../../src/entry/commitment.js';
import type { Entry, StoredEntry } from '../../src/entry/types.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { EMPTY_ROOT } from '../../src/merkle/hash.js';
import { verifyInclusion } from '../../src/verify/proofs.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-compact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const t = tableNames('default');
let files = 0;
const fresh = (name: string) => join(dir, `${name}-${files++}.db`);

const T0 = Date.UTC(2026, 0, 15, 9, 30);
const event = (i: number) => ({ i, user: ['alice', 'bob', 'carol'][i % 3]!, note: i % 5 ? 'ok' : 'é ✓ 𝄞' });

function compressed(path: string, trainAfter = 20): SQLiteBackend {
  const backend = new SQLiteBackend({ path, durability: 'normal' });
  backend.useCompression(new Compressor({ algorithm: 'zstd', dictionary: { trainAfter } }));
  return backend;
}

function raw<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function copy(path: string): string {
  const to = fresh('copy');
  raw(path, (db) => db.exec(`VACUUM INTO '${to}'`));
  return to;
}

/** A mixed log: batches with and without metadata, signed entries, times that go back, a redaction. */
async function build(path: string) {
  let clock = T0;
  const logKey = generateLogKey('compact.example/log');
  const signer = new Ed25519Signer();
  const ledger = await Ledger.open({ backend: compressed(path), logKey, now: () => clock });
  const written: Entry[] = [];
  for (let b = 0; b < 12; b++) {
    // Every third batch is stamped earlier than the one before: times are not monotonic.
    clock = T0 + (b % 3 === 2 ? b - 3 : b) * 60_000;
    const opts = b % 4 === 1 ? { metadata: { source: `batch${b}`, tags: ['a', 'ü'] } } : {};
    written.push(
      ...(await ledger.appendBatch(
        Array.from({ length: 200 }, (_, k) => event(b * 200 + k)),
        b === 5 ? { ...opts, signer } : opts,
      )),
    );
  }
  clock += 1;
  written.push(await ledger.append({ single: true }, { metadata: { käse: 'ja', n: 1.5 } }));
  const erased = written[77]!;
  const record = await ledger.redact(erased.id, { reason: 'gdpr' });
  written.push(record);
  written[77] = (await ledger.getEntryAt(77))!;
  const cp = await ledger.checkpoint();
  return { ledger, written, logKey, signer, cp, record };
}

describe('SQLite compact layout (compressed ledgers)', () => {
  it('stores what the columns do not already say, and reads back exactly what was appended', async () => {
    const path = fresh('mixed');
    const { ledger, written, logKey, signer, cp } = await build(path);
    expect(written[77]!.redacted).toBe(true);
    expect(written[77]!.data).toBeNull();

    raw(path, (db) => {
      expect(db.prepare(`SELECT layout FROM ${t.packing}`).pluck().get()).toBe(2);
      expect(
        db.prepare("SELECT value FROM signledger_schema WHERE key = 'schema_version'").pluck().get(),
      ).toBe('2');
      expect(db.prepare(`SELECT count(*) FROM ${t.entries} WHERE typeof(id) <> 'blob'`).pluck().get()).toBe(
        0,
      );
      expect(
        db.prepare(`SELECT count(*) FROM ${t.entries} WHERE body IS NULL`).pluck().get(),
      ).toBeGreaterThan(1500);
      // Metadata rows (and the redaction record) keep a marker and their metadata; the erased entry
      // keeps its whole commitment (its data digest can no longer be recomputed).
      const kinds = db
        .prepare(
          `SELECT idx, CASE WHEN body IS NULL THEN 'none' WHEN substr(body, 1, 1) >= x'80' THEN 'mark' ELSE 'whole' END AS k FROM ${t.entries}`,
        )
        .all() as { idx: number; k: string }[];
      expect(kinds.filter((r) => r.k === 'whole').map((r) => r.idx)).toEqual([77]);
      expect(kinds.find((r) => r.idx === 200)!.k).toBe('mark');
      expect(kinds.at(-1)!.k).toBe('mark'); // the redaction record
      const indexes = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = ?")
        .pluck()
        .all(t.entries);
      expect(indexes).toEqual([]);
    });

    // Every read path gives back the appended entries.
    for (const e of [
      written[0]!,
      written[1]!,
      written[77]!,
      written[1000]!,
      written[2399]!,
      written.at(-1)!,
    ]) {
      expect(await ledger.getEntry(e.id)).toEqual(e);
      expect(await ledger.getEntryAt(e.index)).toEqual(e);
    }
    const all: Entry[] = [];
    for await (const e of ledger.entries({ chunkSize: 333 })) all.push(e);
    expect(all).toEqual(written);
    expect(await ledger.getEntries({ offset: 390, limit: 20, order: 'desc' })).toEqual(
      [...written].reverse().slice(390, 410),
    );
    // Time ranges over times that go back and forth (per-block bounds instead of a time index).
    const lo = T0 + 60_000;
    const hi = T0 + 4 * 60_000;
    const inRange = written.filter((e) => +e.timestamp >= lo && +e.timestamp <= hi);
    expect(inRange.length).toBeGreaterThan(0);
    expect(await ledger.getEntries({ startTime: lo, endTime: hi })).toEqual(inRange);
    expect(
      await ledger.getEntries({ startTime: lo, endTime: hi, order: 'desc', offset: 5, limit: 50 }),
    ).toEqual([...inRange].reverse().slice(5, 55));
    expect(await ledger.getEntries({ startTime: T0 + 99 * 60_000 })).toEqual([]);
    // Queries filter decoded rows, metadata included.
    const bob = await ledger.query({ where: { 'data.user': 'bob' }, limit: 4 });
    expect(bob).toEqual(written.filter((e) => e.data?.user === 'bob').slice(0, 4));
    const meta = await ledger.query({ where: { 'metadata.source': 'batch5' } });
    expect(meta).toEqual(written.filter((e) => e.metadata.source === 'batch5'));
    expect(meta.length).toBe(200);

    // Verification, on the main thread and on workers reading the file; proofs.
    const keys = new KeyRing([signer]);
    expect((await ledger.verify({ parallel: false, keys, trusted: cp })).ok).toBe(true);
    const par = await ledger.verify({ parallel: 2, parallelThreshold: 1, keys, trusted: cp });
    expect(par.ok).toBe(true);
    expect(par.threads).toBe(2);
    for (const e of [written[0]!, written[77]!, written[1234]!, written.at(-1)!]) {
      const p = await ledger.proveInclusion(e.index, cp);
      expect(verifyInclusion(e, p, cp, logKey.verifierKey)).toBe(true);
    }
    const stats = await ledger.getStats();
    expect(stats.compressionRatio).toBeGreaterThan(3);
    await ledger.close();

    // Reopened without the option (and read-only): the store says how it was written.
    const again = await Ledger.open({ backend: new SQLiteBackend({ path, readonly: true }) });
    expect(await again.getEntryAt(1000)).toEqual(written[1000]);
    expect((await again.verify({ keys })).ok).toBe(true);
    await again.close();
  });

  describe('tampering with any stored column is detected at its row', () => {
    let master = '';
    let written: Entry[] = [];
    // [what, SQL, index reported (null: found by the tree check at the end, as without compaction), kind]
    const cases: [string, string, number | null, string][] = [
      ['id', `UPDATE ${t.entries} SET id = randomblob(16) WHERE idx = 10`, 10, 'hash_mismatch'],
      ['id as text', `UPDATE ${t.entries} SET id = 'x' WHERE idx = 11`, 11, 'hash_mismatch'],
      ['ts', `UPDATE ${t.entries} SET ts = ts + 1 WHERE idx = 12`, 12, 'hash_mismatch'],
      ['hash', `UPDATE ${t.entries} SET hash = randomblob(32) WHERE idx = 13`, 13, 'hash_mismatch'],
      [
        'salt',
        `UPDATE ${t.entries} SET salt = (SELECT salt FROM ${t.entries} WHERE idx = 15) WHERE idx = 14`,
        14,
        'hash_mismatch',
      ],
      [
        'data',
        `UPDATE ${t.entries} SET data = (SELECT data FROM ${t.entries} WHERE idx = 16) WHERE idx = 15`,
        15,
        'hash_mismatch',
      ],
      [
        'data and salt erased without a record',
        `UPDATE ${t.entries} SET data = NULL, salt = NULL WHERE idx = 16`,
        16,
        'malformed_entry',
      ],
      ['type marker', `UPDATE ${t.entries} SET body = x'81' WHERE idx = 17`, 17, 'hash_mismatch'],
      ['unknown marker', `UPDATE ${t.entries} SET body = x'9f' WHERE idx = 18`, 18, 'malformed_entry'],
      ['metadata dropped', `UPDATE ${t.entries} SET body = NULL WHERE idx = 201`, 201, 'hash_mismatch'],
      [
        'metadata of another row',
        `UPDATE ${t.entries} SET body = CAST(x'80' || x'0000' || '{"a":1}' AS BLOB) WHERE idx = 202`,
        202,
        'hash_mismatch',
      ],
      [
        'whole body replaced',
        `UPDATE ${t.entries} SET body = CAST(x'0000' || '{}' AS BLOB) WHERE idx = 19`,
        19,
        'malformed_entry',
      ],
      ['row deleted', `DELETE FROM ${t.entries} WHERE idx = 20`, 21, 'gap'],
      [
        'rows swapped',
        `PRAGMA ignore_check_constraints = ON; UPDATE ${t.entries} SET idx = -1 WHERE idx = 21; UPDATE ${t.entries} SET idx = 21 WHERE idx = 22;
         UPDATE ${t.entries} SET idx = 22 WHERE idx = -1`,
        21,
        'hash_mismatch',
      ],
      ['signatures stripped', `UPDATE ${t.entries} SET sigs = NULL WHERE idx = 1000`, null, 'tree_mismatch'],
      [
        // The same id in the other stored form: it must not read back as the committed id.
        'a UUID id stored as its text',
        `UPDATE ${t.entries} SET id = lower(substr(hex(id), 1, 8) || '-' || substr(hex(id), 9, 4) || '-' ||
           substr(hex(id), 13, 4) || '-' || substr(hex(id), 17, 4) || '-' || substr(hex(id), 21)) WHERE idx = 30`,
        30,
        'hash_mismatch',
      ],
      [
        'an id blob one byte short',
        `UPDATE ${t.entries} SET id = substr(id, 1, 15) WHERE idx = 31`,
        31,
        'hash_mismatch',
      ],
      ['time bounds narrowed', `UPDATE ${t.timeBlocks} SET hi = lo WHERE block = 1`, 1024, 'column_mismatch'],
      ['time bounds deleted', `DELETE FROM ${t.timeBlocks}`, 0, 'column_mismatch'],
      [
        'a row stored past the head',
        `INSERT INTO ${t.entries} (idx, id, ts, hash, body, data, salt, sigs)
           SELECT 5000, randomblob(16), ts, hash, body, data, salt, sigs FROM ${t.entries} WHERE idx = 10`,
        5000,
        'head_mismatch',
      ],
    ];

    it.each(cases)('%s', async (_name, sql, index, kind) => {
      if (!master) {
        master = fresh('tamper-master');
        const built = await build(master);
        written = built.written;
        await built.ledger.close();
      }
      const path = copy(master);
      raw(path, (db) => db.exec(sql));
      const ledger = await Ledger.open({ backend: new SQLiteBackend(path) });
      const r = await ledger.verify({ parallel: false });
      expect(r.ok).toBe(false);
      if (index !== null) expect(r.failure?.index).toBe(index);
      expect(r.failure?.kind).toBe(kind);
      // The worker threads read the file the same way.
      const p = await ledger.verify({ parallel: 2, parallelThreshold: 1 });
      expect(p.ok).toBe(false);
      expect(p.failure?.index).toBe(r.failure?.index);
      // Rows the tampering did not touch still read as written.
      expect(await ledger.getEntryAt(5)).toEqual(written[5]);
      await ledger.close();
    });
  });

  it('an append that fails leaves nothing: rows, time blocks, byte counts, dictionary', async () => {
    const path = fresh('fail');
    const backend = compressed(path, 40);
    const ledger = await Ledger.open({ backend });
    await ledger.appendBatch(Array.from({ length: 35 }, (_, i) => event(i)));
    const snapshot = () =>
      raw(path, (db) => ({
        rows: db.prepare(`SELECT count(*) FROM ${t.entries}`).pluck().get(),
        blocks: db.prepare(`SELECT * FROM ${t.timeBlocks}`).all(),
        packing: db.prepare(`SELECT * FROM ${t.packing}`).all(),
        dicts: db.prepare(`SELECT count(*) FROM ${t.dicts}`).pluck().get(),
        head: db.prepare(`SELECT size, last_hash FROM ${t.head}`).get(),
      }));
    const before = snapshot();
    expect(before.dicts).toBe(0);
    raw(path, (db) =>
      db.exec(
        `CREATE TRIGGER boom BEFORE INSERT ON ${t.entries} WHEN NEW.idx = 44 BEGIN SELECT RAISE(ABORT, 'boom'); END`,
      ),
    );
    // This batch would train the dictionary (40 entries) and start a new time block.
    await expect(ledger.appendBatch(Array.from({ length: 10 }, (_, i) => event(35 + i)))).rejects.toThrow();
    expect(snapshot()).toEqual(before);
    raw(path, (db) => db.exec('DROP TRIGGER boom'));
    const more = await ledger.appendBatch(Array.from({ length: 10 }, (_, i) => event(35 + i)));
    expect(more[0]!.index).toBe(35);
    expect(snapshot().dicts).toBe(1);
    expect((await ledger.verify()).ok).toBe(true);
    expect(await ledger.getEntry(more[9]!.id)).toEqual(more[9]);
    await ledger.close();
  });

  it('keeps whole any commitment the columns do not rebuild byte for byte', async () => {
    const path = fresh('odd');
    const backend = compressed(path);
    const ledgerId = '6f1c2b1e-8f3a-4c55-9d0e-2a7b5c4d3e21';
    await backend.open('default', () => ({
      formatVersion: 1,
      ledgerId,
      name: 'default',
      hashAlgorithm: 'sha256',
      createdAt: new Date(T0).toISOString(),
    }));
    const rows: StoredEntry[] = [];
    let prev: string | null = null;
    const ids = [
      '0b6f7c1e-5d2a-4f3b-9c8d-7e6f5a4b3c2d',
      '0B6F7C1E-5D2A-4F3B-9C8D-7E6F5A4B3C2E', // upper case: stored as text
      'not-a-uuid',
      '1c7a8d2f-6e3b-4a4c-8d9e-8f7a6b5c4d3e',
      '2c7a8d2f-6e3b-4a4c-8d9e-8f7a6b5c4d3e',
      '3c7a8d2f-6e3b-4a4c-8d9e-8f7a6b5c4d3e',
      '4c7a8d2f-6e3b-4a4c-8d9e-8f7a6b5c4d3e',
    ];
    for (let i = 0; i < ids.length; i++) {
      const salt = newSalt();
      const data = JSON.stringify({ i });
      const ts = T0 + i;
      let body = commitmentText({
        dataDigest: dataDigestHex('sha256', salt, data),
        id: ids[i]!,
        index: i,
        ledgerId,
        metadataText: i === 3 ? '{"k":"v"}' : '{}',
        prev,
        timestamp: new Date(ts).toISOString(),
        type: 'event',
      });
      if (i === 4) body = body.replace('"v":1}', '"v":1 }'); // not what the columns rebuild
      if (i === 5) body = body.replace(/"dataDigest":"[0-9a-f]+"/, `"dataDigest":"${'0'.repeat(64)}"`); // digest of other data
      if (i === 6) body = body.replace(/"timestamp":"[^"]+"/, '"timestamp":"2026-01-15T09:30:00.006+00:00"'); // not ISO of ts
      const hash = digest('sha256', Buffer.from(body));
      rows.push({ index: i, id: ids[i]!, timestampMs: ts, hash, body, data, salt, signatures: null });
      prev = hash.toString('hex');
    }
    await backend.append(() => ({
      entries: rows,
      tiles: [],
      head: { size: rows.length, lastHash: prev, frontier: Buffer.alloc(0), rootHash: EMPTY_ROOT },
      erase: [],
    }));
    const kinds = raw(path, (db) =>
      db
        .prepare(
          `SELECT typeof(id) AS id, CASE WHEN body IS NULL THEN 'none' WHEN substr(body, 1, 1) >= x'80' THEN 'mark' ELSE 'whole' END AS body FROM ${t.entries} ORDER BY idx`,
        )
        .all(),
    );
    expect(kinds).toEqual([
      { id: 'blob', body: 'none' },
      { id: 'text', body: 'none' }, // rebuilt with the id as stored (text)
      { id: 'text', body: 'none' },
      { id: 'blob', body: 'mark' },
      { id: 'blob', body: 'whole' },
      { id: 'blob', body: 'whole' },
      { id: 'blob', body: 'whole' },
    ]);
    const plain = (e: StoredEntry) => ({
      index: e.index,
      id: e.id,
      timestampMs: e.timestampMs,
      hash: e.hash.toString('hex'),
      body: e.body,
      data: e.data,
      salt: e.salt?.toString('hex') ?? null,
      signatures: e.signatures,
    });
    for (const r of rows) {
      expect(plain((await backend.getByIndex(r.index))!)).toEqual(plain(r));
      expect(plain((await backend.getById(r.id))!)).toEqual(plain(r));
    }
    const scanned: StoredEntry[] = [];
    for await (const chunk of backend.scan({ chunkSize: 2 })) scanned.push(...chunk);
    expect(scanned.map(plain)).toEqual(rows.map(plain));
    await backend.close();
  });

  it('opens and extends a compressed file written with the whole-text layout', async () => {
    // Made as the previous version did: whole-text rows (text ids, a time index), every text a
    // compressed frame, and a packing table without a `layout` column.
    const path = fresh('old');
    const ledger = await Ledger.open({ backend: new SQLiteBackend({ path, durability: 'normal' }) });
    const written = await ledger.appendBatch(
      Array.from({ length: 60 }, (_, i) => event(i)),
      {
        metadata: { old: true },
      },
    );
    await ledger.close();
    const codec = new TextCodec(await new Compressor({ algorithm: 'zstd' }).init());
    raw(path, (db) => {
      db.exec(`
CREATE TABLE ${t.packing} (
  one INTEGER PRIMARY KEY CHECK (one = 1), algorithm TEXT NOT NULL, stored_bytes INTEGER NOT NULL, raw_bytes INTEGER NOT NULL
);
CREATE TABLE ${t.dicts} (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);`);
      const dict = codec.train(written.slice(0, 30).map((e) => JSON.stringify(e.data)));
      db.prepare(`INSERT INTO ${t.dicts} (id, bytes) VALUES (?, ?)`).run(dict.id, dict.bytes);
      let stored = 0;
      let rawBytes = 0;
      for (const r of db.prepare(`SELECT idx, body, data FROM ${t.entries}`).all() as {
        idx: number;
        body: string;
        data: string;
      }[]) {
        const body = codec.encode(r.body);
        const data = codec.encode(r.data);
        stored += body.length + data.length;
        rawBytes += Buffer.byteLength(r.body) + Buffer.byteLength(r.data);
        db.prepare(`UPDATE ${t.entries} SET body = ?, data = ? WHERE idx = ?`).run(body, data, r.idx);
      }
      db.prepare(
        `INSERT INTO ${t.packing} (one, algorithm, stored_bytes, raw_bytes) VALUES (1, 'zstd', ?, ?)`,
      ).run(stored, rawBytes);
    });

    for (const withOption of [false, true]) {
      const backend = withOption ? compressed(path) : new SQLiteBackend(path);
      const l = await Ledger.open({ backend });
      expect((await l.verify()).ok).toBe(true);
      expect(await l.getEntry(written[42]!.id)).toEqual(written[42]);
      const more = await l.appendBatch([event(1000 + Number(withOption))]);
      expect(await l.getEntry(more[0]!.id)).toEqual(more[0]);
      await l.close();
    }
    const l = await Ledger.open({ backend: new SQLiteBackend(path) });
    await l.redact(written[3]!.id, { reason: 'old rows redact too' });
    expect((await l.verify({ parallel: 2, parallelThreshold: 1 })).ok).toBe(true);
    expect((await l.query({ where: { 'metadata.old': true } })).length).toBe(60);
    expect((await l.getEntries({ startTime: +written[0]!.timestamp })).length).toBe(63);
    await l.close();
    raw(path, (db) => {
      // Still the whole-text layout: text ids, whole (framed) bodies, the time index, file version 1.
      expect(db.prepare(`SELECT count(*) FROM ${t.entries} WHERE typeof(id) <> 'text'`).pluck().get()).toBe(
        0,
      );
      expect(db.prepare(`SELECT count(*) FROM ${t.entries} WHERE body IS NULL`).pluck().get()).toBe(0);
      expect(
        db.prepare("SELECT value FROM signledger_schema WHERE key = 'schema_version'").pluck().get(),
      ).toBe('1');
      expect(
        db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = '${t.entries}_ts'`).pluck().get(),
      ).toBe(1);
    });
  });

  it('an id moved to its other stored form cannot redirect lookups to a row past the head', async () => {
    const path = fresh('idforge');
    const ledger = await Ledger.open({ backend: compressed(path) });
    const written = await ledger.appendBatch(Array.from({ length: 40 }, (_, i) => event(i)));
    await ledger.close();
    raw(path, (db) => {
      // Entry 10's id kept as text; a forged row past the head takes the blob form of the same id.
      db.exec(`CREATE TEMP TABLE original AS SELECT * FROM ${t.entries} WHERE idx = 10`);
      db.exec(`UPDATE ${t.entries} SET id = '${written[10]!.id}' WHERE idx = 10`);
      db.exec(`INSERT INTO ${t.entries} (idx, id, ts, hash, body, data, salt, sigs)
                 SELECT 40, id, ts, hash, body, (SELECT data FROM ${t.entries} WHERE idx = 11), salt, sigs
                 FROM original`);
    });
    const l = await Ledger.open({ backend: new SQLiteBackend(path) });
    expect(await l.getEntry(written[10]!.id)).toBeNull();
    expect(await l.getEntryAt(40)).toBeNull();
    expect((await l.getEntries()).length).toBe(40);
    const r = await l.verify({ parallel: false });
    expect(r.failure).toMatchObject({ kind: 'hash_mismatch', index: 10 });
    await l.close();
  });

  it('a process that opened the file before another trained the dictionary uses that dictionary', async () => {
    const path = fresh('twowriters');
    const a = await Ledger.open({ backend: compressed(path, 30) });
    await a.appendBatch(Array.from({ length: 5 }, (_, i) => event(i)));
    const b = await Ledger.open({ backend: compressed(path, 30) });
    await b.appendBatch(Array.from({ length: 40 }, (_, i) => event(5 + i))); // trains dictionary 1
    // `a` reads b's rows (framed with a dictionary it has not loaded) and appends after them.
    expect((await a.getEntryAt(20))?.data).toEqual(event(20));
    const more = await a.appendBatch(Array.from({ length: 10 }, (_, i) => event(45 + i)));
    expect(more[0]!.index).toBe(45);
    expect((await a.verify({ parallel: false })).ok).toBe(true);
    expect((await b.verify({ parallel: false })).ok).toBe(true);
    await a.close();
    await b.close();
    raw(path, (db) => expect(db.prepare(`SELECT count(*) FROM ${t.dicts}`).pluck().get()).toBe(1));
  });

  it('an uncompressed ledger opened with compression keeps the whole-text layout', async () => {
    const path = fresh('switch');
    const l1 = await Ledger.open({ backend: new SQLiteBackend(path) });
    const first = await l1.appendBatch(Array.from({ length: 30 }, (_, i) => event(i)));
    await l1.close();
    const l2 = await Ledger.open({ backend: compressed(path, 10) });
    const second = await l2.appendBatch(Array.from({ length: 30 }, (_, i) => event(30 + i)));
    expect((await l2.verify()).ok).toBe(true);
    expect(await l2.getEntry(first[3]!.id)).toEqual(first[3]);
    expect(await l2.getEntry(second[3]!.id)).toEqual(second[3]);
    await l2.close();
    raw(path, (db) => {
      expect(db.prepare(`SELECT layout FROM ${t.packing}`).pluck().get()).toBe(1);
      expect(db.prepare(`SELECT count(*) FROM ${t.entries} WHERE typeof(body) = 'blob'`).pluck().get()).toBe(
        30,
      );
      expect(db.prepare(`SELECT count(*) FROM ${t.entries} WHERE typeof(id) = 'text'`).pluck().get()).toBe(
        60,
      );
    });
  });
});
