import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { KeyError, ValidationError } from '../../errors.js';
import { CURVES, type EcdsaCurve, isEcdsaCurve } from './algorithms.js';
import { KeySigner } from './base.js';
import {
  asJwk,
  asKeyObject,
  asPem,
  describeKey,
  type KeyInput,
  type ParsedKey,
  parseKeyInput,
} from './keys.js';

export interface ECDSASignerOptions {
  /**
   * 'P-256' (default), 'P-384', 'P-521' or 'secp256k1'; the hash follows the curve (SHA-256,
   * SHA-384, SHA-512, SHA-256). With `key`, the key must be on this curve; without `curve`
   * the curve is taken from the key.
   */
  curve?: EcdsaCurve;
  key?: KeyInput;
  passphrase?: string;
}

export interface ECDSALoadOptions {
  curve?: EcdsaCurve;
  passphrase?: string;
}

/**
 * ECDSA signatures, encoded as ASN.1 DER (`SEQUENCE { r, s }`): the encoding `openssl dgst
 * -verify`, X.509, and the common KMSs use; not the fixed-size IEEE P1363 r‖s of WebCrypto/JOSE.
 * Verification requires strict DER. ECDSA signatures are malleable ((r, s) and (r, n−s) both
 * verify): never use a signature's bytes as an identifier.
 */
export class ECDSASigner extends KeySigner {
  readonly curve: EcdsaCurve;

  constructor(options: ECDSASignerOptions = {}) {
    const wanted = options.curve;
    if (wanted !== undefined && !isEcdsaCurve(wanted)) {
      throw new ValidationError(`ECDSA curve must be one of ${Object.keys(CURVES).join(', ')}`);
    }
    const keys =
      options.key === undefined
        ? generate(wanted ?? 'P-256')
        : parseKeyInput(options.key, { passphrase: options.passphrase });
    const info = describeKey(keys.publicKey);
    if (info.kind !== 'ec') throw new KeyError(`ECDSASigner needs an EC key, got ${info.kind}`);
    const curve = info.curve!;
    if (wanted !== undefined && curve.curve !== wanted) {
      throw new KeyError(`expected a ${wanted} key, got a ${curve.curve} key`);
    }
    super(curve.algorithm, keys);
    this.curve = curve.curve;
  }

  /** PKCS#8 / SEC1 private PEM (encrypted with `passphrase`), or SPKI public PEM (verify only). */
  static fromPem(pem: string | Uint8Array, options: ECDSALoadOptions = {}): ECDSASigner {
    return new ECDSASigner({ curve: options.curve, key: asPem(pem), passphrase: options.passphrase });
  }

  static fromJwk(jwk: JsonWebKey, options: Omit<ECDSALoadOptions, 'passphrase'> = {}): ECDSASigner {
    return new ECDSASigner({ curve: options.curve, key: asJwk(jwk) });
  }

  static fromKeyObject(key: KeyObject, options: Omit<ECDSALoadOptions, 'passphrase'> = {}): ECDSASigner {
    return new ECDSASigner({ curve: options.curve, key: asKeyObject(key) });
  }
}

function generate(curve: EcdsaCurve): ParsedKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: CURVES[curve].opensslName });
  return { privateKey, publicKey };
}
