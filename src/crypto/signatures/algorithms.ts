import { constants, type KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from './types.js';

export type KeyKind = 'ed25519' | 'rsa' | 'ec';
export type EcdsaCurve = 'P-256' | 'P-384' | 'P-521' | 'secp256k1';
export type RsaPadding = 'pss' | 'pkcs1';

export interface CurveSpec {
  readonly curve: EcdsaCurve;
  /** OpenSSL's name, as `asymmetricKeyDetails.namedCurve` reports it. */
  readonly opensslName: string;
  readonly algorithm: SignatureAlgorithm;
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** Byte length of the group order: bounds each DER INTEGER of a signature. */
  readonly orderBytes: number;
}

export const CURVES: Readonly<Record<EcdsaCurve, CurveSpec>> = Object.freeze({
  'P-256': {
    curve: 'P-256',
    opensslName: 'prime256v1',
    algorithm: 'ecdsa-p256-sha256',
    hash: 'sha256',
    orderBytes: 32,
  },
  'P-384': {
    curve: 'P-384',
    opensslName: 'secp384r1',
    algorithm: 'ecdsa-p384-sha384',
    hash: 'sha384',
    orderBytes: 48,
  },
  'P-521': {
    curve: 'P-521',
    opensslName: 'secp521r1',
    algorithm: 'ecdsa-p521-sha512',
    hash: 'sha512',
    orderBytes: 66,
  },
  secp256k1: {
    curve: 'secp256k1',
    opensslName: 'secp256k1',
    algorithm: 'ecdsa-secp256k1-sha256',
    hash: 'sha256',
    orderBytes: 32,
  },
});

export function isEcdsaCurve(x: unknown): x is EcdsaCurve {
  return typeof x === 'string' && Object.hasOwn(CURVES, x);
}

export function curveFromOpenssl(name: string | undefined): CurveSpec | undefined {
  for (const spec of Object.values(CURVES)) if (spec.opensslName === name) return spec;
  return undefined;
}

/** What a signature algorithm asks of node:crypto. */
export interface AlgorithmSpec {
  readonly kind: KeyKind;
  /** Digest passed to crypto.sign/verify; null for Ed25519 (it hashes internally). */
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  readonly curve: EcdsaCurve | undefined;
  readonly padding: RsaPadding | undefined;
}

export const ALGORITHMS: Readonly<Record<SignatureAlgorithm, AlgorithmSpec>> = Object.freeze({
  ed25519: { kind: 'ed25519', hash: null, curve: undefined, padding: undefined },
  'ecdsa-p256-sha256': { kind: 'ec', hash: 'sha256', curve: 'P-256', padding: undefined },
  'ecdsa-p384-sha384': { kind: 'ec', hash: 'sha384', curve: 'P-384', padding: undefined },
  'ecdsa-p521-sha512': { kind: 'ec', hash: 'sha512', curve: 'P-521', padding: undefined },
  'ecdsa-secp256k1-sha256': { kind: 'ec', hash: 'sha256', curve: 'secp256k1', padding: undefined },
  'rsa-pss-sha256': { kind: 'rsa', hash: 'sha256', curve: undefined, padding: 'pss' },
  'rsa-pkcs1v15-sha256': { kind: 'rsa', hash: 'sha256', curve: undefined, padding: 'pkcs1' },
});

/** PSS salt length: the digest length (SHA-256 → 32), as `openssl -sigopt rsa_pss_saltlen:32`. */
export const PSS_SALT_LENGTH = 32;

export type CryptoKeyOptions =
  | KeyObject
  | { key: KeyObject; padding: number; saltLength?: number }
  | { key: KeyObject; dsaEncoding: 'der' };

/**
 * The key argument for crypto.sign/verify under `algorithm`. Built once per key and reused:
 * the options object is the only per-call allocation we could otherwise avoid.
 */
export function cryptoKeyOptions(algorithm: SignatureAlgorithm, key: KeyObject): CryptoKeyOptions {
  const spec = ALGORITHMS[algorithm];
  if (spec.kind === 'ec') return { key, dsaEncoding: 'der' };
  if (spec.padding === 'pss') {
    return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_LENGTH };
  }
  if (spec.padding === 'pkcs1') return { key, padding: constants.RSA_PKCS1_PADDING };
  return key;
}
