import { KeyObject } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import { type KeyCheckContext, type KeyCheckFailureKind, type KeyCheckResult, KeyRing } from './keyring.js';
import { keyIdOf } from './keys.js';
import { resolveSigner } from './resolve.js';
import type { SignableMessage, SignatureRecord, Signer } from './types.js';
import { messageBytes } from './verify.js';

/** Trusted keys for a threshold check: a KeyRing (windows apply) or a plain list (no windows). */
export type ThresholdKeys = KeyRing | readonly (KeyObject | Signer)[];

export interface ThresholdResult {
  /** True iff at least `required` distinct trusted keys produced a valid signature. */
  ok: boolean;
  /** Number of distinct public keys (by SPKI fingerprint) with a valid signature. */
  valid: number;
  required: number;
  /** Key ids that counted, in record order. */
  keyIds: string[];
  /** Indexes of valid records whose key had already been counted. */
  duplicates: number[];
  /** Records that did not verify, with the reason. */
  failures: Array<{ index: number; kind: KeyCheckFailureKind; message: string }>;
}

/**
 * k-of-n verification over `records`. Counts distinct public keys by their full SPKI
 * fingerprint, so two records from one key count once, and a record whose keyId names a
 * trusted key but whose signature was made by another key does not verify at all.
 * With a plain list, the first entry for a key decides its algorithms (a Signer allows only
 * its own algorithm; a bare KeyObject every algorithm its type allows).
 */
export function verifyThreshold(
  records: readonly SignatureRecord[],
  message: SignableMessage,
  keys: ThresholdKeys,
  k: number,
  context: KeyCheckContext = {},
): ThresholdResult {
  const { ring, data } = setup(records, message, keys, k);
  return tally(
    records.map((r) => ring.check(r, data, context)),
    ring,
    k,
  );
}

/** `verifyThreshold` with all signatures verified in parallel on the libuv threadpool. */
export async function verifyThresholdAsync(
  records: readonly SignatureRecord[],
  message: SignableMessage,
  keys: ThresholdKeys,
  k: number,
  context: KeyCheckContext = {},
): Promise<ThresholdResult> {
  const { ring, data } = setup(records, message, keys, k);
  const results = await Promise.all(records.map((r) => ring.checkAsync(r, data, context)));
  return tally(results, ring, k);
}

function setup(
  records: readonly SignatureRecord[],
  message: SignableMessage,
  keys: ThresholdKeys,
  k: number,
) {
  if (!Array.isArray(records)) throw new ValidationError('records must be an array of SignatureRecords');
  if (!Number.isSafeInteger(k) || k < 1) throw new ValidationError('threshold k must be a positive integer');
  const data = messageBytes(message);
  return { ring: keys instanceof KeyRing ? keys : ringOf(keys), data };
}

function ringOf(keys: readonly (KeyObject | Signer)[]): KeyRing {
  if (!Array.isArray(keys))
    throw new ValidationError('keys must be a KeyRing or an array of public keys / signers');
  const ring = new KeyRing();
  for (const key of keys) {
    if (!ring.has(keyIdOf(key instanceof KeyObject ? key : key.publicKey))) ring.add(key);
  }
  return ring;
}

function tally(results: KeyCheckResult[], ring: KeyRing, k: number): ThresholdResult {
  const seen = new Set<string>();
  const out: ThresholdResult = { ok: false, valid: 0, required: k, keyIds: [], duplicates: [], failures: [] };
  results.forEach((r, index) => {
    if (!r.ok) {
      out.failures.push({ index, kind: r.kind, message: r.message });
      return;
    }
    const fingerprint = ring.get(r.keyId)!.fingerprint;
    if (seen.has(fingerprint)) {
      out.duplicates.push(index);
      return;
    }
    seen.add(fingerprint);
    out.keyIds.push(r.keyId);
  });
  out.valid = seen.size;
  out.ok = out.valid >= k;
  return out;
}

/** Several signers over the same message (e.g. a log operator plus co-signers). */
export class MultiSigner {
  readonly signers: readonly Signer[];

  constructor(signers: readonly (Signer | ((...args: never[]) => unknown))[]) {
    if (!Array.isArray(signers) || signers.length === 0)
      throw new ValidationError('MultiSigner needs at least one signer');
    const resolved = signers.map((s) => resolveSigner(s));
    const ids = new Set<string>();
    for (const s of resolved) {
      // one key twice would look like two signatures but count once in verifyThreshold
      if (ids.has(s.keyId)) throw new ValidationError(`key ${s.keyId} appears twice in the MultiSigner`);
      ids.add(s.keyId);
    }
    this.signers = Object.freeze(resolved);
  }

  /** One record per signer, in signer order; the signers run in parallel. */
  readonly signRecords = (message: SignableMessage): Promise<SignatureRecord[]> => {
    const data = messageBytes(message);
    return Promise.all(this.signers.map((s) => s.signRecord(data)));
  };

  /** A KeyRing trusting exactly these signers' keys (each for its own algorithm). */
  keyRing(): KeyRing {
    return new KeyRing(this.signers);
  }

  static readonly verifyThreshold = verifyThreshold;
  static readonly verifyThresholdAsync = verifyThresholdAsync;
}
