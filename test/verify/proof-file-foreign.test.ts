/**
 * Proof files from a foreign writer: the offline verifier applies the same entry rules as the bundle
 * verifier (the committed time is the ISO text of a whole millisecond; signature records have string
 * algorithm, keyId and value), even when everything hashes and signs consistently.
 */
import { describe, expect, it } from 'vitest';
import { digest } from '../../src/crypto/hash.js';
import { dataDigestOf, leafText } from '../../src/entry/commitment.js';
import type { StoredEntry } from '../../src/entry/types.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { leafHash } from '../../src/merkle/hash.js';
import { signCheckpoint } from '../../src/note/checkpoint.js';
import { formatProofFile, proofExtra, verifyProofFile } from '../../src/verify/bundle/proof-file.js';

const ORIGIN = 'log.example/foreign';
const logKey = generateLogKey(ORIGIN);

/** A one-entry log written by hand, consistent in every hash and signature. */
function proofFor(timestamp: string, sigs: string | null): string {
  const salt = Buffer.alloc(32, 5);
  const data = '{"a":1}';
  const dd = dataDigestOf('sha256', salt, data).toString('hex');
  const id = '0190a0b0-0000-7000-8000-000000000001';
  const body = `{"dataDigest":"${dd}","id":"${id}","index":0,"ledger":"6f1c2b1e-8f3a-4c55-9d0e-2a7b5c4d3e21","metadata":{},"prev":null,"timestamp":"${timestamp}","type":"event","v":1}`;
  const hash = digest('sha256', Buffer.from(body, 'utf8'));
  const row: StoredEntry = {
    index: 0,
    id,
    timestampMs: Date.parse(timestamp),
    hash,
    body,
    data,
    salt,
    signatures: sigs,
  };
  const root = leafHash(Buffer.from(leafText(hash.toString('hex'), sigs), 'utf8'));
  const checkpoint = signCheckpoint(
    { origin: ORIGIN, size: 1, rootHash: root, extensions: [] },
    logKey.signer!,
  );
  return formatProofFile({ index: 0, path: [], extra: proofExtra(row, 'sha256'), checkpoint });
}

describe('verifyProofFile on a foreign writer', () => {
  it('accepts the well-formed entry and reports a timestamp without milliseconds or a malformed record', async () => {
    const ok = await verifyProofFile(proofFor('2026-01-01T00:00:00.000Z', null), {
      verifierKey: logKey.verifierKey,
    });
    expect(ok.ok, JSON.stringify(ok.failure)).toBe(true);
    const noMs = await verifyProofFile(proofFor('2026-01-01T00:00:00Z', null), {
      verifierKey: logKey.verifierKey,
    });
    expect([noMs.ok, noMs.failure?.kind]).toEqual([false, 'column_mismatch']);
    const badRecord = await verifyProofFile(
      proofFor('2026-01-01T00:00:00.000Z', '[{"algorithm":"ed25519","keyId":7}]'),
      {
        verifierKey: logKey.verifierKey,
      },
    );
    expect([badRecord.ok, badRecord.failure?.kind]).toEqual([false, 'malformed_entry']);
  });
});
