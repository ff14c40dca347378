// Keeps docs/FORMAT.md §7 true: recompute its worked example with the library and compare with the doc.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { digest } from '../../src/crypto/hash.js';
import { canonicalize } from '../../src/encoding/canonical.js';
import { commitmentText, dataDigestOf, leafText } from '../../src/entry/commitment.js';
import { leafHash, nodeHash } from '../../src/merkle/hash.js';

const doc = readFileSync(new URL('../../docs/FORMAT.md', import.meta.url), 'utf8');
const ledgerId = '6f1c2b1e-8f3a-4c55-9d0e-2a7b5c4d3e21';

function entry(
  index: number,
  prev: string | null,
  id: string,
  ts: string,
  data: object,
  metadata: object,
  saltByte: number,
) {
  const dataText = canonicalize(data);
  const dataDigest = dataDigestOf('sha256', Buffer.alloc(32, saltByte), dataText).toString('hex');
  const body = commitmentText({
    dataDigest,
    id,
    index,
    ledgerId,
    metadataText: canonicalize(metadata),
    prev,
    timestamp: ts,
    type: 'event',
  });
  const hash = digest('sha256', Buffer.from(body)).toString('hex');
  const leaf = leafText(hash, null);
  return { dataText, dataDigest, body, hash, leaf, leafHash: leafHash(Buffer.from(leaf)) };
}

describe('docs/FORMAT.md worked example', () => {
  const e0 = entry(
    0,
    null,
    '0b6f7c1e-5d2a-4f3b-9c8d-7e6f5a4b3c2d',
    '2026-01-15T09:30:00.000Z',
    { user_id: 'user123', action: 'user_login', ip_address: '192.168.1.1' },
    {},
    0x11,
  );
  const e1 = entry(
    1,
    e0.hash,
    '1c7a8d2f-6e3b-4a4c-8d9e-8f7a6b5c4d3e',
    '2026-01-15T09:30:01.250Z',
    { amount: 15000, currency: 'USD', note: 'café ☕' },
    { compliance: 'SOX', category: 'wire_transfer' },
    0x22,
  );
  const root = nodeHash(e0.leafHash, e1.leafHash);

  it('matches every value printed in the document', () => {
    for (const v of [
      e0.dataText,
      e0.dataDigest,
      e0.body,
      e0.hash,
      e0.leaf,
      e0.leafHash.toString('hex'),
      e1.dataText,
      e1.dataDigest,
      e1.body,
      e1.hash,
      e1.leafHash.toString('hex'),
      root.toString('hex'),
      root.toString('base64'),
    ]) {
      expect(doc).toContain(v);
    }
  });
});
