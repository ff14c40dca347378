// A redaction commits the erasure and its record together, but `verify()` may have read the head
// just before: the record then lies past that head. It must be accepted only from a verified row.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { Compressor } from '../../src/compression/compressor.js';
import { ValidationError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import type { Head } from '../../src/storage/backend.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-redrace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Answers the next readHead() with a head read earlier: verify() then starts from that head. */
class EarlierHeadOnce extends SQLiteBackend {
  earlier: Head | null = null;
  override async readHead(): Promise<Head> {
    const h = this.earlier;
    this.earlier = null;
    return h ?? super.readHead();
  }
}

async function threeEntries(path: string): Promise<string> {
  const ledger = new Ledger({ backend: new SQLiteBackend({ path, durability: 'normal' }) });
  const first = await ledger.append({ patient: 'p1', note: 'x' });
  await ledger.append({ n: 1 });
  await ledger.append({ n: 2 });
  await ledger.close();
  return first.id;
}

describe('a redaction recorded after the head that verify() read', () => {
  it('is accepted once the rows appended since verify as well', async () => {
    const path = join(dir, 'race.db');
    const id = await threeEntries(path);
    const backend = new EarlierHeadOnce({ path });
    const ledger = await Ledger.open({ backend });
    const before = await backend.readHead();
    await ledger.redact(id, { reason: 'erasure' });
    backend.earlier = before; // verify() reads the head from before the redaction
    const r = await ledger.verify();
    expect(r.failure).toBeNull();
    expect(r).toMatchObject({ ok: true, size: 4, entriesChecked: 4, redacted: [0] });
    await ledger.close();
  });

  it('is refused when the "record" past the head is not part of the verified log', async () => {
    const path = join(dir, 'forged.db');
    const id = await threeEntries(path);
    const snapshot = join(dir, 'snapshot.db');
    copyFileSync(path, snapshot); // closed cleanly: the WAL is checkpointed into the file
    const ledger = new Ledger({ backend: new SQLiteBackend({ path, durability: 'normal' }) });
    await ledger.redact(id, { reason: 'erasure' });
    await ledger.close();
    // Behind the library's back: the head goes back to size 3, leaving entry 0 erased and the
    // record as a row past the head that no verified entry vouches for.
    const db = new Database(path);
    db.exec(`ATTACH DATABASE '${snapshot}' AS snap;
      DELETE FROM main.sl_default_head; INSERT INTO main.sl_default_head SELECT * FROM snap.sl_default_head;`);
    db.close();
    const reader = new Ledger({ backend: new SQLiteBackend({ path }) });
    const r = await reader.verify();
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ kind: 'redaction_unrecorded', index: 0 });
    await reader.close();
  });
});

/** Appends an entry and signs a checkpoint right after reading the head, as a busy writer would. */
class WriterBetweenReads extends SQLiteBackend {
  during: (() => Promise<void>) | null = null;
  override async readHead(): Promise<Head> {
    const h = await super.readHead();
    const act = this.during;
    this.during = null;
    if (act) await act();
    return h;
  }
}

describe('a checkpoint signed while verify() reads the store', () => {
  it('is not mistaken for truncation', async () => {
    const path = join(dir, 'busy.db');
    const logKey = generateLogKey('busy.example/log');
    const writer = new Ledger({ backend: new SQLiteBackend({ path, durability: 'normal' }), logKey });
    for (let i = 0; i < 5; i++) await writer.append({ i });
    await writer.checkpoint();
    const backend = new WriterBetweenReads({ path });
    const reader = await Ledger.open({ backend, logKey: logKey.verifierKey });
    backend.during = async () => {
      await writer.append({ late: true });
      await writer.checkpoint();
    };
    const r = await reader.verify();
    expect(backend.during).toBeNull(); // the concurrent write did happen during the run
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    await reader.close();
    await writer.close();
  });
});

describe('two redactions of one entry at once', () => {
  it('the second is refused: one record, one erasure', async () => {
    for (const compressed of [false, true]) {
      const ledger = new Ledger({
        backend: new SQLiteBackend({ path: join(dir, `twice-${compressed}.db`) }),
        ...(compressed ? { compression: new Compressor({ algorithm: 'zlib' }) } : {}),
      });
      const es = await ledger.appendBatch(Array.from({ length: 5 }, (_, i) => ({ i })));
      const [a, b] = await Promise.allSettled([
        ledger.redact(es[2]!.id, { reason: 'request 1' }),
        ledger.redact(es[2]!.id, { reason: 'request 2' }),
      ]);
      expect(a.status).toBe('fulfilled');
      expect(b.status).toBe('rejected');
      expect((b as PromiseRejectedResult).reason).toBeInstanceOf(ValidationError);
      const records = (await ledger.getEntries()).filter((e) => e.type === 'redaction');
      expect(records).toHaveLength(1);
      expect((await ledger.getEntry(es[2]!.id))?.redacted).toBe(true);
      // A later, unrelated redaction still runs (the queue does not stay blocked after a refusal).
      await expect(ledger.redact(es[3]!.id, { reason: 'request 3' })).resolves.toMatchObject({
        type: 'redaction',
      });
      expect((await ledger.verify()).ok).toBe(true);
      await ledger.close();
    }
  });
});

describe('an entry redacted through another ledger object is not served from a cache', () => {
  it('stores other processes can write keep no entry cache by default (SQLite: two connections, as two processes)', async () => {
    const path = join(dir, 'cache-sqlite.db');
    const a = new Ledger({ backend: new SQLiteBackend({ path, durability: 'normal' }) });
    const b = new Ledger({ backend: new SQLiteBackend({ path, durability: 'normal' }) });
    const e = await a.append({ patient: 'p1', diagnosis: 'x' });
    expect((await a.getEntry(e.id))?.data).toEqual({ patient: 'p1', diagnosis: 'x' });
    await b.redact(e.id, { reason: 'GDPR Art. 17' });
    const seen = await a.getEntry(e.id);
    expect(seen?.redacted).toBe(true);
    expect(seen?.data).toBeNull();
    for (const l of [a, b]) await l.close();
  });

  it('ledger objects sharing one in-memory backend drop the entry from every cache', async () => {
    const { InMemoryBackend } = await import('../../src/backends/memory/memory-backend.js');
    const backend = new InMemoryBackend();
    const a = new Ledger({ backend });
    const b = new Ledger({ backend });
    const e = await a.append({ patient: 'p1' });
    await b.open();
    expect((await a.getEntry(e.id))?.redacted).toBe(false);
    await b.redact(e.id, { reason: 'GDPR Art. 17' });
    expect((await a.getEntry(e.id))?.redacted).toBe(true);
    expect((await a.getEntry(e.id))?.data).toBeNull();
    await a.close();
  });
});
