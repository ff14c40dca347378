// The bytes an entry hash commits to must be the one RFC 8785 text of its commitment. A body in any
// other spelling (duplicate names, unsorted members, whitespace) is refused even when its hash is
// recomputed to match: another verifier could read it differently.
import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { Ledger } from '../../src/ledger/ledger.js';

const variants: [string, (body: string) => string][] = [
  ['a duplicate metadata name', (b) => b.replace('"metadata":{"k":"v"}', '"metadata":{"k":"v","k":"w"}')],
  ['unsorted metadata members', (b) => b.replace('"metadata":{"k":"v"}', '"metadata":{"z":1,"k":"v"}')],
  ['whitespace in the metadata', (b) => b.replace('"metadata":{"k":"v"}', '"metadata":{ "k":"v"}')],
  ['whitespace elsewhere in the body', (b) => b.replace('"index":1,', '"index": 1,')],
  ['a duplicate top-level name', (b) => b.replace('"index":1,', '"index":1,"index":1,')],
];

describe('non-canonical commitments', () => {
  it.each(variants)('are refused at the entry: %s', async (_name, edit) => {
    const backend = new InMemoryBackend();
    const ledger = await Ledger.open({ backend });
    await ledger.append({ a: 1 });
    const target = await ledger.append({ b: 2 }, { metadata: { k: 'v' } });
    await ledger.append({ c: 3 });
    expect((await ledger.verify()).ok).toBe(true);
    const rows = backend._unsafeRows();
    const body = edit(rows[1]!.body);
    expect(body).not.toBe(rows[1]!.body);
    rows[1]!.body = body;
    rows[1]!.hash = hash('sha256', body, 'buffer'); // the hash "matches" the edited bytes
    const r = await ledger.verify();
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ kind: 'malformed_entry', index: 1, id: target.id });
  });
});
