/**
 * Per-entry digital signatures (`signledger/crypto/signatures`).
 *
 * An entry signature is made over the UTF-8 bytes of the entry's lowercase hex `hash`. Key ids
 * are the lowercase hex of the first 16 bytes of SHA-256 over the public key's DER
 * SubjectPublicKeyInfo (`keyIdOf`). Everything runs on node:crypto; async signing and
 * verification use the libuv threadpool.
 */
export type { AlgorithmSpec, EcdsaCurve, KeyKind, RsaPadding } from './algorithms.js';
export { ALGORITHMS, CURVES, PSS_SALT_LENGTH } from './algorithms.js';
export type { ExportPrivateKeyOptions } from './base.js';
export { KeySigner } from './base.js';
export type { ECDSALoadOptions, ECDSASignerOptions } from './ecdsa.js';
export { ECDSASigner } from './ecdsa.js';
export type { Ed25519SignerOptions } from './ed25519.js';
export { Ed25519Signer } from './ed25519.js';
export type {
  KeyCheckContext,
  KeyCheckFailureKind,
  KeyCheckResult,
  KeyPoint,
  KeyRingAddOptions,
  KeyRingEntry,
  KeyRingJSON,
} from './keyring.js';
export { KeyRing } from './keyring.js';
export type { KeyInfo, KeyInput, ParsedKey, PemOptions } from './keys.js';
export {
  describeKey,
  keyFromJwk,
  keyFromKeyObject,
  keyFromPem,
  keyIdOf,
  MAX_RSA_BITS,
  MIN_RSA_BITS,
  parseKeyInput,
} from './keys.js';
export type { ThresholdKeys, ThresholdResult } from './multi.js';
export { MultiSigner, verifyThreshold, verifyThresholdAsync } from './multi.js';
export type { RemoteSignContext, RemoteSignerOptions, RemoteSignFunction } from './remote.js';
export { RemoteSigner } from './remote.js';
export { isSigner, resolveSigner } from './resolve.js';
export type { RSALoadOptions, RSASignerOptions, RsaKeySize } from './rsa.js';
export { RSA_KEY_SIZES, RSASigner } from './rsa.js';
export type {
  LocalSigner,
  SignableMessage,
  SignatureAlgorithm,
  SignatureInput,
  SignatureRecord,
  Signer,
  SignerBound,
} from './types.js';
export { isSignatureAlgorithm, SIGNATURE_ALGORITHMS, SIGNER } from './types.js';
export { verifySignature, verifySignatureAsync } from './verify.js';
