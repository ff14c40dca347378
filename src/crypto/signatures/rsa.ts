import { generateKeyPair, generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { KeyError, ValidationError } from '../../errors.js';
import type { RsaPadding } from './algorithms.js';
import { KeySigner } from './base.js';
import {
  asJwk,
  asKeyObject,
  asPem,
  describeKey,
  type KeyInput,
  type ParsedKey,
  type PemOptions,
  parseKeyInput,
} from './keys.js';
import type { SignatureAlgorithm } from './types.js';

export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;
export type RsaKeySize = (typeof RSA_KEY_SIZES)[number];

export interface RSASignerOptions {
  /** Modulus size for a generated key (default 2048). With `key`, the key must have this size. */
  keySize?: RsaKeySize;
  /** `'pss'` (default: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32) or `'pkcs1'` (PKCS#1 v1.5, SHA-256). */
  padding?: RsaPadding;
  /** Load this key instead of generating one (PEM, JWK or KeyObject; public keys verify only). */
  key?: KeyInput;
  passphrase?: string;
}

export type RSALoadOptions = Omit<RSASignerOptions, 'key' | 'keySize'> & PemOptions;

/** RSA signatures. Keys below 2048 bits are refused (KeyError). */
export class RSASigner extends KeySigner {
  readonly padding: RsaPadding;
  readonly keySize: number;

  constructor(options: RSASignerOptions = {}) {
    const padding = checkPadding(options.padding);
    const wanted = options.keySize;
    if (wanted !== undefined && !(RSA_KEY_SIZES as readonly number[]).includes(wanted)) {
      throw new ValidationError(`RSA keySize must be one of ${RSA_KEY_SIZES.join(', ')}`);
    }
    const keys =
      options.key === undefined
        ? generate(wanted ?? 2048)
        : parseKeyInput(options.key, { passphrase: options.passphrase });
    const bits = checkRsa(keys);
    if (wanted !== undefined && bits !== wanted) {
      throw new KeyError(`expected a ${wanted}-bit RSA key, got ${bits} bits`);
    }
    super(algorithmFor(padding), keys);
    this.padding = padding;
    this.keySize = bits;
  }

  /** Generates the key pair off the main thread (4096-bit generation can take seconds). */
  static async generate(options: { keySize?: RsaKeySize; padding?: RsaPadding } = {}): Promise<RSASigner> {
    const keySize = options.keySize ?? 2048;
    if (!(RSA_KEY_SIZES as readonly number[]).includes(keySize)) {
      throw new ValidationError(`RSA keySize must be one of ${RSA_KEY_SIZES.join(', ')}`);
    }
    const privateKey = await new Promise<KeyObject>((resolve, reject) =>
      generateKeyPair('rsa', { modulusLength: keySize }, (err, _pub, priv) =>
        err ? reject(err) : resolve(priv),
      ),
    );
    return new RSASigner({ key: privateKey, keySize, padding: options.padding });
  }

  /** PKCS#8 / PKCS#1 private PEM (encrypted with `passphrase`), or SPKI public PEM (verify only). */
  static fromPem(pem: string | Uint8Array, options: RSALoadOptions = {}): RSASigner {
    return new RSASigner({ padding: options.padding, key: asPem(pem), passphrase: options.passphrase });
  }

  static fromJwk(jwk: JsonWebKey, options: Omit<RSALoadOptions, 'passphrase'> = {}): RSASigner {
    return new RSASigner({ padding: options.padding, key: asJwk(jwk) });
  }

  static fromKeyObject(key: KeyObject, options: Omit<RSALoadOptions, 'passphrase'> = {}): RSASigner {
    return new RSASigner({ padding: options.padding, key: asKeyObject(key) });
  }
}

function generate(modulusLength: number): ParsedKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength });
  return { privateKey, publicKey };
}

function checkPadding(padding: unknown): RsaPadding {
  if (padding === undefined) return 'pss';
  if (padding === 'pss' || padding === 'pkcs1') return padding;
  throw new ValidationError(`RSA padding must be 'pss' or 'pkcs1'`);
}

function algorithmFor(padding: RsaPadding): SignatureAlgorithm {
  return padding === 'pss' ? 'rsa-pss-sha256' : 'rsa-pkcs1v15-sha256';
}

function checkRsa(keys: ParsedKey): number {
  const info = describeKey(keys.publicKey);
  if (info.kind !== 'rsa') throw new KeyError(`RSASigner needs an RSA key, got ${info.kind}`);
  return keys.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
}
