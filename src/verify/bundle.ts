/**
 * The offline bundle verifier: proves, with no database and no network, that a bundle's entries
 * are complete up to its checkpoint (count = checkpoint size, recomputed root = checkpoint root),
 * unmodified (every hash, link and data digest recomputed) and, when keys are given, signed by them.
 * Depends only on the pure layers (encoding, crypto, merkle, note, entry, verify) and node:fs.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type IntegrityFailure, NotFoundError, type SignLedgerError, ValidationError } from '../errors.js';
import { openCheckpoint } from '../note/checkpoint.js';
import { type NoteVerifier, parseVerifierKey } from '../note/keys.js';
import {
  type BundleManifest,
  CHECKPOINT_FILE,
  ENTRIES_FILE,
  MANIFEST_FILE,
  parseEntryLine,
  parseManifest,
  VKEY_FILE,
} from './bundle/format.js';
import { type LineSource, splitLines } from './bundle/lines.js';
import { requireKeysForSignatures } from './bundle/proof-file.js';
import { BundleFileError, readBundleFile, readOptionalFile, streamBundleFile } from './bundle/read.js';
import type { AssuranceLevel, VerificationReport } from './report.js';
import { type SignatureChecker, StreamVerifier } from './stream-verifier.js';

export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleEntryLine,
  type BundleManifest,
  CHECKPOINT_FILE,
  ENTRIES_FILE,
  formatEntryLine,
  formatManifest,
  MANIFEST_FILE,
  parseEntryLine,
  parseManifest,
  VKEY_FILE,
} from './bundle/format.js';
export { type Line, type LineSource, MAX_LINE_BYTES, splitLines } from './bundle/lines.js';
export {
  formatProofFile,
  type ParsedProofFile,
  type ProofReport,
  parseProofFile,
  proofExtra,
  TLOG_PROOF_HEADER,
  type VerifyProofOptions,
  verifyProofFile,
} from './bundle/proof-file.js';

/** A bundle given as contents instead of a directory (tests, browsers, archives). */
export interface BundleFiles {
  manifest: string;
  /**
   * entries.jsonl: the whole text, or its text or its bytes in chunks (any split). Bytes are decoded
   * line by line, strictly: a line that is not UTF-8 is malformed_entry.
   */
  entries: LineSource;
  checkpoint: string;
  /** log.vkey, if the bundle has one (informational only). */
  verifierKey?: string | null;
}

export interface VerifyBundleOptions {
  /** The log's C2SP verifier key, pinned by the auditor (never taken from the bundle). */
  verifierKey: string | NoteVerifier;
  /** Checkpoint origin; default the verifier key's name. */
  origin?: string;
  /** Trusted entry-signing keys (a KeyRing): every entry signature must verify with one of them. */
  keys?: SignatureChecker;
  /** Valid signatures from distinct keys each event entry needs (with `keys`). */
  requireSignatures?: number;
  /** An earlier checkpoint the auditor trusts (note text): the bundle must extend it. */
  trusted?: string;
  witnesses?: readonly NoteVerifier[];
  witnessQuorum?: number;
  /** Called after each chunk with the entries checked so far. */
  onProgress?: (checked: number, total: number) => void;
  /**
   * Longest entries.jsonl line read (default MAX_LINE_BYTES, 64 MiB, ample for ledgers with the
   * default 1 MiB maxEntryBytes): a longer one is malformed_entry. Raise it for ledgers whose
   * maxEntryBytes is over about 30 MiB.
   */
  maxLineBytes?: number;
}

export interface BundleReport extends VerificationReport {
  origin: string;
  ledgerId: string | null;
  name: string | null;
  /** The verified checkpoint (null when it did not verify). */
  checkpoint: { size: number; rootHash: string } | null;
  /** The bundle's own log.vkey, and whether it equals the pinned key (null when absent). */
  bundleVerifierKey: string | null;
  bundleKeyMatches: boolean | null;
}

const CHUNK = 4096;

async function loadFiles(
  source: string | BundleFiles,
): Promise<{ files: BundleFiles; manifest: BundleManifest; checkpointError?: string }> {
  if (typeof source !== 'string') {
    if (source === null || typeof source !== 'object')
      throw new ValidationError('verifyBundle takes a directory or { manifest, entries, checkpoint }');
    return { files: source, manifest: parseManifest(source.manifest) };
  }
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(source);
  } catch (err) {
    throw new ValidationError(`malformed bundle: ${source} does not exist`, { cause: err });
  }
  if (!st.isDirectory()) throw new ValidationError(`malformed bundle: ${source} is not a directory`);
  const manifest = parseManifest(await readBundleFile(source, MANIFEST_FILE, 'manifest'));
  // The checkpoint is evidence: one too large to be a checkpoint, or not UTF-8, fails verification
  // (checkpoint_invalid) rather than the reading of the bundle.
  let checkpoint = '';
  let checkpointError: string | undefined;
  try {
    checkpoint = await readBundleFile(source, manifest.files.checkpoint ?? CHECKPOINT_FILE, 'checkpoint');
  } catch (err) {
    if (!(err instanceof BundleFileError)) throw err;
    checkpointError = err.message.replace(/^malformed bundle: /, '');
  }
  const verifierKey = await readOptionalFile(source, manifest.files.verifierKey ?? VKEY_FILE, 'verifier key');
  // Fail early on a missing entries file rather than mid-stream.
  const entriesPath = join(source, manifest.files.entries ?? ENTRIES_FILE);
  const es = await stat(entriesPath).catch(() => null);
  if (!es?.isFile()) throw new NotFoundError(`malformed bundle: entries file ${entriesPath} is missing`);
  return {
    manifest,
    ...(checkpointError !== undefined ? { checkpointError } : {}),
    files: {
      manifest: '',
      checkpoint,
      verifierKey,
      entries: streamBundleFile(source, manifest.files.entries),
    },
  };
}

/**
 * Verify an evidence bundle offline (a directory written by `signledger export`, or its files'
 * contents). Throws ValidationError / NotFoundError for a bundle that cannot be read at all
 * (missing files, a manifest that is not one); every integrity problem is a failed report.
 */
export async function verifyBundle(
  source: string | BundleFiles,
  options: VerifyBundleOptions,
): Promise<BundleReport> {
  const started = performance.now();
  if (!options || (typeof options.verifierKey !== 'string' && typeof options.verifierKey !== 'object')) {
    throw new ValidationError('verifyBundle needs the log verifier key (options.verifierKey)');
  }
  requireKeysForSignatures(options);
  const verifier =
    typeof options.verifierKey === 'string'
      ? parseVerifierKey(options.verifierKey.trim())
      : options.verifierKey;
  const { files, manifest, checkpointError } = await loadFiles(source);
  const origin = options.origin ?? verifier.name;
  const bundleKey = files.verifierKey?.trim() || null;
  const checked: string[] = [];
  const notChecked: string[] = [];
  const report: BundleReport = {
    ok: false,
    entriesChecked: 0,
    fromIndex: 0,
    size: manifest.size,
    rootHash: '',
    hashAlgorithm: manifest.hashAlgorithm,
    signaturesChecked: 0,
    redacted: [],
    checkpointsChecked: 0,
    assurance: 'none',
    checked,
    notChecked,
    failure: null,
    durationMs: 0,
    origin,
    ledgerId: manifest.ledgerId,
    name: manifest.name,
    checkpoint: null,
    bundleVerifierKey: bundleKey,
    bundleKeyMatches: bundleKey === null ? null : bundleKey === verifier.vkey,
  };
  const done = (failure: IntegrityFailure | null): BundleReport => {
    report.failure = failure;
    report.ok = failure === null;
    report.durationMs = performance.now() - started;
    return report;
  };

  // 1. The checkpoint, signed by the pinned key.
  const witnesses = options.witnesses ?? [];
  let cp: ReturnType<typeof openCheckpoint>;
  if (checkpointError !== undefined)
    return done({
      kind: 'checkpoint_invalid',
      message: `the bundle checkpoint cannot be read: ${checkpointError}`,
    });
  try {
    cp = openCheckpoint(files.checkpoint, {
      origin,
      verifiers: [verifier],
      ...(witnesses.length ? { witnesses, witnessQuorum: options.witnessQuorum ?? witnesses.length } : {}),
    });
  } catch (err) {
    const e = err as SignLedgerError & { reason?: string };
    return done({
      kind: e.reason === 'witness_quorum' ? 'witness_quorum' : 'checkpoint_invalid',
      message: `the bundle checkpoint does not verify with key ${verifier.name}: ${e.message}`,
    });
  }
  report.checkpoint = { size: cp.size, rootHash: cp.rootHash.toString('hex') };
  report.size = cp.size;
  checked.push(
    `checkpoint signed by ${verifier.name}: size ${cp.size}${witnesses.length ? `, cosigned by ${cp.cosigners.join(', ')}` : ''}`,
  );
  if (manifest.size !== cp.size || manifest.rootHash !== cp.rootHash.toString('hex')) {
    return done({
      kind: 'checkpoint_invalid',
      message: `the manifest claims size ${manifest.size} and root ${manifest.rootHash}; the checkpoint says size ${cp.size}`,
      expected: `${cp.size} ${cp.rootHash.toString('hex')}`,
      actual: `${manifest.size} ${manifest.rootHash}`,
    });
  }
  if (manifest.origin !== cp.origin) {
    return done({
      kind: 'checkpoint_invalid',
      message: `the manifest names origin ${manifest.origin}, the checkpoint ${cp.origin}`,
    });
  }
  const expectedRoots = new Map<number, { root: Buffer; label: string }>();
  expectedRoots.set(cp.size, { root: cp.rootHash, label: `the bundle checkpoint (size ${cp.size})` });

  // 2. An earlier trusted checkpoint, if any: the bundle must extend it.
  let trustedSize: number | null = null;
  if (options.trusted !== undefined) {
    try {
      const t = openCheckpoint(options.trusted, { origin, verifiers: [verifier] });
      if (t.size > cp.size) {
        return done({
          kind: 'truncated',
          message: `the trusted checkpoint covers ${t.size} entries but the bundle only ${cp.size}`,
          expected: String(t.size),
          actual: String(cp.size),
        });
      }
      const prior = expectedRoots.get(t.size);
      if (prior && !prior.root.equals(t.rootHash)) {
        return done({
          kind: 'inconsistent_checkpoint',
          message: `the bundle checkpoint and the trusted one have the same size ${t.size} but differ: fork`,
        });
      }
      if (t.size > 0)
        expectedRoots.set(t.size, { root: t.rootHash, label: `the trusted checkpoint (size ${t.size})` });
      trustedSize = t.size;
    } catch (err) {
      return done({
        kind: 'checkpoint_invalid',
        message: `the trusted checkpoint does not verify: ${(err as Error).message}`,
      });
    }
  }

  // 3. Every entry, streamed: hashes, links, data digests, signatures, and the tree root.
  const v = new StreamVerifier({
    ledgerId: manifest.ledgerId,
    hashAlgorithm: manifest.hashAlgorithm,
    signatures: options.keys
      ? { checker: options.keys, required: options.requireSignatures ?? 0 }
      : undefined,
    expectedRoots,
  });
  let lineNo = 0;
  let failure: IntegrityFailure | null = null;
  let rows: ReturnType<typeof parseEntryLine>[] = [];
  const flush = async (): Promise<boolean> => {
    const batch = rows as Exclude<ReturnType<typeof parseEntryLine>, string>[];
    rows = [];
    const more = await v.push(batch);
    options.onProgress?.(v.entriesChecked, cp.size);
    return more;
  };
  const split = splitLines(
    files.entries,
    options.maxLineBytes !== undefined ? { maxLineBytes: options.maxLineBytes } : {},
  );
  outer: for await (const lines of split) {
    for (const line of lines) {
      if (lineNo >= cp.size) {
        failure = {
          kind: 'malformed_entry',
          index: lineNo,
          message: `the bundle holds more entries than its checkpoint covers (${cp.size})`,
          expected: String(cp.size),
        };
        break outer;
      }
      const row = line.error ?? parseEntryLine(line.text);
      if (typeof row === 'string' || !line.terminated) {
        if (rows.length && !(await flush())) break outer;
        failure = {
          kind: 'malformed_entry',
          index: lineNo,
          message: `entries line ${lineNo + 1}: ${typeof row === 'string' ? row : 'the last line has no final newline'}`,
        };
        break outer;
      }
      rows.push(row);
      lineNo++;
      if (rows.length >= CHUNK && !(await flush())) break outer;
    }
  }
  if (!failure && rows.length) await flush();
  const { state, root } = v.finish();
  failure = v.failure ?? failure;
  if (!failure && state.size !== cp.size) {
    failure = {
      kind: 'truncated',
      index: state.size,
      message: `the bundle holds ${state.size} entries but its checkpoint covers ${cp.size}: entries ${state.size}..${cp.size - 1} are missing`,
      expected: String(cp.size),
      actual: String(state.size),
    };
  }
  if (!failure && !root.equals(cp.rootHash)) {
    failure = {
      kind: 'tree_mismatch',
      message: 'the recomputed tree root differs from the checkpoint',
      expected: cp.rootHash.toString('hex'),
      actual: root.toString('hex'),
    };
  }
  report.entriesChecked = v.entriesChecked;
  report.signaturesChecked = v.signaturesChecked;
  report.redacted = [...v.redacted].sort((a, b) => a - b);
  // StreamVerifier may compare the final root twice (on reaching the size and in finish()): count checkpoints, not comparisons.
  report.checkpointsChecked = Math.min(v.rootsChecked, expectedRoots.size);
  report.rootHash = root.toString('hex');

  if (!failure) {
    let assurance: AssuranceLevel = 'checkpoint';
    checked.push(
      `all ${cp.size} entry hashes, links and data digests recomputed`,
      `the recomputed Merkle root equals the checkpoint root: the entries are complete up to size ${cp.size}`,
    );
    if (trustedSize !== null) {
      assurance = 'trusted';
      checked.push(`the bundle extends the trusted checkpoint at size ${trustedSize}`);
    }
    if (witnesses.length) assurance = 'witnessed';
    if (options.keys) {
      checked.push(`${v.signaturesChecked} entry signature(s) verified with the given keys`);
    } else {
      notChecked.push(
        'entry signatures (no trusted keys given): they are covered by the tree but not verified',
      );
    }
    if (report.redacted.length)
      checked.push(`${report.redacted.length} entr(y/ies) redacted by recorded redactions`);
    if (bundleKey !== null && !report.bundleKeyMatches)
      notChecked.push("the bundle's own log.vkey differs from the pinned key (ignored)");
    report.assurance = assurance;
  }
  return done(failure);
}
