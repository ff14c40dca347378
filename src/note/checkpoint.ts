/**
 * C2SP tlog-checkpoint (spec digest §3): the note text
 *
 *   <origin>\n<tree size>\n<b64 root hash>\n[<extension>\n]*
 *
 * parsed strictly, formatted byte-exact, signed and opened (with optional witness quorum).
 *
 * Tree sizes are JS numbers: a size above 2^53-1 is rejected unless `allowBigSize` is set,
 * in which case `size` is NaN (so it can never be used by mistake) and `sizeText` holds the
 * exact decimal. The format itself allows any uint64.
 */
import { fromBase64, toBase64 } from '../encoding/bytes.js';
import { CheckpointError, ConfigurationError, NoteError } from '../errors.js';
import type { WitnessSigner } from './cosignature.js';
import { cosignatureTime } from './cosignature-format.js';
import type { NoteSigner, NoteVerifier } from './keys.js';
import { assembleNote, formatSignatureLine, type NoteSignature, openNote, signNote } from './signed-note.js';
import { hasForbiddenChar } from './text.js';

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Buffer;
  extensions: string[];
}

export interface ParsedCheckpoint extends Checkpoint {
  /** The size line exactly as written (decimal). */
  sizeText: string;
}

export interface ParseCheckpointOptions {
  /** When set, the origin line must equal it. */
  origin?: string;
  /** Root hash must be 32 bytes (SHA-256). Default true: signledger logs are SHA-256. */
  requireSha256?: boolean;
  /** Accept sizes up to 2^64-1; sizes above 2^53-1 then give `size: NaN`. Default false. */
  allowBigSize?: boolean;
}

const SIZE_RE = /^(?:0|[1-9][0-9]{0,19})$/;
const UINT64_MAX = 18446744073709551615n;

function invalid(message: string, details?: Record<string, unknown>): CheckpointError {
  return new CheckpointError(message, details === undefined ? {} : { details });
}

/** Parses a checkpoint body (the note text, ending in "\n"). Throws `CheckpointError`. */
export function parseCheckpointBody(text: string, opts: ParseCheckpointOptions = {}): ParsedCheckpoint {
  if (typeof text !== 'string') throw invalid('checkpoint body must be a string');
  if (text.charCodeAt(text.length - 1) !== 0x0a) throw invalid('checkpoint body must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw invalid('checkpoint body needs origin, size and root hash lines');
  for (const line of lines) {
    if (hasForbiddenChar(line, false))
      throw invalid('checkpoint body contains a control character or invalid UTF-8');
  }
  const origin = lines[0]!;
  const sizeText = lines[1]!;
  const rootText = lines[2]!;
  if (origin.length === 0) throw invalid('checkpoint origin line is empty');
  if (opts.origin !== undefined && origin !== opts.origin) {
    throw invalid(`checkpoint origin ${JSON.stringify(origin)} is not ${JSON.stringify(opts.origin)}`, {
      reason: 'origin_mismatch',
    });
  }
  // Only a 20-digit size can exceed 2^64-1.
  if (!SIZE_RE.test(sizeText) || (sizeText.length === 20 && BigInt(sizeText) > UINT64_MAX)) {
    throw invalid('checkpoint tree size must be a decimal uint64 without sign or leading zeros');
  }
  let size = Number(sizeText);
  if (!Number.isSafeInteger(size)) {
    if (opts.allowBigSize !== true)
      throw invalid(`checkpoint tree size ${sizeText} exceeds 2^53-1 (unsupported)`);
    size = Number.NaN;
  }
  let rootHash: Buffer;
  try {
    rootHash = fromBase64(rootText);
  } catch {
    throw invalid('checkpoint root hash is not padded canonical base64');
  }
  if (rootHash.byteLength === 0) throw invalid('checkpoint root hash is empty');
  if (opts.requireSha256 !== false && rootHash.byteLength !== 32) {
    throw invalid(`checkpoint root hash is ${rootHash.byteLength} bytes, not 32`);
  }
  const extensions = lines.slice(3);
  for (const ext of extensions) {
    if (ext.length === 0) throw invalid('checkpoint extension lines must not be empty');
  }
  return { origin, size, sizeText, rootHash, extensions };
}

/** Serializes a checkpoint body byte-exact (any non-empty root hash length). */
export function formatCheckpointBody(cp: Checkpoint): string {
  if (typeof cp.origin !== 'string' || cp.origin.length === 0 || hasForbiddenChar(cp.origin, false)) {
    throw invalid('checkpoint origin must be a non-empty line without control characters');
  }
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) {
    throw invalid('checkpoint size must be an integer in [0, 2^53-1]');
  }
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.byteLength === 0) {
    throw invalid('checkpoint root hash must be non-empty bytes');
  }
  let out = `${cp.origin}\n${cp.size}\n${toBase64(cp.rootHash)}\n`;
  for (const ext of cp.extensions ?? []) {
    if (typeof ext !== 'string' || ext.length === 0 || hasForbiddenChar(ext, false)) {
      throw invalid('checkpoint extension must be a non-empty line without control characters');
    }
    out += `${ext}\n`;
  }
  return out;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Signs a checkpoint with the log key(s) and, optionally, cosigns it at once with witness
 * keys (timestamp `time`, unix seconds, default now). The root hash must be 32 bytes.
 */
export function signCheckpoint(
  cp: Checkpoint,
  signer: NoteSigner | readonly NoteSigner[],
  cosigners: readonly WitnessSigner[] = [],
  time: number = nowSeconds(),
): string {
  if (cp.rootHash?.byteLength !== 32) throw invalid('checkpoint root hash must be 32 bytes (SHA-256)');
  const body = formatCheckpointBody(cp);
  const signers = Array.isArray(signer) ? (signer as readonly NoteSigner[]) : [signer as NoteSigner];
  if (signers.length === 0) throw new ConfigurationError('signCheckpoint needs at least one log signer');
  const note = signNote(body, signers);
  if (cosigners.length === 0) return note;
  const msg = Buffer.from(body, 'utf8');
  const lines = note.slice(body.length + 1, -1).split('\n');
  for (const w of cosigners) lines.push(formatSignatureLine(w.name, w.keyId, w.cosign(msg, time)));
  return assembleNote(body, lines);
}

export interface OpenCheckpointOptions {
  /** The origin line this log must use. */
  origin: string;
  /** The log's key(s); at least one must have signed. */
  verifiers: readonly NoteVerifier[];
  /** Known witness keys (usually tlog-cosignature/v1 keys, type 'cosignature'). */
  witnesses?: readonly NoteVerifier[];
  /** Valid cosignatures needed from distinct witness keys. Default: all of `witnesses`. */
  witnessQuorum?: number;
  /** Default true. */
  requireSha256?: boolean;
  /** See ParseCheckpointOptions. */
  allowBigSize?: boolean;
}

export interface CheckpointCosignature {
  name: string;
  keyId: number;
  /** Unix seconds the witness signed at (cosignature/v1 keys only). */
  time?: number;
}

export type OpenedCheckpoint = ParsedCheckpoint & {
  /** The verified note text (= the checkpoint body). */
  text: string;
  /** The whole note as given (decoded). */
  note: string;
  /** Names of the known witnesses whose cosignatures verified, in line order. */
  cosigners: string[];
  cosignatures: CheckpointCosignature[];
  verified: NoteSignature[];
  unverified: NoteSignature[];
};

// The raw public key identifies the key holder for quorum counting: one Ed25519 key
// listed under two names (or two key types) is still one witness.
function publicKeyOf(v: NoteVerifier): string {
  const p1 = v.vkey.indexOf('+');
  const p2 = v.vkey.indexOf('+', p1 + 1);
  try {
    return fromBase64(v.vkey.slice(p2 + 1))
      .subarray(1)
      .toString('hex');
  } catch {
    return v.vkey;
  }
}

function sameKey(a: NoteVerifier, b: NoteVerifier): boolean {
  return a.name === b.name && a.keyId === b.keyId;
}

/**
 * Verifies a checkpoint note: a valid signature by a log key (`verifiers`), the origin
 * line, the body (strict §3), and, when `witnesses` or `witnessQuorum` is given, at least
 * `witnessQuorum` valid cosignatures by distinct known witness keys.
 * Errors: NoteError (malformed / no_verified_signature / invalid_signature / ambiguous_key /
 * origin_mismatch / witness_quorum), CheckpointError (bad body), ConfigurationError.
 */
export function openCheckpoint(note: string | Uint8Array, opts: OpenCheckpointOptions): OpenedCheckpoint {
  if (typeof opts?.origin !== 'string' || opts.origin.length === 0) {
    throw new ConfigurationError('openCheckpoint needs the expected origin');
  }
  const logKeys = opts.verifiers ?? [];
  if (logKeys.length === 0) throw new ConfigurationError('openCheckpoint needs at least one log verifier');
  const witnessKeys = dedupe(opts.witnesses ?? []);
  const quorum = resolveQuorum(opts.witnessQuorum, witnessKeys);

  // One verifier list, so a witness line and a log line can never both match silently;
  // a witness that is also configured as a log key is kept once.
  const all = dedupe([...logKeys, ...witnessKeys.filter((w) => !logKeys.some((l) => sameKey(l, w)))]);
  const opened = openNote(note, all);
  if (!opened.verified.some((s) => logKeys.some((l) => l.name === s.name && l.keyId === s.keyId))) {
    throw new NoteError('no_verified_signature', 'checkpoint is not signed by a known log key');
  }
  const cp = parseCheckpointBody(opened.text, {
    requireSha256: opts.requireSha256 !== false,
    allowBigSize: opts.allowBigSize === true,
  });
  if (cp.origin !== opts.origin) {
    throw new NoteError(
      'origin_mismatch',
      `checkpoint origin ${JSON.stringify(cp.origin)} is not ${JSON.stringify(opts.origin)}`,
    );
  }

  const cosignatures: CheckpointCosignature[] = [];
  const holders = new Set<string>();
  for (const s of opened.verified) {
    const w = witnessKeys.find((k) => k.name === s.name && k.keyId === s.keyId);
    if (w === undefined) continue;
    holders.add(publicKeyOf(w));
    const t = w.type === 'cosignature' ? cosignatureTime(s.signature) : undefined;
    cosignatures.push(
      t === undefined ? { name: s.name, keyId: s.keyId } : { name: s.name, keyId: s.keyId, time: Number(t) },
    );
  }
  if (holders.size < quorum) {
    throw new NoteError('witness_quorum', `${holders.size} of the required ${quorum} witness cosignatures`, {
      details: { have: holders.size, need: quorum, cosigners: cosignatures.map((c) => c.name) },
    });
  }
  return {
    ...cp,
    text: opened.text,
    note:
      typeof note === 'string'
        ? note
        : Buffer.from(note.buffer, note.byteOffset, note.byteLength).toString('utf8'),
    cosigners: cosignatures.map((c) => c.name),
    cosignatures,
    verified: opened.verified,
    unverified: opened.unverified,
  };
}

function dedupe(keys: readonly NoteVerifier[]): NoteVerifier[] {
  const out: NoteVerifier[] = [];
  for (const k of keys) if (!out.some((o) => o.vkey === k.vkey)) out.push(k);
  return out;
}

function resolveQuorum(q: number | undefined, witnesses: readonly NoteVerifier[]): number {
  const distinct = new Set(witnesses.map(publicKeyOf)).size;
  if (q === undefined) return distinct;
  if (!Number.isSafeInteger(q) || q < 0)
    throw new ConfigurationError('witnessQuorum must be a non-negative integer');
  if (q > distinct) {
    throw new ConfigurationError(
      `witnessQuorum ${q} exceeds the ${distinct} distinct witness keys configured`,
    );
  }
  return q;
}
