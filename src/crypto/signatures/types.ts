import type { KeyObject } from 'node:crypto';

/**
 * Signature algorithms an entry signature may carry. The name fixes everything a verifier
 * needs besides the key: key type, curve, hash and padding.
 * - `ed25519`: RFC 8032 pure Ed25519 over the message bytes (no pre-hash).
 * - `ecdsa-*`: ECDSA, signature encoded as ASN.1 DER `SEQUENCE { r INTEGER, s INTEGER }`
 *   (what `openssl dgst -verify` and most KMSs produce).
 * - `rsa-pss-sha256`: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32.
 * - `rsa-pkcs1v15-sha256`: RSASSA-PKCS1-v1_5 with SHA-256.
 */
export type SignatureAlgorithm =
  | 'ed25519'
  | 'ecdsa-p256-sha256'
  | 'ecdsa-p384-sha384'
  | 'ecdsa-p521-sha512'
  | 'ecdsa-secp256k1-sha256'
  | 'rsa-pss-sha256'
  | 'rsa-pkcs1v15-sha256';

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = Object.freeze([
  'ed25519',
  'ecdsa-p256-sha256',
  'ecdsa-p384-sha384',
  'ecdsa-p521-sha512',
  'ecdsa-secp256k1-sha256',
  'rsa-pss-sha256',
  'rsa-pkcs1v15-sha256',
]);

export function isSignatureAlgorithm(x: unknown): x is SignatureAlgorithm {
  return typeof x === 'string' && (SIGNATURE_ALGORITHMS as readonly string[]).includes(x);
}

/** One signature over an entry (over the UTF-8 bytes of the entry's lowercase hex `hash`). */
export interface SignatureRecord {
  algorithm: SignatureAlgorithm;
  /**
   * Lowercase hex of the first 16 bytes of SHA-256 over the DER SubjectPublicKeyInfo of the
   * signing public key (32 hex characters). A lookup hint only: verification always checks the
   * signature against the key itself.
   */
  keyId: string;
  /** Signature bytes, standard base64 with padding. */
  value: string;
}

/** Bytes to sign or verify; strings are taken as UTF-8. */
export type SignableMessage = string | Uint8Array;

/**
 * A signature to verify: base64 text, raw bytes, or a whole record. `null`/`undefined` (an
 * unsigned entry's `signature`) never verifies.
 */
export type SignatureInput = string | Uint8Array | SignatureRecord | null | undefined;

/**
 * Marks every signing function a signer hands out, pointing back at the signer, so code that
 * receives `signer: rsa.sign` can still learn the algorithm and key (see `resolveSigner`).
 * `Symbol.for` so the ESM and CJS builds of this package agree on it.
 */
export const SIGNER: unique symbol = Symbol.for('signledger.signer');

/** A function that carries its signer. */
export type SignerBound<F> = F & { readonly [SIGNER]: Signer };

/**
 * Something that signs with one key. `sign`, `signRecord` and `verify` are own arrow-function
 * properties: they work unbound (`const f = signer.sign; await f(hash)`).
 */
export interface Signer {
  readonly algorithm: SignatureAlgorithm;
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** False for verify-only signers (loaded from a public key). */
  readonly canSign: boolean;
  /** Signs and resolves to the base64 signature. Runs on the libuv threadpool for local keys. */
  readonly sign: SignerBound<(message: SignableMessage) => Promise<string>>;
  readonly signRecord: SignerBound<(message: SignableMessage) => Promise<SignatureRecord>>;
  /** True iff the signature is valid for this key; false for any malformed signature. Throws only on misuse. */
  readonly verify: (message: SignableMessage, signature: SignatureInput) => boolean;
  /** `verify` on the threadpool. */
  readonly verifyAsync: (message: SignableMessage, signature: SignatureInput) => Promise<boolean>;
}

/** A signer holding its key in-process: can also sign synchronously. */
export interface LocalSigner extends Signer {
  readonly signSync: SignerBound<(message: SignableMessage) => string>;
  readonly signRecordSync: SignerBound<(message: SignableMessage) => SignatureRecord>;
}
