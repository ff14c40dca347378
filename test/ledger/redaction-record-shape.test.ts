/**
 * A redaction record is exactly what the writer stores: { reason: string, redacts: { dataDigest, id,
 * index } } with index a non-negative integer before the record. A record with any other shape is
 * redaction_invalid even when every hash is recomputed to match (a foreign writer).
 */
import { describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { dataDigestHex, hashText } from '../../src/entry/commitment.js';
import { Ledger } from '../../src/ledger/ledger.js';

type Rec = { reason: unknown; redacts: Record<string, unknown> };

async function withRecordData(edit: (record: Rec) => unknown, parallel: false | number = false) {
  const backend = new InMemoryBackend();
  const ledger = await Ledger.open({ backend });
  await ledger.append({ a: 1 });
  const target = await ledger.append({ b: 2 });
  await ledger.redact(target.id, { reason: 'GDPR request 7' });
  expect((await ledger.verify()).ok).toBe(true);
  const pos = 2;
  const row = backend._unsafeSnapshot()[pos]!;
  const record = JSON.parse(row.data as string) as Rec;
  const data = JSON.stringify(edit(record));
  // Recompute the record's digest and hash: the chain up to it is consistent again.
  const oldDigest = dataDigestHex('sha256', row.salt!, row.data as string);
  const body = row.body.replace(oldDigest, dataDigestHex('sha256', row.salt!, data));
  backend._unsafeSet(pos, { ...row, data, body, hash: hashText('sha256', body) });
  const r = await ledger.verify({ parallel, parallelThreshold: 1 });
  await ledger.close();
  return r;
}

describe('redaction records', () => {
  it.each([
    ['an extra member in redacts', (o: Rec) => ({ ...o, redacts: { ...o.redacts, note: 'x' } })],
    ['a negative index', (o: Rec) => ({ ...o, redacts: { ...o.redacts, index: -1 } })],
    ['a fractional index', (o: Rec) => ({ ...o, redacts: { ...o.redacts, index: 0.5 } })],
    ['a reason that is not a string', (o: Rec) => ({ ...o, reason: 7 })],
  ])('with %s are redaction_invalid', async (_name, edit) => {
    const r = await withRecordData(edit);
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ kind: 'redaction_invalid', index: 2 });
  });

  it('naming the erased entry by index and digest but with another id is redaction_invalid at that entry', async () => {
    for (const parallel of [false, 2] as const) {
      const r = await withRecordData(
        (o) => ({ ...o, redacts: { ...o.redacts, id: '0190a0b0-0000-7000-8000-000000000009' } }),
        parallel,
      );
      expect(r.ok).toBe(false);
      expect(r.failure).toMatchObject({ kind: 'redaction_invalid', index: 1 });
      expect(r.failure?.message).toMatch(/digest or id/);
    }
  });

  it('an unchanged record still verifies after the same rewrite', async () => {
    const r = await withRecordData((o) => o);
    expect(r.ok).toBe(true);
  });
});
