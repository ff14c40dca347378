import type { IntegrityFailure } from '../errors.js';

/**
 * How far verification got, weakest to strongest:
 * - `none`: the chain itself failed.
 * - `chain`: every entry hash and link recomputed; the tree root matches the stored head. Proves no
 *   edit in the middle, but a writer could truncate or rewrite consistently.
 * - `checkpoint`: additionally every stored checkpoint signed by the log key matches the recomputed tree.
 * - `trusted`: additionally consistent with a checkpoint the caller trusts from outside the store:
 *   truncation, consistent rewrites and forks since then are excluded.
 * - `witnessed`: the trusted checkpoint also carried the required witness cosignatures.
 */
export type AssuranceLevel = 'none' | 'chain' | 'checkpoint' | 'trusted' | 'witnessed';

export interface VerificationReport {
  ok: boolean;
  /** Entries whose hashes were recomputed in this run. */
  entriesChecked: number;
  /** First index checked (non-zero for incremental runs). */
  fromIndex: number;
  /** Log size according to the stored head. */
  size: number;
  /** Recomputed RFC 9162 root (hex). */
  rootHash: string;
  hashAlgorithm: string;
  signaturesChecked: number;
  /** Entries whose data was erased by a recorded redaction (reported, not failures). */
  redacted: number[];
  checkpointsChecked: number;
  assurance: AssuranceLevel;
  /** What this run established, in words. */
  checked: string[];
  /** What it could not establish, and why. */
  notChecked: string[];
  /** The first failure, or null when ok. */
  failure: IntegrityFailure | null;
  durationMs: number;
  /** Threads that verified entries (1 = the calling thread only). */
  threads?: number;
}
