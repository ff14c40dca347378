/**
 * The in-memory backend keeps rows in a compact columnar form (commitments rebuilt from their parts).
 * Whatever it is given, every read must return exactly the values written.
 */
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { Compressor } from '../../src/compression/index.js';
import type { HashAlgorithm } from '../../src/crypto/hash.js';
import { Ed25519Signer } from '../../src/crypto/signatures/ed25519.js';
import { BuiltRow } from '../../src/entry/built-row.js';
import { commitmentText } from '../../src/entry/commitment.js';
import { isoTimestamp } from '../../src/entry/timestamp.js';
import type { StoredEntry } from '../../src/entry/types.js';
import { StorageError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';

const copy = (e: StoredEntry): StoredEntry => ({
  ...e,
  hash: Buffer.from(e.hash),
  salt: e.salt && Buffer.from(e.salt),
});

/** Record every row as handed to the backend (erasures applied), to compare reads against. */
function record(backend: InMemoryBackend): StoredEntry[] {
  const rows: StoredEntry[] = [];
  const append = backend.append.bind(backend);
  backend.append = async (build) => {
    const batch = await append(build);
    for (const e of batch.entries) rows[e.index] = copy(e);
    for (const i of batch.erase) rows[i] = { ...rows[i]!, data: null, salt: null };
    return batch;
  };
  return rows;
}

async function expectReadsEqual(backend: InMemoryBackend, rows: readonly StoredEntry[]): Promise<void> {
  const scanned: StoredEntry[] = [];
  for await (const chunk of backend.scan({ chunkSize: 7 })) scanned.push(...chunk);
  expect(scanned).toEqual(rows);
  expect(await backend.getRange({ order: 'desc' })).toEqual([...rows].reverse());
  for (const [i, r] of rows.entries()) {
    expect(await backend.getByIndex(i)).toEqual(r);
    expect(await backend.getById(r.id)).toEqual(r);
  }
}

/** Private state, to check which rows took the compact form. */
function tails(backend: InMemoryBackend): string[] {
  const s = (backend as unknown as { ledgers: Map<string, { cols: { tail: string[] } }> }).ledgers;
  return s.get('default')!.cols.tail;
}

async function ledgerRows(hashAlgorithm: HashAlgorithm = 'sha256') {
  const backend = new InMemoryBackend();
  const rows = record(backend);
  const ledger = await Ledger.open({ backend, hashAlgorithm, signers: [new Ed25519Signer()] });
  await ledger.append({ i: 0 });
  await ledger.append({ i: 1 }, { metadata: { source: 'api' } });
  await ledger.append({ note: 'café ☕ 𝄞' }, { metadata: { who: 'Zoë ☕' } });
  await ledger.appendBatch(
    Array.from({ length: 40 }, (_, i) => ({ n: i })),
    { metadata: { k: 'v' } },
  );
  await ledger.append({ big: 1 }, { metadata: { pad: 'x'.repeat(20_000) } });
  const victim = await ledger.append({ secret: 'gone' });
  await ledger.redact(victim.id, { reason: 'GDPR' });
  return { backend, rows, ledger };
}

describe('in-memory backend storage', () => {
  it.each(['sha256', 'sha512'] as const)('reads back exactly what a %s ledger wrote', async (alg) => {
    const { backend, rows, ledger } = await ledgerRows(alg);
    expect(rows.length).toBe(46);
    await expectReadsEqual(backend, rows);
    // Ledger-built commitments are stored as their metadata only; the 20,000-char one whole.
    const t = tails(backend);
    expect(t[0]).toBe('{}');
    expect(t[1]).toBe('{"source":"api"}');
    expect(t[2]).toBe('{"who":"Zoë ☕"}');
    expect(t[43]).toBe(rows[43]!.body);
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('reads back exactly what a compressing ledger wrote', async () => {
    const backend = new InMemoryBackend();
    backend.useCompression(new Compressor({ algorithm: 'zlib', dictionary: { trainAfter: 10 } }));
    const rows = record(backend);
    const ledger = await Ledger.open({ backend });
    await ledger.appendBatch(Array.from({ length: 30 }, (_, i) => ({ n: i, user: 'alice' })));
    await expectReadsEqual(backend, rows);
    expect((await ledger.verify()).ok).toBe(true);
  });

  it('stores rows that do not fit the compact form as they are', async () => {
    const { backend, rows } = await ledgerRows();
    const base = rows[5]!;
    const prev = rows[4]!.hash.toString('hex');
    const digest = base.body.slice(15, 79);
    const alias = (s: string, at: number) =>
      s.slice(0, at) + String.fromCharCode(0x100 + s.charCodeAt(at)) + s.slice(at + 1);
    const prevAt = base.body.indexOf(prev);
    const variants: Partial<StoredEntry>[] = [
      { body: base.body.replace(digest, digest.toUpperCase()) },
      { body: base.body.replace(prev, prev.replace(/[0-9]/, 'f')) },
      // A char whose low byte is the expected hex digit (latin1 would alias it).
      { body: alias(base.body, prevAt) },
      { body: alias(base.body, 20) },
      { body: alias(base.body, base.body.length - 3) },
      { id: randomUUID() },
      { id: base.id.toUpperCase(), body: base.body.replace(base.id, base.id.toUpperCase()) },
      { id: `${base.id}x` },
      { body: base.body.replace('"index":5,', '"index":05,') },
      { timestampMs: base.timestampMs + 1 },
      { timestampMs: base.timestampMs + 0.5 },
      { timestampMs: -5 },
      { timestampMs: 1e15 },
      { body: base.body.replace('"type":"event"', '"type":"other"') },
      { body: base.body.replace('"metadata":{"k":"v"}', '"metadata":{"x":"\ud800"}') },
      { body: base.body.replace('"metadata":{"k":"v"}', '"metadata":') },
      { body: base.body.slice(0, 120) },
      { body: '' },
      { hash: Buffer.alloc(20, 1) },
      { salt: Buffer.alloc(5, 2) },
      { data: null, salt: null },
    ];
    for (const v of variants) {
      const edited = rows.map((r, i) => (i === 5 ? { ...copy(r), ...v } : copy(r)));
      backend._unsafeReplace(edited);
      expect(backend._unsafeSnapshot()).toEqual(edited);
      await expectReadsEqual(backend, edited);
    }
    // Indexes that differ from the position (an entry deleted from the middle).
    const gap = rows.filter((r) => r.index !== 3).map(copy);
    backend._unsafeReplace(gap);
    expect((await backend.getByIndex(3))!.index).toBe(4);
    await expectReadsEqual(backend, gap);
  });

  it('editing one row leaves the next one reading the same (its commitment names this hash)', async () => {
    const { backend, rows } = await ledgerRows();
    backend._unsafeSet(6, { ...copy(rows[6]!), hash: Buffer.alloc(32, 9) });
    const expected = rows.map((r, i) => (i === 6 ? { ...r, hash: Buffer.alloc(32, 9) } : r));
    await expectReadsEqual(backend, expected);
    // Through the live row view the ledger tests use.
    const view = backend._unsafeRows();
    view[2]!.data = '{"tampered":true}';
    expect((await backend.getByIndex(2))!.data).toBe('{"tampered":true}');
    expect(view.length).toBe(rows.length);
  });

  it('rejects an id already stored or repeated in a batch, and stores nothing of that batch', async () => {
    const { backend, rows } = await ledgerRows();
    const head = await backend.readHead();
    const next = (id: string, k: number): StoredEntry => ({ ...copy(rows[0]!), index: rows.length + k, id });
    const fresh = randomUUID();
    for (const entries of [[next(rows[3]!.id, 0)], [next(fresh, 0), next(fresh, 1)]]) {
      await expect(backend.append(() => ({ entries, tiles: [], head, erase: [] }))).rejects.toBeInstanceOf(
        StorageError,
      );
      expect((await backend.stats()).entries).toBe(rows.length);
      expect(await backend.getById(fresh)).toBeNull();
      await expectReadsEqual(backend, rows);
    }
  });

  it('takes a ledger-built row from its parts only while they describe its text', async () => {
    const { backend, rows, ledger } = await ledgerRows();
    const { ledgerId } = await ledger.getMeta();
    const ms = rows[rows.length - 1]!.timestampMs + 1;
    const built: StoredEntry[] = [];
    let prev = rows[rows.length - 1]!.hash.toString('hex');
    const make = (
      edit: (f: ConstructorParameters<typeof BuiltRow>[0]) => void,
      after?: (r: BuiltRow) => void,
    ) => {
      const fields = {
        dataDigest: 'ab'.repeat(32),
        id: randomUUID(),
        index: rows.length + built.length,
        ledgerId,
        metadataText: '{"k":"v"}',
        prev: prev as string | null,
        timestamp: isoTimestamp(ms),
        type: 'event' as const,
      };
      edit(fields);
      const row = new BuiltRow(fields, ms, '{"a":1}', Buffer.alloc(32, built.length));
      expect(row.body).toBe(commitmentText(fields));
      after?.(row);
      row.hash = createHash('sha256').update(row.body).digest();
      prev = row.hash.toString('hex');
      built.push(row);
    };
    make(() => {});
    make((f) => {
      f.prev = 'cd'.repeat(32); // not the stored hash before it
    });
    make((f) => {
      f.timestamp = isoTimestamp(ms + 1); // not the time column's text
    });
    make((f) => {
      f.metadataText = '{"who":"Zoë"}';
      f.type = 'redaction';
    });
    make(
      () => {},
      (r) => {
        r.body = r.body.replace('"k":"v"', '"k":"w"'); // replaced after it was built
      },
    );
    make(
      () => {},
      (r) => {
        r.id = randomUUID(); // the row's own id is what gets stored
      },
    );
    const head = await backend.readHead();
    const at = rows.length;
    const entries = built.map(copy);
    await backend.append(() => ({
      entries: built,
      tiles: [],
      head: { ...head, size: head.size + 6 },
      erase: [],
    }));
    expect(rows.slice(at)).toEqual(entries); // recorded as handed over
    await expectReadsEqual(backend, rows);
    const t = tails(backend);
    expect(t[at]).toBe('{"k":"v"}');
    expect(t[at + 3]).toBe('{"who":"Zoë"}');
    // Its replaced text is read, not its stale parts (and it still fits the compact form).
    expect(t[at + 4]).toBe('{"k":"w"}');
    for (const k of [1, 2, 5]) expect(t[at + k]).toBe(entries[k]!.body);
  });

  it('finds rows by id among many (the id index grows)', async () => {
    const backend = new InMemoryBackend();
    const ledger = await Ledger.open({ backend });
    const entries = await ledger.appendBatch(Array.from({ length: 3000 }, (_, i) => ({ i })));
    for (const e of entries.filter((_, i) => i % 97 === 0))
      expect((await backend.getById(e.id))?.index).toBe(e.index);
    expect(await backend.getById(randomUUID())).toBeNull();
    expect(await backend.getById('not-a-uuid')).toBeNull();
  });
});
