// decodeEntry takes the fields around the metadata without parsing the commitment. Whatever path a
// row takes, the entry must be exactly what parsing the stored texts gives.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { SQLiteBackend } from '../../src/backends/sqlite/sqlite-backend.js';
import { commitmentText } from '../../src/entry/commitment.js';
import { decodeEntry } from '../../src/entry/decode.js';
import { HexStoredEntry, storedHashHex, storedSaltHex } from '../../src/entry/stored-row.js';
import type { Entry, StoredEntry } from '../../src/entry/types.js';
import { IntegrityError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The entry an independent reading of the row gives: JSON.parse of every stored text. */
function parsedEntry(row: StoredEntry): Omit<Entry, 'timestamp'> & { timestamp: number } {
  const c = JSON.parse(row.body);
  const signatures = row.signatures === null ? [] : JSON.parse(row.signatures);
  return {
    id: c.id,
    ledgerId: c.ledger,
    index: c.index,
    timestamp: Date.parse(c.timestamp),
    type: c.type,
    data: row.data === null ? null : JSON.parse(row.data),
    metadata: c.metadata,
    previousHash: c.prev,
    hash: row.hash.toString('hex'),
    dataDigest: c.dataDigest,
    salt: row.salt === null ? null : row.salt.toString('hex'),
    signature: signatures[0]?.value ?? null,
    signatures,
    redacted: row.data === null,
  };
}

function expectDecodes(row: StoredEntry): void {
  const e = decodeEntry(row);
  expect({ ...e, timestamp: e.timestamp.getTime() }).toEqual(parsedEntry(row));
  for (const v of [e, e.timestamp, e.metadata, e.signatures, e.data])
    if (v) expect(Object.isFrozen(v)).toBe(true);
  expect(() => (e.timestamp as Date).setTime(0)).toThrow(TypeError);
}

const json = fc.dictionary(fc.string({ maxLength: 8, unit: 'grapheme' }), fc.jsonValue({ maxDepth: 2 }), {
  maxKeys: 4,
});

describe('decodeEntry', () => {
  it('reads back what parsing gives, streamed in order and fetched at random (SQLite rows)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(json, json), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        async (events, pick) => {
          const path = join(dir, `p${n++}.db`);
          const ledger = new Ledger({ backend: new SQLiteBackend({ path, durability: 'normal' }) });
          const written = [];
          for (const [data, metadata] of events)
            written.push(await ledger.append({ ...data, k: 1 }, { metadata }));
          if (written.length > 1) await ledger.redact(written[pick % written.length]!.id, { reason: 'r' });
          const backend = ledger.backend as SQLiteBackend;
          const rows: StoredEntry[] = [];
          for await (const chunk of backend.scan()) rows.push(...chunk);
          for (const row of rows) expectDecodes(row);
          for (const i of [pick % rows.length, 0, rows.length - 1]) expectDecodes(rows[i]!);
          const streamed = [];
          for await (const e of ledger.entries()) streamed.push(e);
          expect(streamed.map((e) => e.hash)).toEqual(rows.map((r) => storedHashHex(r)));
          await ledger.close();
          rmSync(path, { force: true });
        },
      ),
      { numRuns: 25 },
    );
  });

  // Rows built by hand: a plain StoredEntry with Buffers, so each variation is exactly one change.
  const H = (s: string) => createHash('sha256').update(s).digest();
  const ledgerId = '11111111-2222-4333-8444-555555555555';
  function row(over: Partial<Record<'id' | 'prev' | 'timestamp' | 'metadataText' | 'type', string>> = {}) {
    const body = commitmentText({
      dataDigest: 'ab'.repeat(32),
      id: over.id ?? '0f0e0d0c-0b0a-4908-8706-050403020100',
      index: 7,
      ledgerId,
      metadataText: over.metadataText ?? '{"a":[1,"\\u2028"]}',
      prev: over.prev === undefined ? 'cd'.repeat(32) : over.prev === 'null' ? null : over.prev,
      timestamp: over.timestamp ?? '2025-01-02T03:04:05.678Z',
      type: (over.type as 'event') ?? 'event',
    });
    return {
      index: 7,
      id: over.id ?? '0f0e0d0c-0b0a-4908-8706-050403020100',
      timestampMs: Date.parse('2025-01-02T03:04:05.678Z'),
      hash: H(body),
      body,
      data: '{"x":1}',
      salt: Buffer.alloc(32, 9),
      signatures: null as string | null,
    } satisfies StoredEntry;
  }

  it('takes the parser whenever the layout is not the plain one, with the same result', () => {
    const cases: StoredEntry[] = [
      row(),
      row({ prev: 'null', type: 'redaction' }),
      { ...row(), body: row().body.replace('"metadata":', '"metadata": ') },
      { ...row(), body: row().body.replace('"index":7', '"index":7.0') },
      { ...row(), index: 8 },
      { ...row(), timestampMs: 1 },
      { ...row(), id: 'another' },
      { ...row({ id: 'a\\u0041b' }), id: 'aAb' },
      { ...row(), signatures: '[{"algorithm":"ed25519","keyId":"k","value":"v"}]' },
      { ...row(), data: null, salt: null },
      { ...row(), body: `${row().body} ` },
    ];
    // Twice in a row, so the second of each pair can use what the first one predicts.
    for (const r of cases) {
      expectDecodes(r);
      expectDecodes(r);
    }
  });

  it('throws IntegrityError malformed_entry on a malformed row whatever path it takes', () => {
    const bad = [
      ...[
        row({ metadataText: '[]' }).body,
        row().body.replace('ab'.repeat(32), 'AB'.repeat(32)),
        row({ prev: 'zz' }).body,
        row({ timestamp: '2025-01-02 03:04:05.678Z' }).body.replace('"v":1', '"v":2'),
        row().body.replace('"type":"event"', '"type":"other"'),
        '{"not json',
      ].map((body) => ({ ...row(), body })),
      { ...row(), data: '{"unterminated' },
      { ...row(), signatures: '[{' },
    ];
    for (const r of bad) {
      let thrown: unknown;
      try {
        decodeEntry(r);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(IntegrityError);
      expect((thrown as IntegrityError).kind).toBe('malformed_entry');
      expect((thrown as IntegrityError).index).toBe(r.index);
    }
  });

  it('HexStoredEntry makes its Buffers from the hex and keeps them in step when set', () => {
    const r = new HexStoredEntry(1, 'id', 5, 'ab'.repeat(32), '{}', null, null, null);
    expect(r.hash).toEqual(Buffer.from('ab'.repeat(32), 'hex'));
    expect(r.hash).toBe(r.hash);
    expect(r.salt).toBeNull();
    r.salt = Buffer.from([1, 2]);
    r.hash = Buffer.from([3]);
    expect(r.saltHex).toBe('0102');
    expect(storedSaltHex(r)).toBe('0102');
    expect(storedHashHex(r)).toBe('03');
    r.salt = null;
    expect(storedSaltHex(r)).toBeNull();
  });
});
