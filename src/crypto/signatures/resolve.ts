import { KeyObject } from 'node:crypto';
import { KeyError, ValidationError } from '../../errors.js';
import { describeKey } from './keys.js';
import { isSignatureAlgorithm, SIGNER, type Signer } from './types.js';

/** Structural check: has everything the Signer interface promises. */
export function isSigner(x: unknown): x is Signer {
  if (x === null || (typeof x !== 'object' && typeof x !== 'function')) return false;
  const s = x as Partial<Signer>;
  return (
    isSignatureAlgorithm(s.algorithm) &&
    typeof s.keyId === 'string' &&
    s.publicKey instanceof KeyObject &&
    typeof s.sign === 'function' &&
    typeof s.signRecord === 'function' &&
    typeof s.verify === 'function'
  );
}

/**
 * Turns what a caller configured as "the signer" into a Signer: the signer itself, or one of
 * its bound functions (`signer: rsa.sign`, which carries the `SIGNER` symbol). A plain
 * function is refused: we could not record its algorithm or key id, so nobody could verify
 * what it signs. Also checks that the signer's keyId and algorithm agree with its public key,
 * so a hand-written Signer cannot produce records that name the wrong key.
 */
export function resolveSigner(x: Signer | ((...args: never[]) => unknown)): Signer {
  let signer: unknown = x;
  if (typeof x === 'function' && !isSigner(x)) {
    signer = (x as { [SIGNER]?: unknown })[SIGNER];
    if (signer === undefined) {
      throw new ValidationError(
        'cannot use a plain function as a signer: pass a Signer (e.g. new Ed25519Signer()) or its own sign method',
      );
    }
  }
  if (!isSigner(signer))
    throw new ValidationError('not a Signer: needs algorithm, keyId, publicKey, sign and verify');
  const info = describeKey(signer.publicKey);
  if (info.keyId !== signer.keyId) {
    throw new KeyError(`signer keyId ${signer.keyId} does not match its public key (${info.keyId})`);
  }
  if (!info.algorithms.includes(signer.algorithm)) {
    throw new KeyError(`signer algorithm ${signer.algorithm} does not fit its ${info.kind} key`);
  }
  return signer;
}
