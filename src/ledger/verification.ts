/**
 * One verification run over a ledger's store: stored and trusted checkpoints, the entry stream (on
 * worker threads for large SQLite logs), signatures, and the final comparison with the stored head and
 * tree. Never throws on tampering: the report says what failed and what assurance was reached.
 */
import { HASH_LENGTHS } from '../crypto/hash.js';
import { KeyRing } from '../crypto/signatures/keyring.js';
import type { StoredEntry } from '../entry/types.js';
import { ConfigurationError, type SignLedgerError } from '../errors.js';
import { encodeFrontier, frontierRoot } from '../merkle/frontier.js';
import { EMPTY_ROOT } from '../merkle/hash.js';
import { openCheckpoint } from '../note/checkpoint.js';
import type { NoteVerifier } from '../note/keys.js';
import type { Head, LedgerMeta, StorageBackend } from '../storage/backend.js';
import type { AssuranceLevel, VerificationReport } from '../verify/report.js';
import { type SignatureChecker, StreamVerifier, type VerifiedState } from '../verify/stream-verifier.js';
import type { VerifyOptions } from './ledger.js';
import type { LogKey } from './log-key.js';
import { verifyInParallel } from './parallel-verify.js';
import { checkTileBounds, checkUpperTiles, supplyTilesAhead } from './tile-check.js';
import type { TreeReader } from './tree-reader.js';

/** The state after a successful run, where an incremental run resumes. */
export interface VerifiedRun {
  state: VerifiedState;
  /** Erased entries whose redaction record was not yet seen. */
  pending: Map<number, string>;
}

export interface VerificationContext {
  backend: StorageBackend;
  meta: LedgerMeta;
  logKey: LogKey | undefined;
  origin: string | undefined;
  witnesses: readonly NoteVerifier[];
  witnessQuorum: number | undefined;
  /** The ledger's configured trusted keys, if any. */
  keyring: SignatureChecker | undefined;
  requireSignatures: number | undefined;
  /** Keys of the signers this ledger object was given (used when no key ring is). */
  implicitKeys: KeyRing;
  tree: TreeReader;
  verified: VerifiedRun | null;
}

function requireVerifierKey(ctx: VerificationContext): LogKey {
  if (!ctx.logKey)
    throw new ConfigurationError('this needs the log key (ledger option logKey, a vkey is enough)');
  return ctx.logKey;
}

export async function runVerification(
  ctx: VerificationContext,
  options: VerifyOptions,
): Promise<{ report: VerificationReport; verified: VerifiedRun | null }> {
  const meta = ctx.meta;
  const started = performance.now();
  let verified: VerifiedRun | null = null;
  const checked: string[] = [];
  const notChecked: string[] = [];
  // Checkpoints before the head: one signed between the two reads then never looks like truncation
  // (a checkpoint only ever covers a head that existed when it was signed).
  const stored = await ctx.backend.listCheckpoints();
  let head = await ctx.backend.readHead();
  const expectedRoots = new Map<number, { root: Buffer; label: string }>();
  let failure: VerificationReport['failure'] = null;
  let storedCheckpointsOk = 0;
  let threads = 1;

  // Stored checkpoints: each must be a valid note by the log key whose body matches its row.
  if (stored.length > 0 && !ctx.logKey)
    notChecked.push('stored checkpoint signatures (no log key configured)');
  // Values read back from a store edited behind the library's back may not even have their types:
  // they are reported as what they are (tampering), never thrown as a TypeError.
  const headProblem = malformedHead(head, HASH_LENGTHS[meta.hashAlgorithm] * 2);
  if (headProblem !== null) {
    failure = { kind: 'head_mismatch', message: `the stored head is malformed: ${headProblem}` };
    head = {
      size: Number.isSafeInteger(head.size) && head.size >= 0 ? head.size : 0,
      lastHash: null,
      frontier: Buffer.alloc(0),
      rootHash: EMPTY_ROOT,
    };
  }
  for (const cp of stored) {
    if (
      !Buffer.isBuffer(cp.rootHash) ||
      cp.rootHash.length !== 32 ||
      !Number.isSafeInteger(cp.size) ||
      cp.size < 0
    ) {
      failure ??= {
        kind: 'checkpoint_invalid',
        message: `stored checkpoint ${String(cp.size)} is malformed: its size or root is not what a checkpoint holds`,
      };
      continue;
    }
    if (ctx.logKey) {
      try {
        const opened = openCheckpoint(cp.note, { origin: ctx.origin!, verifiers: [ctx.logKey.verifier] });
        if (opened.size !== cp.size || !opened.rootHash.equals(cp.rootHash))
          throw new Error('row differs from the signed note');
      } catch (err) {
        failure ??= {
          kind: 'checkpoint_invalid',
          message: `stored checkpoint ${cp.size} is invalid: ${(err as Error).message}`,
        };
        continue;
      }
    }
    if (cp.size > head.size) {
      failure ??= {
        kind: 'truncated',
        message: `the log has ${head.size} entries but a signed checkpoint covers ${cp.size}: entries were removed`,
        expected: String(cp.size),
        actual: String(head.size),
      };
      continue;
    }
    if (cp.size > 0) expectedRoots.set(cp.size, { root: cp.rootHash, label: `stored checkpoint ${cp.size}` });
    else if (!cp.rootHash.equals(EMPTY_ROOT)) {
      failure ??= {
        kind: 'inconsistent_checkpoint',
        message: "stored checkpoint 0 names a root other than the empty tree's",
      };
      continue;
    }
    storedCheckpointsOk++;
  }

  // A trusted checkpoint from outside the store.
  let trusted: { size: number; root: Buffer; witnessed: boolean } | null = null;
  if (options.trusted !== undefined) {
    const key = requireVerifierKey(ctx);
    const text = typeof options.trusted === 'string' ? options.trusted : options.trusted.text;
    try {
      const witnesses = ctx.witnesses ?? [];
      const opened = openCheckpoint(text, {
        origin: ctx.origin!,
        verifiers: [key.verifier],
        ...(witnesses.length ? { witnesses, witnessQuorum: ctx.witnessQuorum ?? witnesses.length } : {}),
      });
      trusted = { size: opened.size, root: opened.rootHash, witnessed: witnesses.length > 0 };
    } catch (err) {
      failure ??= {
        kind:
          (err as SignLedgerError).code === 'NOTE_UNVERIFIED' &&
          (err as { reason?: string }).reason === 'witness_quorum'
            ? 'witness_quorum'
            : 'checkpoint_invalid',
        message: `the trusted checkpoint does not verify: ${(err as Error).message}`,
      };
    }
    if (trusted) {
      if (trusted.size > head.size) {
        failure ??= {
          kind: 'truncated',
          message: `the trusted checkpoint covers ${trusted.size} entries but the log has ${head.size}: the log was truncated or rolled back`,
          expected: String(trusted.size),
          actual: String(head.size),
        };
      } else if (trusted.size === 0) {
        if (!trusted.root.equals(EMPTY_ROOT)) {
          failure ??= {
            kind: 'inconsistent_checkpoint',
            message: "the trusted checkpoint of size 0 names a root other than the empty tree's",
          };
        }
      } else if (trusted.size > 0) {
        const prior = expectedRoots.get(trusted.size);
        if (prior && !prior.root.equals(trusted.root)) {
          failure ??= {
            kind: 'inconsistent_checkpoint',
            message: `stored checkpoint ${trusted.size} differs from the trusted one: fork`,
          };
        }
        expectedRoots.set(trusted.size, {
          root: trusted.root,
          label: `the trusted checkpoint (size ${trusted.size})`,
        });
      }
    }
  }

  // Signatures: explicit keys are strict; without them, the ledger's own signers are checked.
  const explicitKeys = options.keys ?? ctx.keyring;
  const required = options.requireSignatures ?? ctx.requireSignatures ?? 0;
  // Unknown keys are passed over (reported as not checked) only when no signature is required: a
  // signature nobody can check never counts toward `requireSignatures`.
  const lenient = explicitKeys === undefined && required === 0;
  const unknownKeys = { n: 0 };
  const checker: SignatureChecker =
    explicitKeys ?? implicitChecker(ctx.implicitKeys, notChecked, lenient, unknownKeys);

  const start =
    options.incremental && ctx.verified && ctx.verified.state.size <= head.size ? ctx.verified : null;
  const v = new StreamVerifier({
    ledgerId: meta.ledgerId,
    hashAlgorithm: meta.hashAlgorithm,
    signatures: { checker, required },
    start: start?.state,
    expectedRoots,
    tiles: true,
  });
  // Rows go to the verifier with the stored level-0 tiles they complete (compared as their leaves
  // build them; docs/FORMAT.md §6).
  // A synchronous store (SQLite) never leaves the microtask queue by itself: let timers and I/O in
  // every ~20 ms, so a verify() in a server's background (autoVerify) does not stall its requests.
  let lastYield = performance.now();
  const push = async (chunk: readonly StoredEntry[]): Promise<boolean> => {
    if (performance.now() - lastYield > 20) {
      await new Promise<void>((r) => setImmediate(r));
      lastYield = performance.now();
    }
    await supplyTilesAhead(v, ctx.backend, chunk.length);
    return v.push(chunk);
  };
  if (start) {
    for (const [i, d] of start.pending) (v.pendingRedactions as Map<number, string>).set(i, d);
    // Entries before `start` were verified earlier; check the stored tree still agrees with them.
    if (start.state.size > 0) {
      const root = await ctx.tree.rootFromTiles(start.state.size);
      if (!root.equals(frontierRoot(start.state.frontier))) {
        failure ??= {
          kind: 'tree_mismatch',
          message: `the stored tree no longer matches the verified state at size ${start.state.size}`,
        };
      }
    }
  }
  if (!failure) {
    const total = head.size;
    const spec = ctx.backend.parallelScanSpec?.() ?? null;
    threads = 1;
    const threshold = options.parallelThreshold ?? 50_000;
    const ring =
      explicitKeys === undefined ? ctx.implicitKeys : explicitKeys instanceof KeyRing ? explicitKeys : null;
    if (spec && ring && options.parallel !== false && head.size - v.fromIndex >= threshold) {
      try {
        const r = await verifyInParallel(v, {
          spec,
          ledgerId: meta.ledgerId,
          hashAlgorithm: meta.hashAlgorithm,
          from: v.fromIndex,
          to: head.size,
          keyring: ring.toJSON(),
          lenientUnknownKeys: lenient,
          requireSignatures: required,
          rootSizes: [...expectedRoots.keys()],
          threads: typeof options.parallel === 'number' ? options.parallel : undefined,
          onProgress: (n) => options.onProgress?.(v.fromIndex + n, total),
          // Counted as each segment is absorbed: a run that fails later still reports what it passed
          // over (its absorbed signatures are in v.signaturesChecked).
          onUnknownKeys: (n) => {
            if (n > 0 && unknownKeys.n === 0) notChecked.push(UNKNOWN_KEYS_NOTE);
            unknownKeys.n += n;
          },
        });
        threads = r.threads;
      } catch {
        // Workers could not run here (or died): finish on this thread from where they stopped.
      }
    }
    if (v.ok && v.verifiedSize < head.size) {
      for await (const chunk of ctx.backend.scan({
        fromIndex: v.verifiedSize,
        toIndex: head.size,
        chunkSize: 4096,
        audit: true,
      })) {
        if (!(await push(chunk))) break;
        options.onProgress?.(v.verifiedSize, total);
      }
    }
  }
  // An entry erased by a redaction whose record was appended after the head was read: verify the
  // rows appended since (hashes, links, signatures, like every other row) so the record is only
  // accepted from a verified row; the report then covers the log up to that later head.
  if (!failure && !v.failure && v.pendingRedactions.size > 0) {
    const later = await ctx.backend.readHead();
    const laterProblem = malformedHead(later, HASH_LENGTHS[meta.hashAlgorithm] * 2);
    if (laterProblem !== null) {
      failure = { kind: 'head_mismatch', message: `the stored head is malformed: ${laterProblem}` };
    } else if (later.size > head.size) {
      for await (const chunk of ctx.backend.scan({
        fromIndex: head.size,
        toIndex: later.size,
        chunkSize: 4096,
        audit: true,
      }))
        if (!(await push(chunk))) break;
      head = later;
    }
  }
  // The tiles above level 0, rebuilt from the level-0 tile roots (only if the run got going: a failure
  // before it, such as a stored checkpoint, is reported as it is).
  const startState = start?.state ?? { size: 0, frontier: [] };
  const sink = v.finishTiles();
  if (!failure && sink) {
    await checkUpperTiles(ctx.backend, startState, v.verifiedSize, sink, (f) => v.recordFailure(f));
  }
  const { state, root } = v.finish();
  failure ??= v.failure;
  if (!failure && state.size !== head.size) {
    failure = {
      kind: state.size < head.size ? 'truncated' : 'head_mismatch',
      index: state.size,
      message: `the head says ${head.size} entries but ${state.size} were found`,
      expected: String(head.size),
      actual: String(state.size),
    };
  }
  if (!failure && !root.equals(head.rootHash)) {
    failure = {
      kind: 'head_mismatch',
      message: 'the recomputed tree root differs from the stored head',
      expected: root.toString('hex'),
      actual: head.rootHash.toString('hex'),
    };
  }
  if (!failure && head.lastHash !== state.lastHash) {
    failure = {
      kind: 'head_mismatch',
      message: 'the stored head does not point at the last entry',
      expected: String(state.lastHash),
      actual: String(head.lastHash),
    };
  }
  // The head's frontier is what the next append builds on: a wrong one passed here would make the
  // next head root wrong (found only by the run after it).
  if (!failure && !encodeFrontier(state.frontier).equals(head.frontier)) {
    failure = {
      kind: 'head_mismatch',
      message: "the stored head's frontier (the tree's right edge) does not match the entries",
    };
  }
  if (!failure && head.size > 0) {
    const tileRoot = await ctx.tree.rootFromTiles(head.size).catch(() => null);
    if (!tileRoot?.equals(root)) {
      failure = {
        kind: 'tree_mismatch',
        message: 'the stored Merkle tree (used for proofs) does not match the entries',
      };
    }
  }
  if (!failure && sink) failure = await checkTileBounds(ctx.backend, head.size, sink.grown);

  if (!failure && ctx.backend.auditStore) failure = await ctx.backend.auditStore();

  let assurance: AssuranceLevel = 'none';
  if (!failure) {
    assurance = 'chain';
    checked.push(
      start
        ? `entries ${v.fromIndex}..${head.size - 1} recomputed; earlier entries verified by a previous run`
        : `all ${head.size} entry hashes, links and data digests recomputed`,
      'Merkle root recomputed and equal to the stored head and tree',
      start && start.state.size > 0
        ? `stored tree tiles holding nodes of entries ${v.fromIndex}..${head.size - 1} (${sink?.compared ?? 0} tiles, every level, width and node) equal the recomputed tree`
        : `every stored tree tile (${sink?.compared ?? 0}, every level, width and node) equals the recomputed tree`,
    );
    if (start && start.state.size > 0)
      notChecked.push(
        `stored tree nodes of entries 0..${start.state.size - 1} other than the right edge of the tree then (tiles are checked when their entries are verified; run a full verify() to check them all again)`,
      );
    if (ctx.backend.auditStore)
      checked.push('no rows stored past the head; the read indexes kept in tables cover every row');
    if (storedCheckpointsOk > 0 && ctx.logKey) {
      assurance = 'checkpoint';
      checked.push(
        `${storedCheckpointsOk} stored checkpoint(s) signed by ${ctx.logKey.name} match the recomputed tree`,
      );
    }
    if (trusted) {
      assurance = trusted.witnessed ? 'witnessed' : 'trusted';
      checked.push(
        `consistent with the trusted checkpoint at size ${trusted.size}${trusted.witnessed ? ' (witness quorum met)' : ''}`,
      );
    } else {
      notChecked.push(
        'no trusted checkpoint given: truncation or a consistent rewrite by someone holding the store cannot be excluded',
      );
    }
    verified = { state, pending: new Map(v.pendingRedactions) };
  }
  const signaturesChecked = v.signaturesChecked - unknownKeys.n;
  if (signaturesChecked > 0) checked.push(`${signaturesChecked} signature(s) verified`);
  if (v.recordsForEarlierEntries > 0)
    notChecked.push(
      `${v.recordsForEarlierEntries} redaction record(s) name entries a previous run verified intact: that they were erased as recorded is not checked by an incremental run (verify without incremental)`,
    );
  const report: VerificationReport = {
    ok: failure === null,
    entriesChecked: v.entriesChecked,
    fromIndex: v.fromIndex,
    size: head.size,
    rootHash: root.toString('hex'),
    hashAlgorithm: meta.hashAlgorithm,
    signaturesChecked,
    redacted: [...v.redacted].sort((a, b) => a - b),
    checkpointsChecked: v.rootsChecked,
    assurance,
    checked,
    notChecked,
    failure,
    durationMs: performance.now() - started,
    threads,
  };
  return { report, verified };
}

const UNKNOWN_KEYS_NOTE =
  'signatures by keys this ledger was not given (pass `keys`, a KeyRing, to check them)';

function implicitChecker(
  ring: KeyRing,
  notChecked: string[],
  lenient: boolean,
  unknown: { n: number },
): SignatureChecker {
  const checker: SignatureChecker = {
    check: (record, message, ctx) => {
      if (lenient && !ring.get(record.keyId)) {
        if (unknown.n++ === 0) notChecked.push(UNKNOWN_KEYS_NOTE);
        return { ok: true, keyId: record.keyId };
      }
      return ring.checkAsync(record, message, ctx);
    },
  };
  return checker;
}

/** Why a head read back from the store cannot be a head, or null. */
function malformedHead(head: Head, hexLength: number): string | null {
  if (!Number.isSafeInteger(head.size) || head.size < 0)
    return `size ${String(head.size)} is not an entry count`;
  if (!Buffer.isBuffer(head.rootHash) || head.rootHash.length !== 32) return 'the root is not 32 bytes';
  if (!Buffer.isBuffer(head.frontier) || head.frontier.length % 32 !== 0)
    return 'the frontier is not a list of 32-byte hashes';
  if (
    head.lastHash !== null &&
    (typeof head.lastHash !== 'string' ||
      head.lastHash.length !== hexLength ||
      !/^[0-9a-f]+$/.test(head.lastHash))
  )
    return 'the last hash is not a lowercase hex digest';
  return null;
}
