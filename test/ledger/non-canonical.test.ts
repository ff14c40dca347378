// The bytes an entry hash commits to must be the one RFC 8785 text of its commitment. A body in any
// other spelling (duplicate names, unsorted members, whitespace) is refused even when its hash is
// recomputed to match: another verifier could read it differently.
import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { commitmentText, dataDigestHex, hashText, newSalt } from '../../src/entry/commitment.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { parseManifest } from '../../src/verify/bundle/format.js';
import { StreamVerifier } from '../../src/verify/stream-verifier.js';

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

describe('a ledger id JSON would escape', () => {
  it('never lets the fast path accept a body the parser would refuse', async () => {
    // A store or bundle may claim any ledger id; spliced unescaped it would forge extra members.
    const ledgerId = 'a","b":"c';
    const salt = newSalt();
    const data = '{"x":1}';
    const body = commitmentText({
      dataDigest: dataDigestHex('sha256', salt, data),
      id: 'id1',
      index: 0,
      ledgerId,
      metadataText: '{}',
      prev: null,
      timestamp: new Date(1000).toISOString(),
      type: 'event',
    });
    const row = {
      index: 0,
      id: 'id1',
      timestampMs: 1000,
      hash: hashText('sha256', body),
      body,
      data,
      salt,
      signatures: null,
    };
    const v = new StreamVerifier({ ledgerId, hashAlgorithm: 'sha256' });
    expect(await v.push([row])).toBe(false);
    expect(v.failure).toMatchObject({ kind: 'malformed_entry', index: 0 });
  });

  it('is refused in a bundle manifest', () => {
    const manifest = (ledgerId: string) =>
      JSON.stringify({
        format: 'signledger-bundle',
        version: 1,
        formatVersion: 1,
        ledgerId,
        name: 'default',
        hashAlgorithm: 'sha256',
        origin: 'example.com/log',
        size: 1,
        rootHash: 'ab'.repeat(32),
        createdAt: '2026-11-26T00:00:00.000Z',
        exportedAt: '2026-11-26T00:00:00.000Z',
        files: { entries: 'entries.jsonl', checkpoint: 'checkpoint', verifierKey: 'log.vkey' },
      });
    expect(parseManifest(manifest('0b0b0b0b-0000-4000-8000-000000000000')).ledgerId).toBe(
      '0b0b0b0b-0000-4000-8000-000000000000',
    );
    expect(() => parseManifest(manifest('a","b":"c'))).toThrow(/"ledgerId" must be a lowercase UUID/);
  });
});
