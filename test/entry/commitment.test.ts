import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  commitmentRope,
  commitmentText,
  dataDigestHex,
  dataDigestOf,
  hashText,
  leafHashHexOfText,
  leafHashLatin1OfText,
  leafHashOfText,
  leafText,
  unsignedLeafHashLatin1,
} from '../../src/entry/commitment.js';

const sha = (alg: string, ...parts: (string | Buffer)[]) => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
};

describe('commitment hashing helpers agree with createHash', () => {
  it('leaf hashes in every output form, signed and unsigned, of 32- and 64-byte hashes', () => {
    for (const hex of [sha('sha256', 'a').toString('hex'), sha('sha512', 'b').toString('hex')]) {
      for (const sigs of [null, '[{"algorithm":"ed25519","keyId":"k","value":"dg=="}]', '["é☕"]']) {
        const text = leafText(hex, sigs);
        const want = sha('sha256', Buffer.from([0]), Buffer.from(text, 'utf8'));
        expect(leafHashOfText(text).equals(want)).toBe(true);
        expect(leafHashHexOfText(text)).toBe(want.toString('hex'));
        expect(Buffer.from(leafHashLatin1OfText(text), 'latin1').equals(want)).toBe(true);
        if (sigs === null) expect(Buffer.from(unsignedLeafHashLatin1(hex), 'latin1').equals(want)).toBe(true);
      }
    }
  });

  it('data digests and text hashes', () => {
    const salt = Buffer.alloc(32, 7);
    for (const data of ['{"a":1}', '{"note":"café ☕ 𝄞"}', `{"big":"${'x'.repeat(100_000)}"}`]) {
      for (const alg of ['sha256', 'sha512', 'sha3-256'] as const) {
        const want = sha(alg, salt, Buffer.from(data, 'utf8'));
        expect(dataDigestOf(alg, salt, data).equals(want)).toBe(true);
        expect(dataDigestHex(alg, salt, data)).toBe(want.toString('hex'));
        expect(hashText(alg, data).equals(sha(alg, Buffer.from(data, 'utf8')))).toBe(true);
      }
    }
  });

  it('the rope and the flat text are the same text, for each ledger in turn', () => {
    const base = {
      dataDigest: 'ab'.repeat(32),
      id: '0b6f7c1e-5d2a-4f3b-9c8d-7e6f5a4b3c2d',
      index: 3,
      metadataText: '{"k":"v"}',
      prev: null,
      timestamp: '2026-01-15T09:30:00.000Z',
      type: 'event' as const,
    };
    for (const ledgerId of [
      '6f1c2b1e-8f3a-4c55-9d0e-2a7b5c4d3e21',
      'other',
      '6f1c2b1e-8f3a-4c55-9d0e-2a7b5c4d3e21',
    ]) {
      for (const f of [
        { ...base, ledgerId },
        { ...base, ledgerId, prev: 'cd'.repeat(32), type: 'redaction' as const },
      ]) {
        const text = commitmentText(f);
        expect(commitmentRope(f)).toBe(text);
        expect(JSON.parse(text)).toEqual({
          dataDigest: f.dataDigest,
          id: f.id,
          index: f.index,
          ledger: ledgerId,
          metadata: { k: 'v' },
          prev: f.prev,
          timestamp: f.timestamp,
          type: f.type,
          v: 1,
        });
      }
    }
  });
});
