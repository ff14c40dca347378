/**
 * Offline verification of what a ledger hands out: checkpoints, inclusion and consistency proofs.
 * Pure functions: no storage, no network. They fail closed with typed errors.
 */
import { assertHashAlgorithm, type HashAlgorithm } from '../crypto/hash.js';
import { fromHex } from '../encoding/bytes.js';
import { type CanonicalOptions, canonicalize, DEFAULT_MAX_DEPTH } from '../encoding/canonical.js';
import { dataDigestHex, hashTextHex, leafText } from '../entry/commitment.js';
import type { Entry } from '../entry/types.js';
import { ProofError, ValidationError } from '../errors.js';
import { leafHash } from '../merkle/hash.js';
import {
  verifyConsistency as verifyConsistencyRaw,
  verifyInclusion as verifyInclusionRaw,
} from '../merkle/verify.js';
import { type OpenedCheckpoint, openCheckpoint } from '../note/checkpoint.js';
import { type NoteVerifier, parseVerifierKey } from '../note/keys.js';

/** A signed C2SP checkpoint as the ledger returns it. */
export interface SignedCheckpoint {
  origin: string;
  size: number;
  /** Lowercase hex of the RFC 9162 root. */
  rootHash: string;
  /** The whole signed note (what you publish, hand to auditors, or pin). */
  text: string;
}

/** A checkpoint given as the ledger's object, its note text, or (for ledger methods) a tree size. */
export type CheckpointInput = SignedCheckpoint | string | number;

export interface InclusionProofData {
  index: number;
  size: number;
  rootHash: string;
  hashAlgorithm: HashAlgorithm;
  /** Audit path, hex, leaf to root (RFC 9162 §2.1.3). */
  path: string[];
}

export interface ConsistencyProofData {
  size1: number;
  size2: number;
  /** Hex, RFC 9162 §2.1.4. */
  path: string[];
}

export function toSignedCheckpoint(o: OpenedCheckpoint): SignedCheckpoint {
  return Object.freeze({
    origin: o.origin,
    size: o.size,
    rootHash: o.rootHash.toString('hex'),
    text: o.note,
  });
}

// Parsing a vkey builds a KeyObject and opening a note checks an Ed25519 signature: both are pure,
// so results are cached (bounded) for callers that check many proofs against one checkpoint.
const CACHE_LIMIT = 256;
const verifiers = new Map<string, NoteVerifier>();
const openedNotes = new Map<string, OpenedCheckpoint>();

function remember<T>(m: Map<string, T>, k: string, v: T): T {
  m.set(k, v);
  if (m.size > CACHE_LIMIT) m.delete(m.keys().next().value as string);
  return v;
}

function verifierOf(key: string | NoteVerifier): NoteVerifier {
  if (typeof key !== 'string') return key;
  return verifiers.get(key) ?? remember(verifiers, key, parseVerifierKey(key));
}

/** A deep copy of plain objects, arrays and Buffers (what an opened checkpoint is made of). */
function copyOf<T>(x: T): T {
  if (Buffer.isBuffer(x)) return Buffer.from(x) as T;
  if (Array.isArray(x)) return x.map(copyOf) as T;
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = copyOf(v);
    return out as T;
  }
  return x;
}

/** Open a checkpoint note with the log's verifier key; the origin defaults to the key's name. */
export function openSignedCheckpoint(
  cp: SignedCheckpoint | string,
  verifierKey: string | NoteVerifier,
  options: { origin?: string; witnesses?: readonly NoteVerifier[]; witnessQuorum?: number } = {},
): OpenedCheckpoint {
  const v = verifierOf(verifierKey);
  const text = typeof cp === 'string' ? cp : cp?.text;
  if (typeof text !== 'string')
    throw new ValidationError('checkpoint must be a SignedCheckpoint or its note text');
  const origin = options.origin ?? v.name;
  const cacheable = !options.witnesses?.length;
  const cacheKey = `${v.vkey}\n${origin}\n${text}`;
  let opened = cacheable ? openedNotes.get(cacheKey) : undefined;
  if (!opened) {
    opened = openCheckpoint(text, {
      origin,
      verifiers: [v],
      ...(options.witnesses?.length
        ? { witnesses: options.witnesses, witnessQuorum: options.witnessQuorum }
        : {}),
    });
    if (cacheable) remember(openedNotes, cacheKey, copyOf(opened));
  } else {
    // A copy per caller: a root buffer changed through one caller's object must not reach the
    // cache, where it would make a forged proof check out against the genuine note.
    opened = copyOf(opened);
  }
  if (
    typeof cp !== 'string' &&
    (cp.size !== opened.size || cp.rootHash !== opened.rootHash.toString('hex'))
  ) {
    throw new ProofError('the checkpoint object does not match its signed note');
  }
  return opened;
}

/**
 * Recompute an entry's hash from its own fields (data and salt included): proves the entry object
 * is what the ledger committed to. A redacted entry is checked from its data digest alone.
 */
export function computeEntryHash(entry: Entry, hashAlgorithm: HashAlgorithm): string {
  assertHashAlgorithm(hashAlgorithm);
  requireEntryObject(entry);
  try {
    return entryHashOf(entry, hashAlgorithm);
  } catch (err) {
    throw asProofError(err, 'malformed entry');
  }
}

function requireEntryObject(entry: unknown): void {
  if (entry === null || typeof entry !== 'object') throw new ProofError('entry must be an Entry object');
}

/**
 * Fail closed with one typed error whatever shape the entry object has (parsed JSON, a hand-made
 * object): bad hex, non-JSON metadata and wrong field types are all a malformed entry.
 */
function asProofError(err: unknown, what: string): ProofError {
  if (err instanceof ProofError) return err;
  return new ProofError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** The metadata sits one level inside the commitment: the writer allows it DEFAULT_MAX_DEPTH levels. */
const COMMITMENT_DEPTH: CanonicalOptions = Object.freeze({ maxDepth: DEFAULT_MAX_DEPTH + 1 });

/** An entry's time as its committed text: a Date, or the ISO text a JSON copy of the entry holds. */
function timestampText(t: unknown): string {
  if (t instanceof Date) {
    if (Number.isNaN(t.getTime())) throw new ProofError('entry.timestamp is an invalid Date');
    return t.toISOString();
  }
  if (typeof t === 'string' && ISO_MS.test(t) && new Date(t).toISOString() === t) return t;
  throw new ProofError(
    'entry.timestamp must be a Date or its toISOString() text (YYYY-MM-DDTHH:MM:SS.sssZ, or ±YYYYYY-... beyond 0000-9999)',
  );
}

// What toISOString() writes, expanded years included: the writer commits to that text for any time.
const ISO_MS = /^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function entryHashOf(entry: Entry, hashAlgorithm: HashAlgorithm): string {
  // The `redacted` flag skips no check by itself: data shown must match its digest, and only an
  // entry with neither data nor salt may say it was redacted.
  const shown = entry.data !== null || entry.salt !== null;
  if (typeof entry.redacted !== 'boolean' || entry.redacted === shown)
    throw new ProofError(
      shown ? 'a redacted entry must carry no data or salt' : 'entry has no data or salt to check',
    );
  if (shown) {
    if (entry.data === null || entry.salt === null) throw new ProofError('entry has data or salt, not both');
    const d = dataDigestHex(hashAlgorithm, fromHex(entry.salt), canonicalize(entry.data));
    if (d !== entry.dataDigest) throw new ProofError('entry data does not match its data digest');
  }
  // `signature` is the first record's value (the seed's field): it must not say otherwise.
  if (!Array.isArray(entry.signatures)) throw new ProofError('entry.signatures must be an array');
  if (entry.signature !== (entry.signatures[0]?.value ?? null))
    throw new ProofError('entry.signature does not match entry.signatures');
  // The commitment as the JCS text of its members (FORMAT.md §2.1), every string escaped: the
  // writer's fast concatenation trusts its own fields, but these come from whoever hands the entry
  // over, and a quote inside one (a ledgerId swallowing the metadata) could otherwise shift text
  // between members and keep the hash.
  const body = canonicalize(
    {
      dataDigest: entry.dataDigest,
      id: entry.id,
      index: entry.index,
      ledger: entry.ledgerId,
      metadata: entry.metadata,
      prev: entry.previousHash,
      timestamp: timestampText(entry.timestamp),
      type: entry.type,
      v: 1,
    },
    COMMITMENT_DEPTH,
  );
  return hashTextHex(hashAlgorithm, body);
}

/** The RFC 9162 leaf hash of an entry: SHA-256(0x00 || leaf text). */
export function entryLeafHash(entry: Pick<Entry, 'hash' | 'signatures'>): Buffer {
  const sigs = entry.signatures.length ? canonicalize(entry.signatures) : null;
  return leafHash(Buffer.from(leafText(entry.hash, sigs), 'utf8'));
}

/**
 * Check offline that `entry` is in the log at `checkpoint`: the entry's hash is recomputed from its
 * content, the checkpoint's signature checked with the log's verifier key, and the audit path
 * verified against the checkpoint's root. Throws ProofError / NoteError / CheckpointError; returns true.
 */
export function verifyInclusion(
  entry: Entry,
  proof: InclusionProofData,
  checkpoint: SignedCheckpoint | string,
  verifierKey: string | NoteVerifier,
): true {
  if (!proof || typeof proof !== 'object' || !Array.isArray(proof.path))
    throw new ProofError('malformed inclusion proof');
  requireEntryObject(entry);
  const cp = openSignedCheckpoint(checkpoint, verifierKey);
  if (proof.size !== cp.size)
    throw new ProofError(`the proof is for tree size ${proof.size}, the checkpoint is ${cp.size}`);
  if (proof.index !== entry.index)
    throw new ProofError(`the proof is for index ${proof.index}, the entry is ${entry.index}`);
  let leaf: Buffer;
  try {
    const hash = computeEntryHash(entry, proof.hashAlgorithm);
    if (hash !== entry.hash) throw new ProofError('the entry hash does not match its content');
    leaf = entryLeafHash(entry);
  } catch (err) {
    throw asProofError(err, 'malformed entry or proof');
  }
  const path = proof.path.map((h) => {
    try {
      return fromHex(h);
    } catch {
      throw new ProofError('proof path element is not hex');
    }
  });
  verifyInclusionRaw(entry.index, cp.size, leaf, path, cp.rootHash);
  return true;
}

/** Check offline that `newCheckpoint` extends `oldCheckpoint` (the log only grew). Returns true or throws. */
export function verifyConsistency(
  oldCheckpoint: SignedCheckpoint | string,
  newCheckpoint: SignedCheckpoint | string,
  proof: ConsistencyProofData,
  verifierKey: string | NoteVerifier,
): true {
  if (!proof || typeof proof !== 'object' || !Array.isArray(proof.path))
    throw new ProofError('malformed consistency proof');
  const a = openSignedCheckpoint(oldCheckpoint, verifierKey);
  const b = openSignedCheckpoint(newCheckpoint, verifierKey);
  if (proof.size1 !== a.size || proof.size2 !== b.size)
    throw new ProofError('the proof is for other tree sizes than the checkpoints');
  const path = proof.path.map((h) => {
    try {
      return fromHex(h);
    } catch {
      throw new ProofError('proof path element is not hex');
    }
  });
  verifyConsistencyRaw(a.size, b.size, a.rootHash, b.rootHash, path);
  return true;
}
