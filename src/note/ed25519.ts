/**
 * Raw 32-byte Ed25519 keys <-> node:crypto KeyObjects. Node has no "raw" import for
 * Ed25519, so the raw bytes are wrapped in the fixed DER prefixes of RFC 8410.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { KeyError } from '../errors.js';

// SubjectPublicKeyInfo { AlgorithmIdentifier { id-Ed25519 }, BIT STRING (32 bytes) }
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
// PrivateKeyInfo { version 0, AlgorithmIdentifier { id-Ed25519 }, OCTET STRING { OCTET STRING (32-byte seed) } }
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export const ED25519_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== ED25519_KEY_LENGTH) throw new KeyError('an Ed25519 public key is 32 bytes');
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new KeyError('not a usable Ed25519 public key', { cause });
  }
}

export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  if (seed.byteLength !== ED25519_KEY_LENGTH) throw new KeyError('an Ed25519 seed is 32 bytes');
  try {
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  } catch (cause) {
    throw new KeyError('not a usable Ed25519 seed', { cause });
  }
}

/** The raw 32-byte public key of a private (or public) Ed25519 KeyObject. */
export function ed25519RawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === 'public' ? key : createPublicKey(key);
  const der = pub.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.byteLength - ED25519_KEY_LENGTH));
}

export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Buffer {
  return sign(null, message, privateKey);
}

/** False (never a throw) for any signature that does not verify, including wrong lengths. */
export function ed25519Verify(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.byteLength !== ED25519_SIGNATURE_LENGTH) return false;
  try {
    return verify(null, message, publicKey, signature);
  } catch {
    return false;
  }
}
