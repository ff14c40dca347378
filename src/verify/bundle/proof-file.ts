/**
 * Offline proof files: a C2SP tlog-proof (c2sp.org/tlog-proof@v1) whose `extra` line carries the
 * entry itself, so one file proves "this entry, with this content, is in the log at this checkpoint".
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64 of RFC 8785 {"entry":<entries.jsonl object>,"hashAlgorithm":"sha256"}>
 *   index <N>
 *   <base64 SHA-256 audit path node>        (zero or more, leaf's sibling first)
 *   <empty line>
 *   <the checkpoint note, verbatim>
 *
 * The extra data is not trusted on its own: its entry is re-hashed and must be the leaf the audit
 * path leads from to the signed root.
 */
import { isUtf8 } from 'node:buffer';
import { assertHashAlgorithm, digest, type HashAlgorithm } from '../../crypto/hash.js';
import type { SignatureRecord } from '../../crypto/signatures/types.js';
import { fromBase64, toBase64 } from '../../encoding/bytes.js';
import type { JsonObject } from '../../encoding/canonical.js';
import { isCanonical } from '../../encoding/json.js';
import { dataDigestOf, leafText, SALT_BYTES } from '../../entry/commitment.js';
import { parseCommitment } from '../../entry/decode.js';
import type { StoredEntry } from '../../entry/types.js';
import { type IntegrityFailure, type SignLedgerError, ValidationError } from '../../errors.js';
import { leafHash } from '../../merkle/hash.js';
import { rootFromInclusionProof } from '../../merkle/verify.js';
import { openCheckpoint } from '../../note/checkpoint.js';
import { type NoteVerifier, parseVerifierKey } from '../../note/keys.js';
import { parseSignatureList } from '../signature-list.js';
import { type SignatureChecker, signatureFailureKind } from '../stream-verifier.js';
import { formatEntryLine, parseEntryLine } from './format.js';

/**
 * Signatures can only be required of a verifier that holds keys: asking for them without keys
 * would otherwise pass entries nobody checked (fail closed).
 */
export function requireKeysForSignatures(options: { keys?: unknown; requireSignatures?: number }): void {
  if ((options.requireSignatures ?? 0) > 0 && !options.keys) {
    throw new ValidationError('requireSignatures needs keys (a KeyRing of the trusted signing keys)');
  }
}

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export interface ParsedProofFile {
  index: number;
  /** Audit path, leaf to root. */
  path: Buffer[];
  /** Decoded extra data (text), or null when the proof has none. */
  extra: string | null;
  /**
   * False when the extra bytes are not valid UTF-8: `extra` then shows them with U+FFFD in place of
   * the bad bytes, and verifyProofFile fails the proof (malformed_entry).
   */
  extraIsUtf8: boolean;
  /** The checkpoint note, verbatim (not yet verified). */
  checkpoint: string;
}

function malformed(message: string): ValidationError {
  return new ValidationError(`malformed proof file: ${message}`);
}

/** The `extra` payload for an entry. */
export function proofExtra(row: StoredEntry, hashAlgorithm: HashAlgorithm): string {
  return `{"entry":${formatEntryLine(row)},"hashAlgorithm":${JSON.stringify(hashAlgorithm)}}`;
}

export function formatProofFile(p: {
  index: number;
  path: readonly Uint8Array[];
  extra: string | null;
  checkpoint: string;
}): string {
  let out = `${TLOG_PROOF_HEADER}\n`;
  if (p.extra !== null) out += `extra ${toBase64(Buffer.from(p.extra, 'utf8'))}\n`;
  out += `index ${p.index}\n`;
  for (const h of p.path) out += `${toBase64(h)}\n`;
  return `${out}\n${p.checkpoint}`;
}

/** Parse the tlog-proof container. Throws ValidationError for anything that is not one. */
export function parseProofFile(text: string): ParsedProofFile {
  if (typeof text !== 'string') throw malformed('expected text');
  const end = text.indexOf('\n\n');
  if (end < 0) throw malformed('no empty line before the checkpoint');
  const lines = text.slice(0, end).split('\n');
  if (lines[0] !== TLOG_PROOF_HEADER) throw malformed(`the first line must be ${TLOG_PROOF_HEADER}`);
  let i = 1;
  let extra: string | null = null;
  let extraIsUtf8 = true;
  if (lines[i]?.startsWith('extra ')) {
    let bytes: Buffer;
    try {
      bytes = fromBase64(lines[i]!.slice(6));
    } catch {
      throw malformed('the extra line is not base64');
    }
    extra = bytes.toString('utf8');
    extraIsUtf8 = isUtf8(bytes);
    i++;
  }
  const m = /^index (0|[1-9][0-9]*)$/.exec(lines[i] ?? '');
  if (!m || !Number.isSafeInteger(Number(m[1]))) throw malformed('expected an "index <N>" line');
  i++;
  const path: Buffer[] = [];
  for (; i < lines.length; i++) {
    let h: Buffer;
    try {
      h = fromBase64(lines[i]!);
    } catch {
      throw malformed(`audit path line ${i - 1} is not base64`);
    }
    if (h.byteLength !== 32) throw malformed(`audit path line ${i - 1} is not a SHA-256 hash`);
    path.push(h);
  }
  return { index: Number(m[1]), path, extra, extraIsUtf8, checkpoint: text.slice(end + 2) };
}

export interface VerifyProofOptions {
  /** The log's C2SP verifier key (vkey string), pinned by the auditor. */
  verifierKey: string | NoteVerifier;
  /** Checkpoint origin; default the verifier key's name. */
  origin?: string;
  /** Trusted entry-signing keys (a KeyRing): every signature on the entry must verify. */
  keys?: SignatureChecker;
  /** Valid signatures from distinct keys the entry needs (with `keys`). */
  requireSignatures?: number;
  witnesses?: readonly NoteVerifier[];
  witnessQuorum?: number;
}

/** What a proof file proves, when ok. */
export interface ProofReport {
  ok: boolean;
  index: number;
  size: number;
  origin: string;
  /** The checkpoint's root, hex. */
  rootHash: string;
  hashAlgorithm: string | null;
  entry: {
    id: string;
    hash: string;
    timestamp: string;
    type: string;
    ledgerId: string;
    metadata: JsonObject;
    /** null when redacted (the commitment still verifies). */
    data: JsonObject | null;
    redacted: boolean;
  } | null;
  signaturesChecked: number;
  checked: string[];
  notChecked: string[];
  failure: IntegrityFailure | null;
}

/**
 * Verify a tlog-proof file offline: the checkpoint's signature by the pinned log key, the entry's
 * hash and data digest recomputed from its content, its signatures (when keys are given), and the
 * audit path from its leaf to the signed root. Throws ValidationError only for a file that is not a
 * tlog-proof at all; every other problem is a failed report.
 */
export async function verifyProofFile(text: string, options: VerifyProofOptions): Promise<ProofReport> {
  requireKeysForSignatures(options);
  const p = parseProofFile(text);
  const verifier =
    typeof options.verifierKey === 'string' ? parseVerifierKey(options.verifierKey) : options.verifierKey;
  const report: ProofReport = {
    ok: false,
    index: p.index,
    size: 0,
    origin: options.origin ?? verifier.name,
    rootHash: '',
    hashAlgorithm: null,
    entry: null,
    signaturesChecked: 0,
    checked: [],
    notChecked: [],
    failure: null,
  };
  const fail = (f: IntegrityFailure): ProofReport => {
    report.failure = f;
    return report;
  };
  let cp: ReturnType<typeof openCheckpoint>;
  try {
    cp = openCheckpoint(p.checkpoint, {
      origin: report.origin,
      verifiers: [verifier],
      ...(options.witnesses?.length
        ? { witnesses: options.witnesses, witnessQuorum: options.witnessQuorum }
        : {}),
    });
  } catch (err) {
    const e = err as SignLedgerError & { reason?: string };
    return fail({
      kind: e.reason === 'witness_quorum' ? 'witness_quorum' : 'checkpoint_invalid',
      message: `the checkpoint does not verify with key ${verifier.name}: ${e.message}`,
    });
  }
  report.size = cp.size;
  report.rootHash = cp.rootHash.toString('hex');
  report.checked.push(`checkpoint signed by ${verifier.name} (size ${cp.size})`);
  if (options.witnesses?.length) report.checked.push(`witness cosignatures: ${cp.cosigners.join(', ')}`);

  // The entry, from the extra data.
  if (p.extra === null)
    return fail({
      kind: 'malformed_entry',
      index: p.index,
      message: 'the proof carries no entry (no extra line)',
    });
  const where = { index: p.index };
  // Strict, as for bundle lines: a lossy decode would read other bytes as the same entry.
  if (!p.extraIsUtf8)
    return fail({ kind: 'malformed_entry', ...where, message: "the proof's extra data is not UTF-8" });
  let extra: { entry?: unknown; hashAlgorithm?: unknown };
  try {
    extra = JSON.parse(p.extra) as typeof extra;
  } catch {
    return fail({ kind: 'malformed_entry', ...where, message: "the proof's extra data is not JSON" });
  }
  let alg: HashAlgorithm;
  try {
    alg = assertHashAlgorithm(extra?.hashAlgorithm);
  } catch {
    return fail({
      kind: 'malformed_entry',
      ...where,
      message: "the proof's extra data names no supported hash algorithm",
    });
  }
  report.hashAlgorithm = alg;
  const line = JSON.stringify(extra.entry);
  const row = typeof line === 'string' ? parseEntryLine(line) : 'missing';
  if (typeof row === 'string')
    return fail({ kind: 'malformed_entry', ...where, message: `the proof's entry is malformed: ${row}` });
  if (proofExtra(row, alg) !== p.extra) {
    return fail({
      kind: 'malformed_entry',
      ...where,
      message: "the proof's extra data is not in canonical form",
    });
  }
  const c = parseCommitment(row.body);
  if (c === null || !isCanonical(row.body))
    return fail({
      kind: 'malformed_entry',
      ...where,
      message: 'the entry has a malformed or non-canonical (RFC 8785) commitment',
    });
  const hash = digest(alg, Buffer.from(row.body, 'utf8'));
  const hashHex = hash.toString('hex');
  if (!hash.equals(row.hash)) {
    return fail({
      kind: 'hash_mismatch',
      ...where,
      message: 'the entry hash does not match its content',
      expected: hashHex,
      actual: row.hash.toString('hex'),
    });
  }
  if (c.index !== p.index || row.index !== p.index) {
    return fail({
      kind: 'reorder',
      ...where,
      message: `the entry commits to index ${c.index}, the proof is for index ${p.index}`,
      expected: String(p.index),
      actual: String(c.index),
    });
  }
  if (c.id !== row.id)
    return fail({ kind: 'column_mismatch', ...where, message: 'the entry id differs from the committed id' });
  // As in bundles (FORMAT.md §2.1): the committed time is exactly the ISO text of a whole millisecond.
  const ms = Date.parse(c.timestamp);
  if (!Number.isInteger(ms) || new Date(ms).toISOString() !== c.timestamp)
    return fail({
      kind: 'column_mismatch',
      ...where,
      message: `the committed timestamp ${JSON.stringify(c.timestamp)} is not an ISO 8601 time in milliseconds`,
    });
  let data: JsonObject | null = null;
  if (row.data !== null && row.salt !== null) {
    if (row.salt.length !== SALT_BYTES)
      return fail({
        kind: 'malformed_entry',
        ...where,
        message: `the entry salt is ${row.salt.length} bytes, not ${SALT_BYTES}`,
      });
    const d = dataDigestOf(alg, row.salt, row.data).toString('hex');
    if (d !== c.dataDigest) {
      return fail({
        kind: 'data_mismatch',
        ...where,
        message: 'the entry data does not match its committed digest',
        expected: c.dataDigest,
        actual: d,
      });
    }
    data = JSON.parse(row.data) as JsonObject;
    report.checked.push('entry data matches its committed digest');
  } else if (row.data === null && row.salt === null) {
    report.notChecked.push('the entry data was redacted: only its digest is committed');
  } else {
    return fail({
      kind: 'data_mismatch',
      ...where,
      message: 'entry data and salt are inconsistent (one erased, one not)',
    });
  }
  report.entry = {
    id: c.id,
    hash: hashHex,
    timestamp: c.timestamp,
    type: c.type,
    ledgerId: c.ledger,
    metadata: c.metadata,
    data,
    redacted: data === null,
  };

  // Signatures (covered by the leaf either way; checked against keys only when given).
  let records: SignatureRecord[] = [];
  if (row.signatures !== null) {
    const parsed = parseSignatureList(row.signatures);
    if (typeof parsed === 'string')
      return fail({ kind: 'malformed_entry', ...where, message: `the entry ${parsed}` });
    records = parsed;
  }
  if (options.keys) {
    const required = c.type === 'event' ? (options.requireSignatures ?? 0) : 0;
    const ctx = { index: p.index, time: new Date(c.timestamp) };
    const valid = new Set<string>();
    for (const r of records) {
      const res = options.keys.checkAsync
        ? await options.keys.checkAsync(r, hashHex, ctx)
        : await options.keys.check(r, hashHex, ctx);
      report.signaturesChecked++;
      if (!res.ok) {
        return fail({
          kind: signatureFailureKind(res.kind),
          ...where,
          message: `entry ${p.index}: ${res.message}`,
        });
      }
      valid.add(res.keyId);
    }
    if (valid.size < required) {
      return fail({
        kind: 'signature_missing',
        ...where,
        message: `entry ${p.index}: ${valid.size} distinct key(s) signed, ${required} required`,
      });
    }
    if (records.length > 0) report.checked.push(`${records.length} entry signature(s) verified`);
  } else if (records.length > 0) {
    report.notChecked.push('entry signatures (no trusted keys given)');
  }

  // The audit path from the entry's leaf to the signed root.
  const leaf = leafHash(Buffer.from(leafText(hashHex, row.signatures), 'utf8'));
  let root: Buffer;
  try {
    root = rootFromInclusionProof(p.index, cp.size, leaf, p.path);
  } catch (err) {
    return fail({
      kind: 'tree_mismatch',
      ...where,
      message: `the inclusion proof does not fit the checkpoint (size ${cp.size}): ${(err as Error).message}`,
    });
  }
  if (!root.equals(cp.rootHash)) {
    return fail({
      kind: 'tree_mismatch',
      ...where,
      message: `the inclusion proof does not lead to the root of the checkpoint (size ${cp.size}): wrong tree size or tampered`,
      expected: cp.rootHash.toString('hex'),
      actual: root.toString('hex'),
    });
  }
  report.checked.push(`entry ${p.index} is included in the tree of size ${cp.size}`);
  report.ok = true;
  return report;
}
