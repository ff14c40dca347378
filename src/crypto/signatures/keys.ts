import { createHash, createPrivateKey, createPublicKey, type JsonWebKey, KeyObject } from 'node:crypto';
import { KeyError, ValidationError } from '../../errors.js';
import {
  type CryptoKeyOptions,
  type CurveSpec,
  cryptoKeyOptions,
  curveFromOpenssl,
  type KeyKind,
} from './algorithms.js';
import type { SignatureAlgorithm } from './types.js';

/** Smallest RSA modulus we sign or verify with (NIST SP 800-57: 1024-bit RSA is broken-grade). */
export const MIN_RSA_BITS = 2048;
/** Largest we accept: bounds the CPU an attacker-supplied key can make us burn. */
export const MAX_RSA_BITS = 16384;

/** Facts about a public key, computed once per KeyObject (see `describeKey`). */
export interface KeyInfo {
  /** Lowercase hex of the first 16 bytes of SHA-256(SPKI DER). */
  readonly keyId: string;
  /** Lowercase hex of the full SHA-256(SPKI DER): identifies the key when counting distinct signers. */
  readonly fingerprint: string;
  readonly kind: KeyKind;
  /** EC keys only. */
  readonly curve: CurveSpec | undefined;
  /** RSA keys only: signature length in bytes. */
  readonly modulusBytes: number | undefined;
  /** Algorithms this key can verify: one for EC and Ed25519 keys, both paddings for RSA. */
  readonly algorithms: readonly SignatureAlgorithm[];
  /** The public key (derived when a private KeyObject was described). */
  readonly publicKey: KeyObject;
}

interface CachedInfo extends KeyInfo {
  /** Verify options per algorithm, built on first use. */
  readonly verifyOptions: Map<SignatureAlgorithm, CryptoKeyOptions>;
}

const infoCache = new WeakMap<KeyObject, CachedInfo>();

/**
 * Validates a key for signing use and returns its id, fingerprint and compatible algorithms.
 * Cached per KeyObject, so verifying many signatures with one key exports its SPKI once.
 * Throws KeyError for unsupported types (Ed448, DSA, RSA-PSS-restricted keys), unsupported
 * curves and RSA keys below 2048 bits or with a bad public exponent.
 */
export function describeKey(key: KeyObject): KeyInfo {
  return cachedInfo(key);
}

function cachedInfo(key: KeyObject): CachedInfo {
  const hit = infoCache.get(key);
  if (hit !== undefined) return hit;
  if (!(key instanceof KeyObject)) throw new ValidationError('expected a node:crypto KeyObject');
  if (key.type === 'secret') throw new KeyError('a secret (symmetric) key cannot sign or verify signatures');
  let publicKey = key.type === 'public' ? key : createPublicKey(key);
  const type = publicKey.asymmetricKeyType;
  let kind: KeyKind;
  let curve: CurveSpec | undefined;
  let modulusBytes: number | undefined;
  let algorithms: readonly SignatureAlgorithm[];
  if (type === 'ed25519') {
    kind = 'ed25519';
    algorithms = ['ed25519'];
  } else if (type === 'ec') {
    kind = 'ec';
    const name = publicKey.asymmetricKeyDetails?.namedCurve;
    curve = curveFromOpenssl(name);
    if (curve === undefined) throw new KeyError(`unsupported EC curve ${JSON.stringify(name)}`);
    algorithms = [curve.algorithm];
    // OpenSSL re-exports a point in the form it was read (compressed, hybrid): the same key loaded
    // from two PEMs would get two key ids. A JWK round-trip gives the uncompressed form always.
    publicKey = createPublicKey({ key: publicKey.export({ format: 'jwk' }), format: 'jwk' });
  } else if (type === 'rsa') {
    kind = 'rsa';
    const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
    const e = publicKey.asymmetricKeyDetails?.publicExponent ?? 0n;
    if (bits < MIN_RSA_BITS)
      throw new KeyError(`RSA key of ${bits} bits is too weak: at least ${MIN_RSA_BITS}`);
    if (bits > MAX_RSA_BITS) throw new KeyError(`RSA key of ${bits} bits is larger than ${MAX_RSA_BITS}`);
    if (e < 3n || e % 2n === 0n) throw new KeyError('RSA public exponent must be odd and at least 3');
    modulusBytes = Math.ceil(bits / 8);
    algorithms = ['rsa-pss-sha256', 'rsa-pkcs1v15-sha256'];
  } else if (type === 'rsa-pss') {
    throw new KeyError('RSASSA-PSS-restricted keys (id-RSASSA-PSS) are not supported: use a plain RSA key');
  } else {
    throw new KeyError(`unsupported key type ${JSON.stringify(type)}: use Ed25519, ECDSA or RSA`);
  }
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const fingerprint = createHash('sha256').update(spki).digest('hex');
  const info: CachedInfo = Object.freeze({
    keyId: fingerprint.slice(0, 32),
    fingerprint,
    kind,
    curve,
    modulusBytes,
    algorithms: Object.freeze(algorithms),
    publicKey,
    verifyOptions: new Map(),
  });
  infoCache.set(key, info);
  if (publicKey !== key) infoCache.set(publicKey, info);
  return info;
}

/** The key id of a public (or private) key: lowercase hex, first 16 bytes of SHA-256(SPKI DER). */
export function keyIdOf(key: KeyObject): string {
  return cachedInfo(key).keyId;
}

/** Reused crypto.verify key argument for this key under `algorithm` (which the caller checked). */
export function verifyKeyOptions(info: KeyInfo, algorithm: SignatureAlgorithm): CryptoKeyOptions {
  const cached = info as CachedInfo;
  let opts = cached.verifyOptions.get(algorithm);
  if (opts === undefined) {
    opts = cryptoKeyOptions(algorithm, info.publicKey);
    cached.verifyOptions.set(algorithm, opts);
  }
  return opts;
}

export function keySupports(info: KeyInfo, algorithm: SignatureAlgorithm): boolean {
  return info.algorithms.includes(algorithm);
}

// ---- loading -------------------------------------------------------------------------------

/** A loaded key: `privateKey` is absent for verify-only keys. */
export interface ParsedKey {
  readonly privateKey: KeyObject | undefined;
  readonly publicKey: KeyObject;
}

/** PEM text (string or UTF-8 bytes), a JWK, or a KeyObject. */
export type KeyInput = string | Uint8Array | JsonWebKey | KeyObject;

export interface PemOptions {
  /** For encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`) or legacy encrypted PEM. */
  passphrase?: string;
}

const PEM_LABELS = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/**
 * Parses a PEM key. Private labels (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `RSA PRIVATE KEY`,
 * `EC PRIVATE KEY`) give a signing key; `PUBLIC KEY`, `RSA PUBLIC KEY` and `CERTIFICATE` give a
 * verify-only key. Every failure is a KeyError with the OpenSSL error as its cause.
 */
export function keyFromPem(pem: string | Uint8Array, options: PemOptions = {}): ParsedKey {
  const text =
    typeof pem === 'string' ? pem : pem instanceof Uint8Array ? Buffer.from(pem).toString('utf8') : null;
  if (text === null) throw new ValidationError('PEM key must be a string or UTF-8 bytes');
  const passphrase = options.passphrase;
  if (passphrase !== undefined && typeof passphrase !== 'string') {
    throw new ValidationError('passphrase must be a string');
  }
  const labels = Array.from(text.matchAll(PEM_LABELS), (m) => m[1]!);
  if (labels.length === 0) throw new KeyError('not a PEM key: no -----BEGIN ...----- line');
  // Files often hold more than the key (openssl ecparam's EC PARAMETERS block, a certificate
  // chain, the public key too): a private key anywhere in them is the one meant.
  const privateLabels = labels.filter((l) => l.includes('PRIVATE KEY'));
  if (privateLabels.length > 1) throw new KeyError('the PEM text holds more than one private key');
  const label = privateLabels[0] ?? labels[0]!;
  if (label.includes('PRIVATE KEY')) {
    const encrypted = label === 'ENCRYPTED PRIVATE KEY' || text.includes('Proc-Type: 4,ENCRYPTED');
    if (encrypted && passphrase === undefined) {
      throw new KeyError('the private key is encrypted: pass { passphrase }');
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(
        passphrase === undefined ? { key: text, format: 'pem' } : { key: text, format: 'pem', passphrase },
      );
    } catch (cause) {
      throw new KeyError(
        encrypted
          ? 'cannot decrypt the private key (wrong passphrase or corrupt PEM)'
          : 'corrupt private key PEM',
        { cause },
      );
    }
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
  try {
    return { privateKey: undefined, publicKey: createPublicKey({ key: text, format: 'pem' }) };
  } catch (cause) {
    throw new KeyError(`corrupt ${label} PEM`, { cause });
  }
}

/** Parses a JWK: with `d` it is a signing key, without a verify-only key. */
export function keyFromJwk(jwk: JsonWebKey): ParsedKey {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk))
    throw new ValidationError('JWK must be an object');
  try {
    if (typeof jwk.d === 'string') {
      const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
      return { privateKey, publicKey: createPublicKey(privateKey) };
    }
    return { privateKey: undefined, publicKey: createPublicKey({ key: jwk, format: 'jwk' }) };
  } catch (cause) {
    throw new KeyError('invalid JWK', { cause });
  }
}

/** Wraps a KeyObject: a private key signs, a public key only verifies. */
export function keyFromKeyObject(key: KeyObject): ParsedKey {
  if (!(key instanceof KeyObject)) throw new ValidationError('expected a node:crypto KeyObject');
  if (key.type === 'secret') throw new KeyError('a secret (symmetric) key cannot sign or verify signatures');
  if (key.type === 'private') return { privateKey: key, publicKey: createPublicKey(key) };
  return { privateKey: undefined, publicKey: key };
}

export function parseKeyInput(input: KeyInput, options: PemOptions = {}): ParsedKey {
  if (input instanceof KeyObject) return keyFromKeyObject(input);
  if (typeof input === 'string' || input instanceof Uint8Array) return keyFromPem(input, options);
  return keyFromJwk(input);
}

// The static fromPem/fromJwk/fromKeyObject factories check the input's form, so a JWK handed
// to fromPem is refused instead of silently accepted.
export function asPem(pem: string | Uint8Array): string | Uint8Array {
  if (typeof pem !== 'string' && !(pem instanceof Uint8Array)) throw new ValidationError('expected PEM text');
  return pem;
}

export function asJwk(jwk: JsonWebKey): JsonWebKey {
  if (
    jwk === null ||
    typeof jwk !== 'object' ||
    Array.isArray(jwk) ||
    jwk instanceof KeyObject ||
    jwk instanceof Uint8Array
  ) {
    throw new ValidationError('expected a JWK object');
  }
  return jwk;
}

export function asKeyObject(key: KeyObject): KeyObject {
  if (!(key instanceof KeyObject)) throw new ValidationError('expected a node:crypto KeyObject');
  return key;
}
