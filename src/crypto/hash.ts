import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.js';

/** Hash algorithms an entry chain may use. The Merkle tree is always SHA-256 (RFC 9162 / C2SP). */
export const HASH_ALGORITHMS = ['sha256', 'sha512', 'sha3-256', 'sha3-512'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

export const HASH_LENGTHS: Readonly<Record<HashAlgorithm, number>> = Object.freeze({
  sha256: 32,
  sha512: 64,
  'sha3-256': 32,
  'sha3-512': 64,
});

export function isHashAlgorithm(x: unknown): x is HashAlgorithm {
  return typeof x === 'string' && (HASH_ALGORITHMS as readonly string[]).includes(x);
}

export function assertHashAlgorithm(x: unknown): HashAlgorithm {
  if (!isHashAlgorithm(x)) {
    throw new ValidationError(
      `unknown hash algorithm ${JSON.stringify(x)}; use one of ${HASH_ALGORITHMS.join(', ')}`,
    );
  }
  return x;
}

export function digest(algorithm: HashAlgorithm, ...parts: Uint8Array[]): Buffer {
  const h = createHash(algorithm);
  for (const p of parts) h.update(p);
  return h.digest();
}

export function sha256(...parts: Uint8Array[]): Buffer {
  return digest('sha256', ...parts);
}
