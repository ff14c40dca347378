import { createHash } from 'node:crypto';
import { ECDSASigner, Ed25519Signer, RSASigner } from '../../src/crypto/signatures/index.js';

/** A realistic message: the lowercase hex of an entry hash. */
export const ENTRY_HASH = createHash('sha256').update('entry #1').digest('hex');

// RSA keys are slow to generate: build each signer once per test file.
let rsaPss: RSASigner | undefined;
let rsaPkcs1: RSASigner | undefined;
export const fixtures = {
  rsaPss(): RSASigner {
    rsaPss ??= new RSASigner({ keySize: 2048 });
    return rsaPss;
  },
  rsaPkcs1(): RSASigner {
    rsaPkcs1 ??= new RSASigner({ keySize: 2048, padding: 'pkcs1' });
    return rsaPkcs1;
  },
};

/** One fresh signer per algorithm (RSA shared). */
export function allSigners(): Array<{ name: string; signer: RSASigner | ECDSASigner | Ed25519Signer }> {
  return [
    { name: 'ed25519', signer: new Ed25519Signer() },
    { name: 'ecdsa-p256-sha256', signer: new ECDSASigner() },
    { name: 'ecdsa-p384-sha384', signer: new ECDSASigner({ curve: 'P-384' }) },
    { name: 'ecdsa-p521-sha512', signer: new ECDSASigner({ curve: 'P-521' }) },
    { name: 'ecdsa-secp256k1-sha256', signer: new ECDSASigner({ curve: 'secp256k1' }) },
    { name: 'rsa-pss-sha256', signer: fixtures.rsaPss() },
    { name: 'rsa-pkcs1v15-sha256', signer: fixtures.rsaPkcs1() },
  ];
}
