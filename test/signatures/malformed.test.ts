import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ECDSASigner,
  Ed25519Signer,
  type SignatureRecord,
  verifySignature,
  verifySignatureAsync,
} from '../../src/crypto/signatures/index.js';
import { ValidationError } from '../../src/errors.js';
import { allSigners, ENTRY_HASH, fixtures } from './fixtures.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

describe('malformed signatures are false, never a throw', () => {
  for (const { name, signer } of allSigners()) {
    it(name, async () => {
      const good = Buffer.from(await signer.sign(ENTRY_HASH), 'base64');
      const bad: Array<string | Uint8Array> = [
        '',
        'not base64!',
        `${b64(good)}\n`, // whitespace: strict base64 refuses
        b64(good).replace(/=+$/, ''), // missing padding (when any)
        ` ${b64(good)}`,
        new Uint8Array(0),
        good.subarray(0, good.length - 1), // truncated
        good.subarray(1),
        Buffer.concat([good, Buffer.from([0])]), // trailing byte
        Buffer.alloc(good.length), // all zero, right length
        Buffer.alloc(good.length, 0xff),
        Buffer.alloc(4096, 0x30),
      ];
      for (const sig of bad) {
        if (typeof sig === 'string' && sig === b64(good)) continue; // no padding to strip
        expect(signer.verify(ENTRY_HASH, sig)).toBe(false);
        expect(await signer.verifyAsync(ENTRY_HASH, sig)).toBe(false);
      }
      expect(signer.verify(ENTRY_HASH, good)).toBe(true);
    });
  }

  it('ECDSA: truncated, non-minimal and non-canonical DER are rejected', async () => {
    const ec = new ECDSASigner();
    const der = Buffer.from(await ec.sign(ENTRY_HASH), 'base64');
    expect(ec.verify(ENTRY_HASH, der)).toBe(true);
    const bodyLen = der[1]!;
    const cases = [
      der.subarray(0, 6),
      // long-form length where the short form fits
      Buffer.concat([Buffer.from([0x30, 0x81, bodyLen]), der.subarray(2)]),
      // wrong outer length
      Buffer.concat([Buffer.from([0x30, bodyLen + 1]), der.subarray(2)]),
      // not a SEQUENCE
      Buffer.concat([Buffer.from([0x31]), der.subarray(1)]),
      // r with a superfluous leading zero
      padFirstInteger(der),
      // raw r||s (P1363) of the right size
      Buffer.alloc(64, 1),
    ];
    for (const c of cases) {
      expect(ec.verify(ENTRY_HASH, c)).toBe(false);
    }
    // r = 0, s = 1
    expect(ec.verify(ENTRY_HASH, Buffer.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01]))).toBe(false);
  });

  it('Ed25519: wrong lengths are false', () => {
    const ed = new Ed25519Signer();
    for (const len of [0, 32, 63, 65, 128]) expect(ed.verify('m', Buffer.alloc(len, 7))).toBe(false);
  });

  it('records with another algorithm, another keyId or a non-string value are false', async () => {
    const ed = new Ed25519Signer();
    const rec = await ed.signRecord(ENTRY_HASH);
    const variants: SignatureRecord[] = [
      { ...rec, algorithm: 'ecdsa-p256-sha256' },
      { ...rec, algorithm: 'nope' as never },
      { ...rec, keyId: '0'.repeat(32) },
      { ...rec, keyId: rec.keyId.toUpperCase() },
      { ...rec, keyId: undefined as never },
      { ...rec, value: 42 as never },
    ];
    for (const v of variants) {
      expect(ed.verify(ENTRY_HASH, v)).toBe(false);
      expect(verifySignature(v, ENTRY_HASH, ed.publicKey)).toBe(false);
      expect(await verifySignatureAsync(v, ENTRY_HASH, ed.publicKey)).toBe(false);
    }
    // an RSA record over an RSA key verified under the other padding is false
    const rsa = fixtures.rsaPss();
    const rsaRec = await rsa.signRecord(ENTRY_HASH);
    expect(verifySignature({ ...rsaRec, algorithm: 'rsa-pkcs1v15-sha256' }, ENTRY_HASH, rsa.publicKey)).toBe(
      false,
    );
    expect(verifySignature(rsaRec, ENTRY_HASH, rsa.publicKey)).toBe(true);
  });

  it('misuse throws ValidationError', async () => {
    const ed = new Ed25519Signer();
    const sig = await ed.sign('m');
    expect(() => ed.verify(42 as never, sig)).toThrow(ValidationError);
    expect(() => ed.verify('m', 42 as never)).toThrow(ValidationError);
    // No signature is an answer, not misuse: `rsa.verify(entry.hash, entry.signature)` on an
    // unsigned entry (signature: null) is false, as the seed's documented check reads.
    expect(ed.verify('m', null)).toBe(false);
    expect(ed.verify('m', undefined)).toBe(false);
    expect(await ed.verifyAsync('m', null)).toBe(false);
    expect(() =>
      ed.verify(undefined as never, { algorithm: 'ecdsa-p256-sha256', keyId: '', value: '' }),
    ).toThrow(ValidationError);
    await expect(ed.sign({} as never)).rejects.toBeInstanceOf(ValidationError);
    expect(() => ed.signSync(null as never)).toThrow(ValidationError);
    expect(() => verifySignature(null as never, 'm', ed.publicKey)).toThrow(ValidationError);
    expect(() =>
      verifySignature({ algorithm: 'ed25519', keyId: ed.keyId, value: sig }, 'm', 'pem' as never),
    ).toThrow(ValidationError);
  });
});

describe('property: any single bit flip fails verification', () => {
  const signers = [
    new Ed25519Signer(),
    new ECDSASigner({ curve: 'P-256' }),
    new ECDSASigner({ curve: 'P-521' }),
    new ECDSASigner({ curve: 'secp256k1' }),
    fixtures.rsaPss(),
    fixtures.rsaPkcs1(),
  ];
  for (const signer of signers) {
    it(`${signer.algorithm}: signature and message bit flips`, () => {
      const message = Buffer.from(ENTRY_HASH, 'utf8');
      const sig = signer.signSync(message);
      const sigBytes = Buffer.from(sig, 'base64');
      expect(signer.verify(message, sig)).toBe(true);
      fc.assert(
        fc.property(fc.nat({ max: sigBytes.length * 8 - 1 }), (bit) => {
          const flipped = Buffer.from(sigBytes);
          flipped[Math.floor(bit / 8)]! ^= 1 << (bit % 8);
          return signer.verify(message, flipped) === false && signer.verify(message, b64(flipped)) === false;
        }),
        { numRuns: 150 },
      );
      fc.assert(
        fc.property(fc.nat({ max: message.length * 8 - 1 }), (bit) => {
          const flipped = Buffer.from(message);
          flipped[Math.floor(bit / 8)]! ^= 1 << (bit % 8);
          return signer.verify(flipped, sig) === false;
        }),
        { numRuns: 150 },
      );
    });
  }

  it('ed25519: random messages sign and verify, and flips in both fail', () => {
    const ed = signers[0]!;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 256 }), fc.nat(), (msg, n) => {
        const sig = Buffer.from(ed.signSync(msg), 'base64');
        if (!ed.verify(msg, sig)) return false;
        const bit = n % (msg.length * 8);
        const m2 = Buffer.from(msg);
        m2[Math.floor(bit / 8)]! ^= 1 << (bit % 8);
        const s2 = Buffer.from(sig);
        s2[n % 64]! ^= 0x80;
        return !ed.verify(m2, sig) && !ed.verify(msg, s2);
      }),
      { numRuns: 200 },
    );
  });
});

/** Re-encodes the DER with an extra 0x00 in front of r (non-minimal INTEGER). */
function padFirstInteger(der: Buffer): Buffer {
  const rLen = der[3]!;
  const r = der.subarray(4, 4 + rLen);
  const rest = der.subarray(4 + rLen);
  const body = Buffer.concat([Buffer.from([0x02, rLen + 1, 0x00]), r, rest]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
