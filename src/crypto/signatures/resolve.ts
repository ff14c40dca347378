import { KeyObject } from 'node:crypto';
import { KeyError, SignatureError, ValidationError } from '../../errors.js';
import { KeySigner } from './base.js';
import { bindSigner } from './bind.js';
import { describeKey } from './keys.js';
import { RemoteSigner } from './remote.js';
import {
  isSignatureAlgorithm,
  SIGNER,
  type SignableMessage,
  type SignatureRecord,
  type Signer,
} from './types.js';
import { keyVerifiers } from './verify.js';

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
 * what it signs. Also checks that the signer's keyId and algorithm agree with its public key.
 * A hand-written Signer (not one of this package's classes) is wrapped so that every record it
 * makes is checked before anything is stored (see checkedSigner).
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
  // This package's signers make their records themselves (RemoteSigner verifies what its KMS returns).
  if (signer instanceof KeySigner || signer instanceof RemoteSigner) return signer;
  return checkedSigner(signer);
}

const checked = new WeakMap<Signer, Signer>();

/**
 * A hand-written Signer's records are stored for good once committed, so each is checked first:
 * exactly `{ algorithm, keyId, value }` strings, naming this signer's algorithm and key, with a
 * signature that verifies under its public key (on the threadpool). Anything else fails that
 * entry with SignatureError, and its group commits without it. A signer that throws synchronously
 * fails the same way instead of breaking the group.
 */
function checkedSigner(signer: Signer): Signer {
  const hit = checked.get(signer);
  if (hit) return hit;
  const { algorithm, keyId, publicKey } = signer;
  const verifiers = keyVerifiers(describeKey(publicKey), algorithm);
  const signRecord = async (message: SignableMessage): Promise<SignatureRecord> => {
    let rec: unknown;
    try {
      rec = await signer.signRecord(message);
    } catch (cause) {
      throw cause instanceof SignatureError
        ? cause
        : new SignatureError(`signer ${keyId} failed: ${(cause as Error)?.message ?? String(cause)}`, {
            cause,
          });
    }
    const r = rec as Partial<Record<keyof SignatureRecord, unknown>> | null;
    if (
      r === null ||
      typeof r !== 'object' ||
      Object.keys(r).length !== 3 ||
      typeof r.value !== 'string' ||
      r.algorithm !== algorithm ||
      r.keyId !== keyId
    ) {
      throw new SignatureError(
        `signer ${keyId} returned a malformed record: expected { algorithm: '${algorithm}', keyId: '${keyId}', value: <base64> }`,
      );
    }
    const value = r.value;
    if (!(await verifiers.verifyAsync(message, value))) {
      throw new SignatureError(
        `signer ${keyId} returned a signature that does not verify with its public key`,
      );
    }
    return { algorithm, keyId, value };
  };
  const wrapped: Signer = {
    algorithm,
    keyId,
    publicKey,
    canSign: signer.canSign,
    sign: undefined as never,
    signRecord: undefined as never,
    verify: verifiers.verify,
    verifyAsync: verifiers.verifyAsync,
  };
  Object.assign(wrapped, {
    signRecord: bindSigner(signRecord, wrapped),
    sign: bindSigner(async (message: SignableMessage) => (await signRecord(message)).value, wrapped),
  });
  Object.freeze(wrapped);
  checked.set(signer, wrapped);
  return wrapped;
}
