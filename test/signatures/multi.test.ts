import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ECDSASigner,
  Ed25519Signer,
  KeyRing,
  MultiSigner,
  RemoteSigner,
  type SignatureRecord,
  verifyThreshold,
  verifyThresholdAsync,
} from '../../src/crypto/signatures/index.js';
import { ValidationError } from '../../src/errors.js';
import { ENTRY_HASH, fixtures } from './fixtures.js';

describe('MultiSigner', () => {
  it('signs with every signer in parallel, in order', async () => {
    const a = new Ed25519Signer();
    const b = new ECDSASigner({ curve: 'P-384' });
    const c = fixtures.rsaPss();
    const multi = new MultiSigner([a, b.sign, c]); // a bound sign function resolves to its signer
    expect(multi.signers).toEqual([a, b, c]);
    const records = await multi.signRecords(ENTRY_HASH);
    expect(records.map((r) => r.keyId)).toEqual([a.keyId, b.keyId, c.keyId]);
    expect(records.map((r) => r.algorithm)).toEqual(['ed25519', 'ecdsa-p384-sha384', 'rsa-pss-sha256']);
    const res = verifyThreshold(records, ENTRY_HASH, multi.keyRing(), 3);
    expect(res).toMatchObject({ ok: true, valid: 3, required: 3, failures: [], duplicates: [] });
  });

  it('refuses no signers, duplicate keys and plain functions', () => {
    const a = new Ed25519Signer();
    expect(() => new MultiSigner([])).toThrow(ValidationError);
    expect(() => new MultiSigner([a, a.sign])).toThrow(/twice/);
    expect(() => new MultiSigner([async () => 'x'])).toThrow(ValidationError);
  });
});

describe('verifyThreshold', () => {
  const a = new Ed25519Signer();
  const b = new Ed25519Signer();
  const c = new ECDSASigner();
  const keys = [a.publicKey, b.publicKey, c.publicKey];

  it('k-of-n over a list of public keys', async () => {
    const records = await new MultiSigner([a, b]).signRecords(ENTRY_HASH);
    expect(verifyThreshold(records, ENTRY_HASH, keys, 2).ok).toBe(true);
    const three = verifyThreshold(records, ENTRY_HASH, keys, 3);
    expect(three).toMatchObject({ ok: false, valid: 2, required: 3 });
    expect((await verifyThresholdAsync(records, ENTRY_HASH, keys, 2)).ok).toBe(true);
    expect(MultiSigner.verifyThreshold(records, ENTRY_HASH, [a, b, c], 2).keyIds).toEqual([a.keyId, b.keyId]);
  });

  it('two records from one key count once', async () => {
    const r1 = await a.signRecord(ENTRY_HASH);
    const r2 = await a.signRecord(ENTRY_HASH);
    const ecdsa1 = await c.signRecord(ENTRY_HASH);
    const ecdsa2 = await c.signRecord(ENTRY_HASH); // a different, also valid, ECDSA signature
    expect(ecdsa1.value).not.toBe(ecdsa2.value);
    const res = verifyThreshold([r1, r2, ecdsa1, ecdsa2], ENTRY_HASH, keys, 3);
    expect(res).toMatchObject({ ok: false, valid: 2, duplicates: [1, 3] });
    expect(verifyThreshold([r1, r2, ecdsa1, ecdsa2], ENTRY_HASH, keys, 2).ok).toBe(true);
  });

  it('a forged keyId cannot double-count a key', async () => {
    const real = await a.signRecord(ENTRY_HASH);
    const forged: SignatureRecord = { ...real, keyId: b.keyId }; // a's signature claiming to be b's
    const res = verifyThreshold([real, forged], ENTRY_HASH, keys, 2);
    expect(res.ok).toBe(false);
    expect(res.valid).toBe(1);
    expect(res.failures).toEqual([{ index: 1, kind: 'signature_invalid', message: expect.any(String) }]);
  });

  it('duplicate keys in the trusted list are harmless', async () => {
    const records = await new MultiSigner([a, b]).signRecords(ENTRY_HASH);
    const res = verifyThreshold(records, ENTRY_HASH, [a.publicKey, a.publicKey, a, b.publicKey], 2);
    expect(res.ok).toBe(true);
  });

  it('untrusted and invalid records do not count and are reported', async () => {
    const stranger = new Ed25519Signer();
    const records = [
      await stranger.signRecord(ENTRY_HASH),
      await a.signRecord('another message'),
      await b.signRecord(ENTRY_HASH),
    ];
    const res = verifyThreshold(records, ENTRY_HASH, keys, 1);
    expect(res.ok).toBe(true);
    expect(res.failures.map((f) => [f.index, f.kind])).toEqual([
      [0, 'key_unknown'],
      [1, 'signature_invalid'],
    ]);
  });

  it('with a KeyRing, windows and revocation apply', async () => {
    const ring = new KeyRing();
    ring.add(a);
    ring.add(b, { validFrom: { index: 10 } });
    ring.add(c);
    ring.revoke(c.keyId, { index: 5 });
    const records = await new MultiSigner([a, b, c]).signRecords(ENTRY_HASH);
    expect(verifyThreshold(records, ENTRY_HASH, ring, 2, { index: 0 }).valid).toBe(2); // a, c
    expect(verifyThreshold(records, ENTRY_HASH, ring, 2, { index: 7 }).valid).toBe(1); // a
    expect(verifyThreshold(records, ENTRY_HASH, ring, 2, { index: 12 }).valid).toBe(2); // a, b
    const res = await verifyThresholdAsync(records, ENTRY_HASH, ring, 2, { index: 7 });
    expect(res.failures.map((f) => f.kind)).toEqual(['key_outside_window', 'key_revoked']);
  });

  it('validates k and records', async () => {
    const records = [await a.signRecord(ENTRY_HASH)];
    expect(() => verifyThreshold(records, ENTRY_HASH, keys, 0)).toThrow(ValidationError);
    expect(() => verifyThreshold(records, ENTRY_HASH, keys, 1.5)).toThrow(ValidationError);
    expect(() => verifyThreshold('x' as never, ENTRY_HASH, keys, 1)).toThrow(ValidationError);
  });

  it('one EC key read in two point encodings is one key: refused twice, counted once', async () => {
    const ec = new ECDSASigner({ curve: 'P-256' });
    // The same public key as a compressed-point SPKI (openssl ec -pubin -conv_form compressed).
    const der = ec.publicKey.export({ type: 'spki', format: 'der' });
    const jwk = ec.publicKey.export({ format: 'jwk' });
    const y = Buffer.from(jwk.y!, 'base64url');
    const compressedPoint = Buffer.concat([
      Buffer.from([2 + (y[y.length - 1]! & 1)]),
      Buffer.from(jwk.x!, 'base64url'),
    ]);
    const head = Buffer.from(der.subarray(0, der.length - 65)); // SEQUENCE, AlgorithmIdentifier, BIT STRING header
    head[1] = head[1]! - 32;
    head[head.length - 2] = head[head.length - 2]! - 32;
    const compressed = createPublicKey({
      key: Buffer.concat([head, compressedPoint]),
      format: 'der',
      type: 'spki',
    });
    expect(compressed.export({ type: 'spki', format: 'der' }).length).toBe(der.length - 32);
    const twin = new RemoteSigner({
      algorithm: ec.algorithm,
      publicKey: compressed,
      sign: async (m) => Buffer.from(await ec.sign(m), 'base64'),
    });
    expect(twin.keyId).toBe(ec.keyId);
    expect(() => new MultiSigner([ec, twin])).toThrow(ValidationError);
    const records = [await ec.signRecord(ENTRY_HASH), await twin.signRecord(ENTRY_HASH)];
    const result = verifyThreshold(records, ENTRY_HASH, new KeyRing([ec.publicKey]), 2);
    expect(result).toMatchObject({ ok: false, valid: 1 });
  });
});
