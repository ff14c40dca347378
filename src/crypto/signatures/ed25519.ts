import { generateKeyPairSync, type JsonWebKey, type KeyObject } from 'node:crypto';
import { KeyError } from '../../errors.js';
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

export interface Ed25519SignerOptions {
  /** Load this key instead of generating one (PEM, JWK or KeyObject; public keys verify only). */
  key?: KeyInput;
  passphrase?: string;
}

/** Ed25519 (RFC 8032, pure): deterministic 64-byte signatures over the message bytes. */
export class Ed25519Signer extends KeySigner {
  constructor(options: Ed25519SignerOptions = {}) {
    const keys: ParsedKey =
      options.key === undefined ? generate() : parseKeyInput(options.key, { passphrase: options.passphrase });
    const info = describeKey(keys.publicKey);
    if (info.kind !== 'ed25519') throw new KeyError(`Ed25519Signer needs an Ed25519 key, got ${info.kind}`);
    super('ed25519', keys);
  }

  /** PKCS#8 private PEM (encrypted with `passphrase`), or SPKI public PEM (verify only). */
  static fromPem(pem: string | Uint8Array, options: { passphrase?: string } = {}): Ed25519Signer {
    return new Ed25519Signer({ key: asPem(pem), passphrase: options.passphrase });
  }

  static fromJwk(jwk: JsonWebKey): Ed25519Signer {
    return new Ed25519Signer({ key: asJwk(jwk) });
  }

  static fromKeyObject(key: KeyObject): Ed25519Signer {
    return new Ed25519Signer({ key: asKeyObject(key) });
  }
}

function generate(): ParsedKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey };
}
