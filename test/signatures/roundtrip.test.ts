import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ECDSASigner,
  Ed25519Signer,
  keyIdOf,
  RSASigner,
  resolveSigner,
  SIGNER,
  verifySignature,
  verifySignatureAsync,
} from '../../src/crypto/signatures/index.js';
import { ValidationError } from '../../src/errors.js';
import { allSigners, ENTRY_HASH, fixtures } from './fixtures.js';

describe('every algorithm round-trips', () => {
  for (const { name, signer } of allSigners()) {
    it(name, async () => {
      expect(signer.algorithm).toBe(name);
      const sig = await signer.sign(ENTRY_HASH);
      expect(sig).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
      expect(signer.verify(ENTRY_HASH, sig)).toBe(true);
      expect(signer.verify(ENTRY_HASH, Buffer.from(sig, 'base64'))).toBe(true);
      expect(await signer.verifyAsync(ENTRY_HASH, sig)).toBe(true);
      const otherHash = ENTRY_HASH.slice(0, -1) + (ENTRY_HASH.endsWith('0') ? '1' : '0');
      expect(signer.verify(otherHash, sig)).toBe(false);
      expect(signer.verify('another message', sig)).toBe(false);

      const record = await signer.signRecord(ENTRY_HASH);
      expect(record).toEqual({ algorithm: name, keyId: signer.keyId, value: expect.any(String) });
      expect(signer.verify(ENTRY_HASH, record)).toBe(true);
      expect(verifySignature(record, ENTRY_HASH, signer.publicKey)).toBe(true);
      expect(await verifySignatureAsync(record, ENTRY_HASH, signer.publicKey)).toBe(true);
      expect(verifySignature(record, 'other', signer.publicKey)).toBe(false);

      const syncSig = signer.signSync(ENTRY_HASH);
      expect(signer.verify(ENTRY_HASH, syncSig)).toBe(true);
      expect(signer.verify(ENTRY_HASH, signer.signRecordSync(ENTRY_HASH))).toBe(true);

      // bytes and their UTF-8 string are the same message
      expect(signer.verify(Buffer.from(ENTRY_HASH, 'utf8'), sig)).toBe(true);
    });
  }

  it('RSA 3072 round-trips and signs 384-byte signatures', async () => {
    const rsa = await RSASigner.generate({ keySize: 3072 });
    expect(rsa.keySize).toBe(3072);
    const sig = await rsa.sign(ENTRY_HASH);
    expect(Buffer.from(sig, 'base64')).toHaveLength(384);
    expect(rsa.verify(ENTRY_HASH, sig)).toBe(true);
  });

  it('signatures are checked by node:crypto directly with the documented parameters', async () => {
    const ed = new Ed25519Signer();
    expect(
      cryptoVerify(
        null,
        Buffer.from(ENTRY_HASH),
        ed.publicKey,
        Buffer.from(await ed.sign(ENTRY_HASH), 'base64'),
      ),
    ).toBe(true);
    const ec = new ECDSASigner({ curve: 'P-384' });
    const der = Buffer.from(await ec.sign(ENTRY_HASH), 'base64');
    expect(der[0]).toBe(0x30); // DER SEQUENCE, not raw r||s
    expect(
      cryptoVerify('sha384', Buffer.from(ENTRY_HASH), { key: ec.publicKey, dsaEncoding: 'der' }, der),
    ).toBe(true);
  });

  it('Ed25519 is deterministic; RSA-PSS is randomized', async () => {
    const ed = new Ed25519Signer();
    expect(await ed.sign('x')).toBe(await ed.sign('x'));
    const rsa = fixtures.rsaPss();
    expect(await rsa.sign('x')).not.toBe(await rsa.sign('x'));
  });
});

describe('key id', () => {
  it('is the first 16 bytes of SHA-256 over the SPKI DER, lowercase hex', () => {
    for (const { signer } of allSigners()) {
      const spki = signer.publicKey.export({ type: 'spki', format: 'der' });
      const expected = createHash('sha256').update(spki).digest('hex').slice(0, 32);
      expect(signer.keyId).toBe(expected);
      expect(keyIdOf(signer.publicKey)).toBe(expected);
    }
  });

  it('is the same whether computed from the private or the public key', () => {
    const ed = new Ed25519Signer();
    const pem = ed.exportPrivateKeyPem();
    const again = Ed25519Signer.fromPem(pem);
    expect(again.keyId).toBe(ed.keyId);
    expect(keyIdOf(createPublicKey(pem))).toBe(ed.keyId);
  });
});

describe('unbound use', () => {
  it('sign, signRecord, signSync and verify work detached from the signer', async () => {
    for (const { signer } of allSigners()) {
      const { sign, signRecord, signSync, verify, verifyAsync } = signer;
      const f = sign;
      const sig = await f(ENTRY_HASH);
      expect(verify(ENTRY_HASH, sig)).toBe(true);
      expect(await verifyAsync(ENTRY_HASH, sig)).toBe(true);
      expect(verify(ENTRY_HASH, await signRecord(ENTRY_HASH))).toBe(true);
      expect(verify(ENTRY_HASH, signSync(ENTRY_HASH))).toBe(true);
    }
  });

  it('sign functions carry their signer under SIGNER and resolveSigner finds it', () => {
    const rsa = fixtures.rsaPss();
    expect(rsa.sign[SIGNER]).toBe(rsa);
    expect(rsa.signRecord[SIGNER]).toBe(rsa);
    expect(rsa.signSync[SIGNER]).toBe(rsa);
    expect(resolveSigner(rsa.sign)).toBe(rsa);
    expect(resolveSigner(rsa)).toBe(rsa);
    // the marker is not enumerable and cannot be overwritten
    expect(Object.keys(rsa.sign)).toEqual([]);
    expect(() => {
      (rsa.sign as unknown as Record<symbol, unknown>)[SIGNER] = null;
    }).toThrow(TypeError);
  });

  it('resolveSigner refuses a plain function and non-signers', () => {
    expect(() => resolveSigner(async (x: string) => x)).toThrow(ValidationError);
    expect(() => resolveSigner({} as never)).toThrow(ValidationError);
  });

  it('resolveSigner refuses a hand-written signer whose keyId is not its key', () => {
    const ed = new Ed25519Signer();
    const fake = { ...ed, keyId: '00'.repeat(16), algorithm: ed.algorithm, publicKey: ed.publicKey };
    expect(() => resolveSigner(fake)).toThrow(/does not match/);
  });
});

describe('concurrency', () => {
  it('many concurrent signs on the threadpool all verify', async () => {
    const signers = [new Ed25519Signer(), new ECDSASigner(), fixtures.rsaPss()];
    const jobs = [];
    for (let i = 0; i < 64; i++) {
      const s = signers[i % signers.length]!;
      const msg = `message ${i}`;
      jobs.push(s.sign(msg).then((sig) => s.verify(msg, sig)));
    }
    const results = await Promise.all(jobs);
    expect(results.every(Boolean)).toBe(true);
    expect(results).toHaveLength(64);
  });

  it('sign does not complete synchronously (it is queued to the threadpool)', async () => {
    const ed = new Ed25519Signer();
    let done = false;
    const p = ed.sign('x').then(() => {
      done = true;
    });
    expect(done).toBe(false);
    await p;
    expect(done).toBe(true);
  });
});

describe('serialization never leaks the private key', () => {
  it('toJSON has the public PEM only', () => {
    const ed = new Ed25519Signer();
    const json = JSON.stringify(ed);
    expect(json).not.toContain('PRIVATE');
    expect(JSON.parse(json)).toEqual({
      algorithm: 'ed25519',
      keyId: ed.keyId,
      publicKeyPem: ed.exportPublicKeyPem(),
    });
    expect(ed.toJwk()).not.toHaveProperty('d');
    expect(ed.toJwk({ private: true })).toHaveProperty('d');
  });
});
