import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { fromBase64 } from '../../encoding/bytes.js';
import { ValidationError } from '../../errors.js';
import { ALGORITHMS } from './algorithms.js';
import { isStrictEcdsaDer } from './der.js';
import { describeKey, type KeyInfo, keySupports, verifyKeyOptions } from './keys.js';
import {
  isSignatureAlgorithm,
  type SignableMessage,
  type SignatureAlgorithm,
  type SignatureInput,
  type SignatureRecord,
} from './types.js';

/** UTF-8 bytes of a string message; bytes pass through. Anything else is misuse. */
export function messageBytes(message: SignableMessage): Uint8Array {
  if (typeof message === 'string') return Buffer.from(message, 'utf8');
  if (message instanceof Uint8Array) return message;
  throw new ValidationError('message must be a string or a Uint8Array');
}

/** Decodes base64 strictly; malformed text is an invalid signature, not an error. */
function decodeValue(value: unknown): Uint8Array | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return fromBase64(value);
  } catch {
    return undefined;
  }
}

/** Cheap shape checks that spare the library obviously wrong input (and pin lengths exactly). */
function plausible(info: KeyInfo, sig: Uint8Array): boolean {
  if (info.kind === 'ed25519') return sig.length === 64;
  if (info.kind === 'rsa') return sig.length === info.modulusBytes;
  return isStrictEcdsaDer(sig, info.curve!.orderBytes);
}

/** A verification ready to run, or undefined when the answer is already "invalid". */
interface Prepared {
  hash: string | null;
  data: Uint8Array;
  key: ReturnType<typeof verifyKeyOptions>;
  sig: Uint8Array;
}

/**
 * Shared front half of every verify: validates the caller's arguments (throws on misuse),
 * then decides what can be decided without the library (returns undefined for "invalid").
 * `algorithm` and `keyId` come from a record (keyId undefined for a bare signature); a record
 * naming another key or an algorithm the key cannot use is invalid (fail closed, no guessing).
 */
export function prepareVerify(
  info: KeyInfo,
  algorithm: unknown,
  keyId: unknown,
  message: SignableMessage,
  signature: Uint8Array | string | undefined,
): Prepared | undefined {
  const data = messageBytes(message);
  if (!isSignatureAlgorithm(algorithm) || !keySupports(info, algorithm)) return undefined;
  if (keyId !== undefined && keyId !== info.keyId) return undefined;
  const sig = typeof signature === 'string' ? decodeValue(signature) : signature;
  if (sig === undefined || !plausible(info, sig)) return undefined;
  return { hash: ALGORITHMS[algorithm].hash, data, key: verifyKeyOptions(info, algorithm), sig };
}

/** Splits a SignatureInput into (algorithm, keyId, signature) with misuse checks. */
export function unpackSignature(
  signature: SignatureInput,
  defaultAlgorithm: string,
): { algorithm: unknown; keyId: unknown; value: Uint8Array | string | undefined } {
  if (typeof signature === 'string' || signature instanceof Uint8Array) {
    return { algorithm: defaultAlgorithm, keyId: undefined, value: signature };
  }
  // No signature (an unsigned entry's `signature: null`): not valid, and not misuse.
  if (signature === null || signature === undefined) {
    return { algorithm: defaultAlgorithm, keyId: undefined, value: undefined };
  }
  if (signature !== null && typeof signature === 'object') {
    const value = (signature as SignatureRecord).value;
    return {
      algorithm: (signature as SignatureRecord).algorithm,
      // keyId must be present and match; a record without one is malformed (never matches)
      keyId: typeof signature.keyId === 'string' ? signature.keyId : null,
      value: typeof value === 'string' ? value : undefined,
    };
  }
  throw new ValidationError('signature must be base64 text, bytes or a SignatureRecord');
}

export function runVerify(p: Prepared | undefined): boolean {
  if (p === undefined) return false;
  try {
    return cryptoVerify(p.hash, p.data, p.key, p.sig);
  } catch {
    // OpenSSL rejects some malformed signatures by raising instead of returning false
    return false;
  }
}

/** crypto.verify with a callback: runs on the libuv threadpool. */
export function runVerifyAsync(p: Prepared | undefined): Promise<boolean> {
  if (p === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      cryptoVerify(p.hash, p.data, p.key, p.sig, (err, ok) => resolve(err === null && ok === true));
    } catch {
      resolve(false);
    }
  });
}

function prepareRecord(record: SignatureRecord, message: SignableMessage, publicKey: KeyObject) {
  const info = describeKey(publicKey);
  if (record === null || typeof record !== 'object')
    throw new ValidationError('record must be a SignatureRecord');
  const { algorithm, keyId, value } = unpackSignature(record, '');
  return prepareVerify(info, algorithm, keyId, message, value ?? undefined);
}

/**
 * Verifies `record` over `message` with `publicKey`. False for any invalid or malformed
 * signature, for an algorithm the key cannot use, and for a record whose keyId is not this
 * key's. Throws only on misuse (not a KeyObject, weak/unsupported key, message not bytes/text).
 */
export function verifySignature(
  record: SignatureRecord,
  message: SignableMessage,
  publicKey: KeyObject,
): boolean {
  return runVerify(prepareRecord(record, message, publicKey));
}

/** `verifySignature` on the libuv threadpool; misuse rejects. */
export async function verifySignatureAsync(
  record: SignatureRecord,
  message: SignableMessage,
  publicKey: KeyObject,
): Promise<boolean> {
  return runVerifyAsync(prepareRecord(record, message, publicKey));
}

/**
 * The `verify`/`verifyAsync` pair a signer exposes for its own key. A record naming another
 * algorithm or key id is invalid; the message is still type-checked so misuse always throws.
 */
export function keyVerifiers(
  info: KeyInfo,
  algorithm: SignatureAlgorithm,
): {
  verify: (message: SignableMessage, signature: SignatureInput) => boolean;
  verifyAsync: (message: SignableMessage, signature: SignatureInput) => Promise<boolean>;
} {
  const prepare = (message: SignableMessage, signature: SignatureInput): Prepared | undefined => {
    const s = unpackSignature(signature, algorithm);
    if (s.algorithm !== algorithm) {
      messageBytes(message);
      return undefined;
    }
    return prepareVerify(info, algorithm, s.keyId, message, s.value);
  };
  return {
    verify: (message, signature) => runVerify(prepare(message, signature)),
    verifyAsync: async (message, signature) => runVerifyAsync(prepare(message, signature)),
  };
}
