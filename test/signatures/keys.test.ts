import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  ECDH,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ECDSASigner,
  Ed25519Signer,
  KeyRing,
  keyFromPem,
  RSASigner,
  verifySignature,
} from '../../src/crypto/signatures/index.js';
import { KeyError, ValidationError } from '../../src/errors.js';
import { ENTRY_HASH, fixtures } from './fixtures.js';

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('PEM', () => {
  it('plain PKCS#8 round-trips for every signer class', async () => {
    const ed = new Ed25519Signer();
    const ec = new ECDSASigner({ curve: 'secp256k1' });
    const rsa = fixtures.rsaPkcs1();
    const edPem = ed.exportPrivateKeyPem();
    expect(edPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const ed2 = Ed25519Signer.fromPem(edPem);
    const ec2 = ECDSASigner.fromPem(ec.exportPrivateKeyPem());
    const rsa2 = RSASigner.fromPem(rsa.exportPrivateKeyPem(), { padding: 'pkcs1' });
    for (const [a, b] of [
      [ed, ed2],
      [ec, ec2],
      [rsa, rsa2],
    ] as const) {
      expect(b.keyId).toBe(a.keyId);
      expect(b.algorithm).toBe(a.algorithm);
      expect(a.verify(ENTRY_HASH, await b.sign(ENTRY_HASH))).toBe(true);
    }
    expect(ec2.curve).toBe('secp256k1');
  });

  it('encrypted PKCS#8 (aes-256-cbc) needs the passphrase', async () => {
    const ed = new Ed25519Signer();
    const pem = ed.exportPrivateKeyPem({ passphrase: 'correct horse' });
    expect(pem).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const loaded = Ed25519Signer.fromPem(pem, { passphrase: 'correct horse' });
    expect(loaded.keyId).toBe(ed.keyId);
    expect(ed.verify('m', await loaded.sign('m'))).toBe(true);

    const wrong = catchError(() => Ed25519Signer.fromPem(pem, { passphrase: 'wrong' }));
    expect(wrong).toBeInstanceOf(KeyError);
    expect((wrong as KeyError).code).toBe('KEY_INVALID');
    expect((wrong as KeyError).cause).toBeInstanceOf(Error);

    const missing = catchError(() => Ed25519Signer.fromPem(pem));
    expect(missing).toBeInstanceOf(KeyError);
    expect((missing as Error).message).toMatch(/passphrase/);
  });

  it('an empty export passphrase is refused', () => {
    expect(() => new Ed25519Signer().exportPrivateKeyPem({ passphrase: '' })).toThrow(ValidationError);
  });

  it('legacy PKCS#1 and SEC1 private PEMs load too', () => {
    const rsa = fixtures.rsaPss();
    const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
    });
    expect(RSASigner.fromPem(pkcs1 as string).canSign).toBe(true);
    const sec1 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
      type: 'sec1',
      format: 'pem',
    });
    expect(ECDSASigner.fromPem(sec1 as string).curve).toBe('P-384');
    expect(rsa.canSign).toBe(true);
  });

  it('corrupt PEM → KeyError with the cause', () => {
    const pem = new Ed25519Signer().exportPrivateKeyPem();
    const lines = pem.split('\n');
    lines[1] = `${lines[1]!.slice(0, 10)}AAAA${lines[1]!.slice(14)}`;
    const corrupt = [
      lines.join('\n'),
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
      '-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n',
      'no pem here',
      '',
    ];
    for (const text of corrupt) {
      const e = catchError(() => Ed25519Signer.fromPem(text));
      expect(e).toBeInstanceOf(KeyError);
    }
    const withCause = catchError(() =>
      keyFromPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
    );
    expect((withCause as KeyError).cause).toBeInstanceOf(Error); // the parser's own error, kept
  });

  it('fromPem refuses non-PEM input types', () => {
    expect(() => Ed25519Signer.fromPem({} as never)).toThrow(ValidationError);
  });
});

describe('public-only verifiers', () => {
  it('verify but refuse to sign with KeyError', async () => {
    const ec = new ECDSASigner({ curve: 'P-521' });
    const sig = await ec.sign(ENTRY_HASH);
    const pub = ECDSASigner.fromPem(ec.exportPublicKeyPem());
    expect(pub.canSign).toBe(false);
    expect(pub.keyId).toBe(ec.keyId);
    expect(pub.verify(ENTRY_HASH, sig)).toBe(true);
    await expect(pub.sign(ENTRY_HASH)).rejects.toBeInstanceOf(KeyError);
    await expect(pub.signRecord(ENTRY_HASH)).rejects.toBeInstanceOf(KeyError);
    expect(() => pub.signSync(ENTRY_HASH)).toThrow(KeyError);
    expect(() => pub.exportPrivateKeyPem()).toThrow(KeyError);
    expect(() => pub.toJwk({ private: true })).toThrow(KeyError);
    expect(pub.exportPublicKeyPem()).toBe(ec.exportPublicKeyPem());
  });

  it('from a public JWK and a public KeyObject', async () => {
    const ed = new Ed25519Signer();
    const sig = await ed.sign('m');
    const fromJwk = Ed25519Signer.fromJwk(ed.toJwk());
    const fromKo = Ed25519Signer.fromKeyObject(ed.publicKey);
    for (const v of [fromJwk, fromKo]) {
      expect(v.canSign).toBe(false);
      expect(v.verify('m', sig)).toBe(true);
    }
  });
});

describe('JWK', () => {
  it('private JWKs round-trip for Ed25519, every curve and RSA', async () => {
    const signers = [
      new Ed25519Signer(),
      new ECDSASigner({ curve: 'P-256' }),
      new ECDSASigner({ curve: 'P-384' }),
      new ECDSASigner({ curve: 'P-521' }),
      new ECDSASigner({ curve: 'secp256k1' }),
      fixtures.rsaPss(),
    ];
    for (const s of signers) {
      const jwk = s.toJwk({ private: true });
      const loaded =
        s instanceof Ed25519Signer
          ? Ed25519Signer.fromJwk(jwk)
          : s instanceof ECDSASigner
            ? ECDSASigner.fromJwk(jwk)
            : RSASigner.fromJwk(jwk);
      expect(loaded.keyId).toBe(s.keyId);
      expect(loaded.canSign).toBe(true);
      expect(s.verify('m', await loaded.sign('m'))).toBe(true);
    }
    expect(new ECDSASigner({ curve: 'secp256k1' }).toJwk().crv).toBe('secp256k1');
  });

  it('an invalid JWK → KeyError', () => {
    expect(() => Ed25519Signer.fromJwk({ kty: 'OKP', crv: 'Ed25519', x: 'short' })).toThrow(KeyError);
    expect(() => ECDSASigner.fromJwk({ kty: 'EC', crv: 'P-256' })).toThrow(KeyError);
  });
});

describe('key strength and type checks', () => {
  it('RSA 1024 → KeyError (generated, loaded, verify-only, or used in verifySignature)', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => RSASigner.fromKeyObject(weak.privateKey)).toThrow(KeyError);
    expect(() => RSASigner.fromPem(weak.publicKey.export({ type: 'spki', format: 'pem' }) as string)).toThrow(
      /too weak/,
    );
    expect(() => new RSASigner({ keySize: 1024 as never })).toThrow(ValidationError);
    expect(() =>
      verifySignature({ algorithm: 'rsa-pss-sha256', keyId: 'x', value: 'AAAA' }, 'm', weak.publicKey),
    ).toThrow(KeyError);
  });

  it('a key of the wrong type for the signer class → KeyError', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ed = generateKeyPairSync('ed25519');
    const rsa = fixtures.rsaPss();
    expect(() => RSASigner.fromKeyObject(ec.privateKey)).toThrow(KeyError);
    expect(() => ECDSASigner.fromKeyObject(ed.privateKey)).toThrow(KeyError);
    expect(() => Ed25519Signer.fromPem(rsa.exportPrivateKeyPem())).toThrow(KeyError);
    expect(() => Ed25519Signer.fromKeyObject(ec.publicKey)).toThrow(KeyError);
  });

  it('an EC key on another curve than requested → KeyError', () => {
    const p384 = new ECDSASigner({ curve: 'P-384' });
    expect(() => ECDSASigner.fromPem(p384.exportPrivateKeyPem(), { curve: 'P-256' })).toThrow(/P-256/);
    expect(() => new ECDSASigner({ curve: 'P-256', key: p384.publicKey })).toThrow(KeyError);
    // without a curve option the key decides
    expect(ECDSASigner.fromPem(p384.exportPrivateKeyPem()).algorithm).toBe('ecdsa-p384-sha384');
  });

  it('an RSA key of another size than requested → KeyError', () => {
    expect(() => new RSASigner({ keySize: 3072, key: fixtures.rsaPss().publicKey })).toThrow(KeyError);
  });

  it('unsupported key types and curves → KeyError', () => {
    const ed448 = generateKeyPairSync('ed448');
    const brainpool = generateKeyPairSync('ec', { namedCurve: 'brainpoolP256r1' });
    const pss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 });
    expect(() => Ed25519Signer.fromKeyObject(ed448.privateKey)).toThrow(KeyError);
    expect(() => ECDSASigner.fromKeyObject(brainpool.privateKey)).toThrow(/curve/);
    expect(() => RSASigner.fromKeyObject(pss.privateKey)).toThrow(/RSASSA-PSS/);
    expect(() => Ed25519Signer.fromKeyObject(createSecretKey(Buffer.alloc(32)))).toThrow(KeyError);
  });

  it('bad options → ValidationError', () => {
    expect(() => new ECDSASigner({ curve: 'P-224' as never })).toThrow(ValidationError);
    expect(() => new RSASigner({ padding: 'oaep' as never })).toThrow(ValidationError);
  });
});

const derLength = (n: number) => (n < 128 ? Buffer.from([n]) : Buffer.from([0x81, n]));

/** The SPKI DER of an EC public key with its point compressed (OpenSSL keeps that form on re-export). */
function compressedSpki(publicKey: KeyObject, opensslCurve: string): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ]);
  const compressed = ECDH.convertKey(point, opensslCurve, undefined, undefined, 'compressed') as Buffer;
  // AlgorithmIdentifier { id-ecPublicKey, curve OID }, as OpenSSL writes it (short enough for one length byte).
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const at = der[1]! < 128 ? 2 : 2 + (der[1]! & 0x7f);
  const algId = der.subarray(at, at + 2 + der[at + 1]!);
  const bits = Buffer.concat([
    Buffer.from([0x03]),
    derLength(compressed.length + 1),
    Buffer.from([0]),
    compressed,
  ]);
  const body = Buffer.concat([algId, bits]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

describe('EC key ids', () => {
  it.each([
    ['P-256', 'prime256v1'],
    ['P-384', 'secp384r1'],
    ['P-521', 'secp521r1'],
    ['secp256k1', 'secp256k1'],
  ] as const)(
    '%s: a key read from a compressed-point SPKI has the same id and verifies',
    async (curve, name) => {
      const signer = new ECDSASigner({ curve });
      const der = compressedSpki(signer.publicKey, name);
      const loaded = createPublicKey({ key: der, format: 'der', type: 'spki' });
      // OpenSSL itself keeps the compressed form: the id must not depend on it.
      expect(loaded.export({ type: 'spki', format: 'der' }).length).toBeLessThan(
        signer.publicKey.export({ type: 'spki', format: 'der' }).length,
      );
      const pem = loaded.export({ type: 'spki', format: 'pem' }) as string;
      const ring = new KeyRing([pem]);
      expect(ring.get(signer.keyId)?.keyId).toBe(signer.keyId);
      const rec = await signer.signRecord(ENTRY_HASH);
      expect(ring.check(rec, ENTRY_HASH, { index: 0 })).toEqual({ ok: true, keyId: signer.keyId });
      // The ring writes the uncompressed form back out.
      expect(ring.toJSON().keys[0]!.publicKey).toBe(signer.publicKey.export({ type: 'spki', format: 'pem' }));
    },
  );
});

describe('PEM files holding more than the key', () => {
  it('finds the private key after other blocks (openssl ecparam -genkey output, public + private)', async () => {
    const ec = new ECDSASigner({ curve: 'P-256' });
    const sec1 = ec.toJwk({ private: true });
    const sec1Pem = createPrivateKey({ key: sec1, format: 'jwk' }).export({ type: 'sec1', format: 'pem' });
    // What `openssl ecparam -name prime256v1 -genkey` writes: the curve OID block, then the key.
    const params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';
    const loaded = ECDSASigner.fromPem(params + sec1Pem);
    expect(loaded.canSign).toBe(true);
    expect(loaded.keyId).toBe(ec.keyId);
    expect(ec.verify(ENTRY_HASH, await loaded.sign(ENTRY_HASH))).toBe(true);

    const ed = new Ed25519Signer();
    const both = Ed25519Signer.fromPem(ed.exportPublicKeyPem() + ed.exportPrivateKeyPem());
    expect(both.canSign).toBe(true);
    expect(both.keyId).toBe(ed.keyId);
  });

  it('refuses a PEM text with two private keys (which one is meant is not known)', () => {
    const two = new Ed25519Signer().exportPrivateKeyPem() + new Ed25519Signer().exportPrivateKeyPem();
    expect(() => Ed25519Signer.fromPem(two)).toThrow(KeyError);
    expect(() => Ed25519Signer.fromPem(two)).toThrow(/more than one private key/);
  });
});
