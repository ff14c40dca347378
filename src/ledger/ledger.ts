import { randomUUID } from 'node:crypto';
import { InMemoryBackend } from '../backends/memory/memory-backend.js';
import { assertHashAlgorithm, type HashAlgorithm } from '../crypto/hash.js';
import { KeyRing } from '../crypto/signatures/keyring.js';
import { describeKey } from '../crypto/signatures/keys.js';
import { MultiSigner } from '../crypto/signatures/multi.js';
import { resolveSigner } from '../crypto/signatures/resolve.js';
import { isTimeout, MAX_TIMER_MS } from '../crypto/signatures/timeout.js';
import type { SignatureRecord, Signer } from '../crypto/signatures/types.js';
import { FORMAT_VERSION } from '../entry/commitment.js';
import { decodeEntry } from '../entry/decode.js';
import { DEFAULT_MAX_ENTRY_BYTES, type PrepareOptions, prepareEntry } from '../entry/prepare.js';
import type { Entry } from '../entry/types.js';
import {
  AlreadyErasedError,
  CheckpointError,
  ClosedError,
  ConfigurationError,
  IntegrityError,
  NotFoundError,
  ProofError,
  StorageError,
  ValidationError,
} from '../errors.js';
import { EMPTY_ROOT } from '../merkle/hash.js';
import { inclusionPlan } from '../merkle/proof.js';
import { verifyConsistency as verifyConsistencyRaw } from '../merkle/verify.js';
import { openCheckpoint, parseCheckpointBody, signCheckpoint } from '../note/checkpoint.js';
import type { AppendBatch, LedgerMeta, StorageBackend } from '../storage/backend.js';
import { parseWherePath, readPath } from '../storage/where.js';
import type {
  CheckpointInput,
  ConsistencyProofData,
  InclusionProofData,
  SignedCheckpoint,
} from '../verify/proofs.js';
import { openSignedCheckpoint, toSignedCheckpoint } from '../verify/proofs.js';
import type { VerificationReport } from '../verify/report.js';
import type { SignatureChecker } from '../verify/stream-verifier.js';
import {
  type AppendItem,
  type Built,
  buildBatch,
  DEFAULT_SIGN_TIMEOUT_MS,
  entryFromItem,
} from './group-build.js';
import { type LogKey, resolveLogKey } from './log-key.js';
import type {
  AppendOptions,
  GetEntriesOptions,
  LedgerOptions,
  LedgerStats,
  QueryOptions,
  SignerLike,
  StructuredQueryOptions,
} from './options.js';
import { PartialGroupError, Sequencer } from './sequencer.js';
import { TreeReader } from './tree-reader.js';
import { runVerification, type VerifiedRun } from './verification.js';

/** Told of every entry this ledger object appends; a promise it returns is not awaited. */
export type Subscriber = (entry: Entry) => unknown;

/**
 * Internal (BatchProcessor): `ledger[APPEND_EACH](events, unread)` appends events that each carry
 * their own options as one unit (one transaction, all or none), leaving out the ones refused before
 * anything is written (see EachOutcome). On an open ledger the unit is submitted before the call
 * returns, so units are sequenced in call order even with two groups in flight. `unread`: no
 * Entry objects are built unless a subscriber wants them (the outcome's entries are then null).
 */
export const APPEND_EACH: unique symbol = Symbol('signledger.appendEach');

/** Thrown out of a group's build when every unit of it was refused: nothing to commit. */
const NOTHING_LEFT: Error = new Error('every unit of the group was refused');

/** One event of an APPEND_EACH unit. */
export interface EachEvent {
  data: Record<string, unknown>;
  options: AppendOptions | undefined;
}

/**
 * What an APPEND_EACH unit came to: the events refused before writing (invalid data or options),
 * by position; and either the committed entries of the others, in order, or why none was written.
 */
export type EachOutcome =
  | { refused: Map<number, unknown>; entries: (Entry | null)[] }
  | { refused: Map<number, unknown>; error: unknown };

const NO_OPTIONS: AppendOptions = Object.freeze({});

/**
 * A cached entry nobody has read yet: what its Entry is made of, turned into the Entry on the
 * first cache hit (an appended entry costs its Entry object only when someone asks for it).
 */
class UnreadEntry {
  constructor(
    readonly meta: LedgerMeta,
    readonly index: number,
    readonly item: AppendItem,
    readonly sigs: SignatureRecord[],
    readonly hash: string,
    readonly prev: string | null,
  ) {}

  get id(): string {
    return this.item.prepared.id;
  }

  entry(): Entry {
    return entryFromItem(this.meta, this.index, this.item, this.sigs, this.hash, this.prev);
  }
}

export interface VerifyOptions {
  /** A checkpoint trusted from outside the store (a SignedCheckpoint or its note text). */
  trusted?: SignedCheckpoint | string;
  /** Trusted public keys for entry signatures (a KeyRing); overrides the ledger's. */
  keys?: SignatureChecker;
  /** Valid signatures from distinct keys each event needs. */
  requireSignatures?: number;
  /** Continue from the last successful verification instead of from the start. */
  incremental?: boolean;
  /** Called after each chunk with entries checked so far (progress bars). */
  onProgress?: (checked: number, total: number) => void;
  /**
   * Verify on worker threads when the backend allows it (SQLite files): `true`/unset = when at least
   * `parallelThreshold` entries are to be checked; `false` = never; a number = that many threads, this one included.
   */
  parallel?: boolean | number;
  /** Default 50,000. */
  parallelThreshold?: number;
}

function toMs(t: Date | number | string | undefined, what: string): number | undefined {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new ValidationError(`${what} is not a valid time`, { path: `/${what}` });
  return ms;
}

/**
 * The `now` option, checked on every call: an entry's time is committed as whole milliseconds (its
 * `ts` column and its ISO text must agree), so a fractional or out-of-range clock reading is refused
 * before anything is written instead of producing an entry that verify() would call tampered.
 */
function checkedClock(now: (() => number) | undefined): (() => number) | undefined {
  if (now === undefined) return undefined;
  if (typeof now !== 'function')
    throw new ConfigurationError('now must be a function returning epoch milliseconds');
  return () => {
    const t = now();
    if (!Number.isSafeInteger(t) || Math.abs(t) > 8.64e15)
      throw new ConfigurationError(
        `the clock (option now) returned ${String(t)}: it must return whole milliseconds since the epoch, within the range of a Date`,
      );
    return t;
  };
}

/** `order`: 'asc' (default) or 'desc'; anything else is a mistake worth saying, not ascending order. */
function checkOrder(order: unknown): 'asc' | 'desc' {
  if (order === undefined || order === 'asc') return 'asc';
  if (order === 'desc') return 'desc';
  throw new ValidationError(`order must be 'asc' or 'desc', got ${JSON.stringify(order) ?? String(order)}`, {
    path: '/order',
  });
}

const APPEND_OPTION_NAMES: ReadonlySet<string> = new Set(['metadata', 'sign', 'signer', 'signers']);

/**
 * Append options: an object with known names only. A misspelt name (`metdata`) would otherwise drop
 * the metadata silently, and nothing can add it to the entry afterwards.
 */
function checkAppendOptions(options: AppendOptions): void {
  checkNames(options, APPEND_OPTION_NAMES, 'append option', ValidationError);
}

/**
 * An options object holds only the names `known` (a misspelt `bakend` or `trustd` would otherwise be
 * ignored: data kept in memory only, or a verification weaker than asked for). A Proxy or getter
 * that throws while its names are read is the caller's bad input, typed as such.
 */
function checkNames(
  options: object,
  known: ReadonlySet<string>,
  what: string,
  Err: typeof ConfigurationError | typeof ValidationError,
): void {
  if (options === null || typeof options !== 'object') throw new Err(`${what}s must be an object`);
  // for-in, not Object.keys: no array per append (this runs on every one).
  let unknown: string | undefined;
  try {
    for (const name in options) {
      if (!known.has(name) && Object.hasOwn(options, name)) {
        unknown = name;
        break;
      }
    }
  } catch (cause) {
    throw new Err(`${what}s could not be read: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
  if (unknown === undefined) return;
  const message = `unknown ${what} ${JSON.stringify(unknown)} (${[...known].join(', ')})`;
  if (Err === ValidationError) throw new ValidationError(message, { path: `/${unknown}` });
  throw new ConfigurationError(message);
}

const LEDGER_OPTION_NAMES: ReadonlySet<string> = new Set([
  'backend',
  'name',
  'hashAlgorithm',
  'compression',
  'logKey',
  'origin',
  'signer',
  'signers',
  'enableSignatures',
  'keyring',
  'requireSignatures',
  'witnesses',
  'witnessQuorum',
  'autoVerify',
  'onIntegrityError',
  'onSubscriberError',
  'maxEntriesMemory',
  'proofCacheTiles',
  'maxEntryBytes',
  'maxBatchSize',
  'signTimeoutMs',
  'now',
]);

const SCAN_OPTION_NAMES: ReadonlySet<string> = new Set(['fromIndex', 'toIndex', 'chunkSize']);

const VERIFY_OPTION_NAMES: ReadonlySet<string> = new Set([
  'trusted',
  'keys',
  'requireSignatures',
  'incremental',
  'onProgress',
  'parallel',
  'parallelThreshold',
]);

function isBackend(b: unknown): b is StorageBackend {
  if (b === null || typeof b !== 'object') return false;
  const o = b as Record<string, unknown>;
  return ['open', 'append', 'readHead', 'scan', 'close'].every((m) => typeof o[m] === 'function');
}

function checkCount(n: number | undefined, what: string): number | undefined {
  if (n === undefined) return undefined;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ValidationError(`${what} must be a non-negative integer`, { path: `/${what}` });
  }
  return n;
}

const DEFAULT_AUTO_VERIFY_MS = 60_000;
/** What the ledger objects on one backend object share. */
interface BackendShare {
  /** The ledger it serves (a backend object keeps one ledger's tables/keys). */
  name: string;
  /** Open ledger objects on it: the last one to close closes the backend. */
  users: number;
  /**
   * Those with an entry cache: a redaction through one drops the entry from all their caches. Weak: a
   * ledger dropped without close() (its backend still in use) is collected.
   */
  caches: Set<WeakRef<Ledger>>;
}
const backendShares = new WeakMap<StorageBackend, BackendShare>();
/** Tiles kept for proofs by default: 4,096 × 16 KiB = 64 MiB at most (a 1,000,000-entry log has 3,925). */
const PROOF_TILE_CACHE = 4096;

/**
 * A tamper-evident, append-only audit log: hash-chained entries that are also leaves of an RFC 9162
 * Merkle tree, with signed C2SP checkpoints. All methods are async; the storage is opened lazily on
 * first use (or explicitly with `open()`).
 */
export class Ledger {
  readonly backend: StorageBackend;
  readonly name: string;
  private readonly options: LedgerOptions;
  private meta: LedgerMeta | null = null;
  private opening: Promise<LedgerMeta> | null = null;
  private closed = false;
  /** Results are null for `unread` items whose Entry was not built. */
  private readonly sequencer: Sequencer<AppendItem, Entry | null>;
  private readonly signTimeoutMs: number;
  private readonly subscribers = new Set<Subscriber>();
  private readonly cache = new Map<string, Entry | UnreadEntry>();
  private readonly cacheLimit: number;
  /** The last redaction queued (redactions run one at a time; see redact). */
  private redactions: Promise<void> = Promise.resolve();
  /** This ledger in its backend's set of caches (BackendShare). */
  private readonly self = new WeakRef(this);
  /** Its backend's share, once this ledger is counted among the backend's users (first open). */
  private share: BackendShare | null = null;
  /** The `now` option, checked on every reading (see checkedClock). */
  private readonly clock: (() => number) | undefined;
  /** Ids in the order they were cached (a ring of `cacheLimit` slots; see remember). */
  private readonly cacheRing: (string | undefined)[] = [];
  private cacheAt = 0;
  private readonly defaultSigners: Signer[];
  /** The ledger's own signers' keys (verify() without keys), each with every algorithm it signed with. */
  private implicitKeys = new KeyRing();
  private readonly logKey: LogKey | undefined;
  private readonly signerCache = new WeakMap<object, Signer>();
  private readonly tree: TreeReader;
  private verified: VerifiedRun | null = null;
  private autoTimer: NodeJS.Timeout | null = null;
  private autoRunning = false;
  /** The last failure found by background verification, if any. */
  lastAutoVerifyError: IntegrityError | null = null;

  constructor(options: LedgerOptions = {}) {
    checkNames(options, LEDGER_OPTION_NAMES, 'ledger option', ConfigurationError);
    if (options.backend !== undefined && !isBackend(options.backend))
      throw new ConfigurationError('backend must be a storage backend object (e.g. new SQLiteBackend(path))');
    if (
      options.maxEntryBytes !== undefined &&
      (!Number.isSafeInteger(options.maxEntryBytes) || options.maxEntryBytes < 2)
    )
      throw new ConfigurationError(
        'maxEntryBytes must be an integer of at least 2 (bytes of canonical JSON)',
      );
    this.options = { ...options };
    this.name = options.name ?? 'default';
    if (options.hashAlgorithm !== undefined) assertHashAlgorithm(options.hashAlgorithm);
    this.backend = options.backend ?? lazyMemoryBackend();
    if (options.compression !== undefined) {
      if (typeof this.backend.useCompression !== 'function') {
        throw new ConfigurationError(`the ${this.backend.kind} backend does not support compression`);
      }
      this.backend.useCompression(options.compression);
    }
    // Entries change only by redaction, which another process does not tell this cache about: by
    // default it is kept only where no other process can write (docs: maxEntriesMemory).
    this.cacheLimit =
      checkCount(options.maxEntriesMemory, 'maxEntriesMemory') ?? (this.backend.processLocal ? 1000 : 0);
    this.tree = new TreeReader(
      this.backend,
      checkCount(options.proofCacheTiles, 'proofCacheTiles') ?? PROOF_TILE_CACHE,
    );
    this.clock = checkedClock(options.now);
    const signTimeout = options.signTimeoutMs ?? DEFAULT_SIGN_TIMEOUT_MS;
    if (!isTimeout(signTimeout))
      throw new ConfigurationError(`signTimeoutMs must be from 1 to ${MAX_TIMER_MS} ms, or Infinity`);
    this.signTimeoutMs = signTimeout;
    const maxBatch = checkCount(options.maxBatchSize, 'maxBatchSize') ?? 4096;
    if (maxBatch < 1) throw new ConfigurationError('maxBatchSize must be at least 1');
    this.sequencer = new Sequencer(
      (items, refuse) => this.commitGroup(items, refuse),
      maxBatch,
      () => this.pipelineDepth,
    );
    this.defaultSigners = this.signerList(options.signer, options.signers, ConfigurationError);
    for (const s of this.defaultSigners) this.trustImplicitly(s);
    if (options.enableSignatures && this.defaultSigners.length === 0) {
      // Allowed: every append must then pass its own signer.
    }
    this.logKey = options.logKey === undefined ? undefined : resolveLogKey(options.logKey);
    if (options.autoVerify) {
      const ms =
        typeof options.autoVerify === 'object'
          ? (options.autoVerify.intervalMs ?? DEFAULT_AUTO_VERIFY_MS)
          : DEFAULT_AUTO_VERIFY_MS;
      if (!Number.isFinite(ms) || ms < 10)
        throw new ConfigurationError('autoVerify.intervalMs must be at least 10 ms');
      this.autoTimer = setInterval(() => void this.autoVerifyTick(), ms);
      this.autoTimer.unref();
    }
  }

  /** Open (or create) the ledger in its store. Called implicitly by every other method. */
  async open(): Promise<this> {
    await this.ready();
    return this;
  }

  /** Create and open a ledger in one call. */
  static async open(options: LedgerOptions = {}): Promise<Ledger> {
    return new Ledger(options).open();
  }

  private ready(): Promise<LedgerMeta> {
    if (this.closed) return Promise.reject(new ClosedError());
    if (this.meta) return Promise.resolve(this.meta);
    if (!this.opening) {
      this.opening = this.doOpen().catch((err) => {
        this.opening = null;
        throw err;
      });
    }
    return this.opening;
  }

  private async doOpen(): Promise<LedgerMeta> {
    // A backend object serves one ledger (it keeps that ledger's tables/keys); several ledgers in one
    // database each get their own backend object.
    const shared = backendShares.get(this.backend);
    if (shared !== undefined && shared.name !== this.name) {
      throw new ConfigurationError(
        `this ${this.backend.kind} backend object already serves ledger "${shared.name}"; create another backend object for "${this.name}"`,
      );
    }
    if (this.share === null) {
      this.share = shared ?? { name: this.name, users: 0, caches: new Set() };
      backendShares.set(this.backend, this.share);
      this.share.users++;
      if (this.cacheLimit > 0) this.share.caches.add(this.self);
    }
    const requested = this.options.hashAlgorithm;
    const meta = await this.backend.open(this.name, () => ({
      formatVersion: FORMAT_VERSION,
      ledgerId: randomUUID(),
      name: this.name,
      hashAlgorithm: requested ?? 'sha256',
      createdAt: new Date().toISOString(),
    }));
    if (meta.formatVersion !== FORMAT_VERSION) {
      throw new StorageError(
        `ledger "${this.name}" uses entry format ${meta.formatVersion}; this signledger writes format ${FORMAT_VERSION}`,
        { code: 'STORAGE_INCOMPATIBLE' },
      );
    }
    assertHashAlgorithm(meta.hashAlgorithm);
    if (requested !== undefined && requested !== meta.hashAlgorithm) {
      throw new StorageError(
        `ledger "${this.name}" was created with ${meta.hashAlgorithm}; refusing to open it as ${requested}`,
        { code: 'STORAGE_INCOMPATIBLE' },
      );
    }
    this.meta = meta;
    return meta;
  }

  /** The ledger's identity (after open). */
  async getMeta(): Promise<LedgerMeta> {
    return { ...(await this.ready()) };
  }

  get hashAlgorithm(): HashAlgorithm | undefined {
    return this.meta?.hashAlgorithm;
  }

  /** The log key's public C2SP verifier key, if configured. */
  get verifierKey(): string | undefined {
    return this.logKey?.verifierKey;
  }

  get origin(): string | undefined {
    return this.options.origin ?? this.logKey?.name;
  }

  /**
   * True when the ledger requires signatures (`enableSignatures`) but has no signer of its own: every
   * append must then pass its own `signer`/`signers`, or it is refused with a ConfigurationError.
   */
  get appendsNeedSigner(): boolean {
    return this.options.enableSignatures === true && this.defaultSigners.length === 0;
  }

  // ───────────────────────────── append ─────────────────────────────

  /**
   * Append one event. Resolves once the entry is durably stored; throws (and stores nothing) on bad
   * input. Concurrent calls are committed together in one transaction.
   */
  append(data: Record<string, unknown>, options: AppendOptions = {}): Promise<Entry> {
    // Not an async function: on an open ledger the caller gets the sequencer's promise itself (an
    // async wrapper would add a promise and two microtasks per append). Errors still reject.
    const meta = this.meta;
    if (meta === null || this.closed) return this.appendWhenReady(data, options);
    let item: AppendItem;
    try {
      item = this.prepareItem(meta, data, options);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.sequencer.submit(item) as Promise<Entry>;
  }

  private async appendWhenReady(data: Record<string, unknown>, options: AppendOptions): Promise<Entry> {
    const meta = await this.ready();
    return this.sequencer.submit(this.prepareItem(meta, data, options)) as Promise<Entry>;
  }

  /** Append several events atomically: all are stored, or (on error) none. */
  async appendBatch(
    events: readonly Record<string, unknown>[],
    options: AppendOptions = {},
  ): Promise<Entry[]> {
    const items = this.prepareBatch(await this.ready(), events, options);
    // One unit: committed in one storage transaction (possibly with other callers' appends), all or nothing.
    return this.sequencer.submitUnit(items) as Promise<Entry[]>;
  }

  /** See APPEND_EACH. Never rejects for the unit's own failure: that is the outcome's `error`. */
  [APPEND_EACH](events: readonly EachEvent[], unread: boolean): Promise<EachOutcome> {
    const meta = this.meta;
    // Not open yet (or closed): ready() opens (or throws ClosedError) first.
    if (meta === null || this.closed) return this.ready().then((m) => this.submitEach(m, events, unread));
    return this.submitEach(meta, events, unread);
  }

  private submitEach(meta: LedgerMeta, events: readonly EachEvent[], unread: boolean): Promise<EachOutcome> {
    const items: AppendItem[] = [];
    const refused = new Map<number, unknown>();
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      try {
        items.push(this.prepareItem(meta, e.data, e.options ?? NO_OPTIONS, unread));
      } catch (err) {
        // Preparing writes nothing: only this event is refused.
        refused.set(i, err);
      }
    }
    return this.sequencer.submitUnit(items).then(
      (entries) => ({ refused, entries }),
      (error: unknown) => ({ refused, error }),
    );
  }

  private prepareBatch(
    meta: LedgerMeta,
    events: readonly Record<string, unknown>[],
    options: AppendOptions,
  ): AppendItem[] {
    if (!Array.isArray(events)) throw new ValidationError('appendBatch takes an array of events');
    const items: AppendItem[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) {
      try {
        items[i] = this.prepareItem(meta, events[i], options);
      } catch (err) {
        if (err instanceof ValidationError) {
          throw new ValidationError(`event ${i}: ${err.message}`, {
            path: `/${i}${err.path ?? ''}`,
            code: err.code as 'VALIDATION_FAILED',
            cause: err,
          });
        }
        throw err;
      }
    }
    return items;
  }

  private prepareItem(meta: LedgerMeta, data: unknown, options: AppendOptions, unread = false): AppendItem {
    checkAppendOptions(options);
    // An unread entry's Entry is built only for a subscriber (or a cache hit): without one now,
    // skip the deep copy (made from the canonical text if it is needed after all).
    const copy = !unread || this.subscribers.size > 0;
    const prepared = prepareEntry(data, options.metadata, 'event', this.prepareOptions(meta, copy));
    let signers = this.defaultSigners;
    if (options.signer !== undefined || options.signers !== undefined) {
      signers = this.signerList(options.signer, options.signers, ValidationError);
    } else if (options.sign && signers.length === 0) {
      throw new ConfigurationError(
        'sign: true needs a signer (append option `signer` or ledger option `signer`)',
      );
    }
    if (
      options.sign === false &&
      options.signer === undefined &&
      options.signers === undefined &&
      !this.options.enableSignatures
    )
      signers = [];
    if (this.options.enableSignatures && signers.length === 0) {
      throw new ConfigurationError('this ledger requires signatures (enableSignatures): configure a signer');
    }
    for (const s of signers) {
      if (!s.canSign)
        throw new ConfigurationError(`signer ${s.keyId} holds only a public key and cannot sign`);
    }
    // Every item has the same shape (fields in the same order): one hidden class where items are read.
    return { prepared, signers, erase: undefined, unread };
  }

  /** prepareEntry's options: two objects per ledger instead of one per append. */
  private prepareOptions(meta: LedgerMeta, copy: boolean): PrepareOptions {
    let o = copy ? this.prepareWithCopy : this.prepareWithoutCopy;
    if (o === null || o.hashAlgorithm !== meta.hashAlgorithm) {
      o = {
        hashAlgorithm: meta.hashAlgorithm,
        maxEntryBytes: this.options.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES,
        now: this.clock,
        copy,
      };
      if (copy) this.prepareWithCopy = o;
      else this.prepareWithoutCopy = o;
    }
    return o;
  }

  private prepareWithCopy: PrepareOptions | null = null;
  private prepareWithoutCopy: PrepareOptions | null = null;

  /**
   * `signer` then `signers` (a list or a MultiSigner), resolved. One key twice is refused: its two
   * signatures would count once towards requireSignatures (distinct keys).
   */
  private signerList(
    signer: SignerLike | undefined,
    signers: readonly SignerLike[] | MultiSigner | undefined,
    Err: typeof ConfigurationError | typeof ValidationError,
  ): Signer[] {
    const list = signers instanceof MultiSigner ? signers.signers : signers;
    if (list !== undefined && !Array.isArray(list))
      throw new Err('signers must be an array of signers or a MultiSigner');
    const out = [...(signer !== undefined ? [signer] : []), ...(list ?? [])].map((s) => this.resolve(s));
    if (out.length > 1) {
      const seen = new Set<string>();
      for (const s of out) {
        const fp = describeKey(s.publicKey).fingerprint;
        if (seen.has(fp)) throw new Err(`signer key ${s.keyId} is given twice (signer/signers)`);
        seen.add(fp);
      }
    }
    return out;
  }

  private resolve(s: SignerLike): Signer {
    const cached = this.signerCache.get(s as object);
    if (cached) return cached;
    const r = resolveSigner(s as Signer);
    this.signerCache.set(s as object, r);
    this.trustImplicitly(r);
    return r;
  }

  private trustImplicitly(s: Signer): void {
    const known = this.implicitKeys.get(s.keyId);
    if (!known) {
      this.implicitKeys.add(s);
    } else if (!known.algorithms.includes(s.algorithm)) {
      // One RSA key signing with both paddings (two signer objects): trust both, not just the first.
      const ring = new KeyRing();
      for (const k of this.implicitKeys.keys()) {
        const algorithms = k.keyId === s.keyId ? [...k.algorithms, s.algorithm] : k.algorithms;
        ring.add(k.publicKey, { algorithms });
      }
      this.implicitKeys = ring;
    }
  }

  /**
   * Groups the backend can take at once: 2 when it commits on its own thread (SQLite
   * `writerThread`), so the next group is built while one commits; 1 otherwise.
   */
  get pipelineDepth(): number {
    const d = this.backend.pipelineDepth;
    return d !== undefined && d > 1 ? Math.floor(d) : 1;
  }

  /**
   * Build and commit one group: runs inside the backend's sequencing (CAS or lock). An `unread`
   * item gets null instead of its Entry unless a subscriber wants it; the cache then keeps what the
   * Entry is made of and builds it on the first hit.
   */
  private async commitGroup(
    group: AppendItem[],
    refuse: (failed: ReadonlyMap<number, unknown>) => AppendItem[],
  ): Promise<(Entry | null)[]> {
    const meta = await this.ready();
    if (this.closed) throw new ClosedError();
    let built: Built | null = null;
    let items = group;
    let batch: AppendBatch;
    try {
      batch = await this.backend.append(async (ctx) => {
        for (;;) {
          if (items.length === 0) throw NOTHING_LEFT;
          try {
            const r = await buildBatch(meta, ctx, items, this.signTimeoutMs);
            built = r.built;
            return r.batch;
          } catch (err) {
            // Entries whose signer failed: their units are rejected and the rest is rebuilt on the
            // same head, in this group's place in the pipeline (keeps submission order).
            if (!(err instanceof PartialGroupError)) throw err;
            items = refuse(err.failed);
          }
        }
      });
    } catch (err) {
      if (err === NOTHING_LEFT) return [];
      throw err instanceof AlreadyErasedError ? refuseRedactions(items, err) : err;
    }
    const b = built as unknown as Built;
    const n = items.length;
    const all = this.subscribers.size > 0;
    const prevOf = (i: number) => (i === 0 ? b.firstPrev : b.hashes[i - 1]!);
    const entries: (Entry | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const item = items[i]!;
      entries[i] =
        item.unread && !all
          ? null
          : entryFromItem(meta, b.rows[i]!.index, item, b.sigs[i]!, b.hashes[i]!, prevOf(i));
    }
    if (batch.erase.length) {
      // Every cache on this backend object, this ledger's included.
      const caches = this.share!.caches;
      for (const ref of caches) {
        const l = ref.deref();
        if (l === undefined) caches.delete(ref);
        else for (const idx of batch.erase) l.invalidateCachedIndex(idx);
      }
    }
    // Only the last `cacheLimit` entries of the group can stay in the cache: remembering the others
    // first would only evict them again (the ring ends up holding the same ids in the same order).
    for (let i = Math.max(0, n - this.cacheLimit); i < n; i++)
      this.remember(
        entries[i] ?? new UnreadEntry(meta, b.rows[i]!.index, items[i]!, b.sigs[i]!, b.hashes[i]!, prevOf(i)),
      );
    if (all) this.notify(entries as Entry[]);
    return entries;
  }

  // ───────────────────────────── subscriptions and cache ─────────────────────────────

  /** Call `cb` with every entry this ledger object appends, after it is durably stored. */
  subscribe(cb: Subscriber): () => void {
    if (typeof cb !== 'function') throw new ValidationError('subscribe takes a function');
    this.subscribers.add(cb);
    return () => this.unsubscribe(cb);
  }

  unsubscribe(cb: Subscriber): boolean {
    return this.subscribers.delete(cb);
  }

  private notify(entries: Entry[]): void {
    if (this.subscribers.size === 0) return;
    for (const e of entries) {
      for (const cb of this.subscribers) {
        // A subscriber's failure must not undo or fail an append that is already durable, nor
        // (rejected promise, unhandled) take the process down: it goes to onSubscriberError.
        try {
          const r = cb(e) as unknown;
          if (r instanceof Promise) r.catch((err: unknown) => this.subscriberFailed(err, e));
        } catch (err) {
          this.subscriberFailed(err, e);
        }
      }
    }
  }

  private subscriberFailed(err: unknown, entry: Entry): void {
    try {
      this.options.onSubscriberError?.(err, entry);
    } catch {
      // The error handler itself failed: nothing left to tell.
    }
  }

  /**
   * Keep the last `cacheLimit` appended entries. Eviction follows a ring of ids: taking a Map's oldest
   * key after many deletions walks the deleted slots first (0.65 µs per append at 1,000 entries,
   * 7.6 µs at 10,000, measured), the ring is O(1).
   */
  private remember(e: Entry | UnreadEntry): void {
    const limit = this.cacheLimit;
    if (limit === 0) return;
    const old = this.cacheRing[this.cacheAt];
    if (old !== undefined && old !== e.id) this.cache.delete(old);
    this.cacheRing[this.cacheAt] = e.id;
    this.cacheAt = this.cacheAt + 1 === limit ? 0 : this.cacheAt + 1;
    this.cache.set(e.id, e);
  }

  private invalidateCachedIndex(index: number): void {
    for (const [id, e] of this.cache) {
      if (e.index === index) {
        this.cache.delete(id);
        return;
      }
    }
  }

  // ───────────────────────────── reads ─────────────────────────────

  /** One entry by id, or null. */
  async getEntry(id: string): Promise<Entry | null> {
    await this.ready();
    if (typeof id !== 'string') throw new ValidationError('entry id must be a string');
    const hit = this.cache.get(id);
    if (hit instanceof UnreadEntry) {
      const e = hit.entry();
      this.cache.set(id, e); // same slot in the ring: the id is unchanged
      return e;
    }
    if (hit) return hit;
    return this.storedEntry(id);
  }

  /** The entry as the store holds it now (no cache). */
  private async storedEntry(id: string): Promise<Entry | null> {
    const row = await this.backend.getById(id);
    return row ? decodeEntry(row) : null;
  }

  /** One entry by index, or null. */
  async getEntryAt(index: number): Promise<Entry | null> {
    await this.ready();
    checkCount(index, 'index');
    const row = await this.backend.getByIndex(index);
    return row ? decodeEntry(row) : null;
  }

  /** A page of entries in append order (or newest first with `order: 'desc'`). */
  async getEntries(options: GetEntriesOptions = {}): Promise<Entry[]> {
    await this.ready();
    const rows = await this.backend.getRange({
      offset: checkCount(options.offset, 'offset'),
      limit: checkCount(options.limit, 'limit'),
      startMs: toMs(options.startTime, 'startTime'),
      endMs: toMs(options.endTime, 'endTime'),
      order: checkOrder(options.order),
    });
    return rows.map(decodeEntry);
  }

  /** The newest `n` entries, in append order. */
  async tail(n = 10): Promise<Entry[]> {
    const rows = await this.getEntries({ limit: n, order: 'desc' });
    return rows.reverse();
  }

  /** Stream every entry (or a range) in append order, in constant memory. */
  async *entries(
    options: { fromIndex?: number; toIndex?: number; chunkSize?: number } = {},
  ): AsyncGenerator<Entry> {
    checkNames(options, SCAN_OPTION_NAMES, 'entries option', ValidationError);
    const fromIndex = checkCount(options.fromIndex, 'fromIndex');
    const toIndex = checkCount(options.toIndex, 'toIndex');
    const chunkSize = checkCount(options.chunkSize, 'chunkSize');
    // A chunk of 0 rows would never advance (a scan loop that starves the event loop).
    if (chunkSize === 0) throw new ValidationError('chunkSize must be at least 1', { path: '/chunkSize' });
    await this.ready();
    const scan = this.backend.scan({
      ...(fromIndex !== undefined ? { fromIndex } : {}),
      ...(toIndex !== undefined ? { toIndex } : {}),
      ...(chunkSize !== undefined ? { chunkSize } : {}),
    });
    // As in verify(): a synchronous store lets timers and I/O in every ~20 ms of reading.
    let lastYield = performance.now();
    for await (const chunk of scan) {
      for (const row of chunk) yield decodeEntry(row);
      if (performance.now() - lastYield > 20) {
        await new Promise<void>((r) => setImmediate(r));
        lastYield = performance.now();
      }
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Entry> {
    return this.entries();
  }

  /**
   * Find entries. A function is a predicate over each entry (the seed's form; scans). An object with
   * `where` is pushed down to the database where the backend supports it, e.g.
   * `query({ where: { 'data.user': 'alice' }, from, to, limit })`.
   */
  async query(
    filter: ((entry: Entry) => boolean) | StructuredQueryOptions,
    options: QueryOptions = {},
  ): Promise<Entry[]> {
    await this.ready();
    if (typeof filter === 'function') {
      const limit = checkCount(options.limit, 'limit') ?? Number.POSITIVE_INFINITY;
      const lo = toMs(options.startTime, 'startTime') ?? Number.NEGATIVE_INFINITY;
      const hi = toMs(options.endTime, 'endTime') ?? Number.POSITIVE_INFINITY;
      const out: Entry[] = [];
      if (limit === 0) return out;
      for await (const e of this.entries()) {
        const t = e.timestamp.getTime();
        if (t < lo || t > hi) continue;
        if (filter(e)) {
          out.push(e);
          if (out.length >= limit) break;
        }
      }
      return out;
    }
    if (filter === null || typeof filter !== 'object')
      throw new ValidationError('query takes a predicate or { where }');
    return this.structuredQuery(filter);
  }

  private async structuredQuery(q: StructuredQueryOptions): Promise<Entry[]> {
    const where = q.where ?? {};
    if (typeof where !== 'object' || where === null || Array.isArray(where)) {
      throw new ValidationError('query.where must be an object of path → value', { path: '/where' });
    }
    const conds = Object.entries(where).map(([path, value]) => {
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) {
        throw new ValidationError(`query value for ${path} must be a string, number, boolean or null`, {
          path: '/where',
        });
      }
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new ValidationError(`query value for ${path} must be finite`, { path: '/where' });
      }
      return { path: parseWherePath(path), value };
    });
    const range = {
      startMs: toMs(q.from ?? q.startTime, 'from'),
      endMs: toMs(q.to ?? q.endTime, 'to'),
      limit: checkCount(q.limit, 'limit'),
      offset: checkCount(q.offset, 'offset'),
      order: checkOrder(q.order),
    };
    const matches = (e: Entry) =>
      conds.every((c) => readPath(c.path.root === 'data' ? e.data : e.metadata, c.path.segments) === c.value);
    if (this.backend.query) {
      // The database filters; re-check in JS so every backend returns exactly the same answer.
      const rows = await this.backend.query({
        ...range,
        where: where as Record<string, string | number | boolean | null>,
      });
      return rows.map(decodeEntry).filter(matches);
    }
    const out: Entry[] = [];
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    let skip = range.offset ?? 0;
    if (limit === 0) return out;
    const lo = range.startMs ?? Number.NEGATIVE_INFINITY;
    const hi = range.endMs ?? Number.POSITIVE_INFINITY;
    const source =
      range.order === 'desc'
        ? (await this.backend.getRange({ order: 'desc' })).map(decodeEntry)
        : this.entries();
    for await (const e of source) {
      const t = e.timestamp.getTime();
      if (t < lo || t > hi || !matches(e)) continue;
      if (skip > 0) {
        skip--;
        continue;
      }
      out.push(e);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Size, times, bytes and algorithms of the log. */
  async getStats(): Promise<LedgerStats> {
    const meta = await this.ready();
    const [s, head, cp] = await Promise.all([
      this.backend.stats(),
      this.backend.readHead(),
      this.backend.latestCheckpoint(),
    ]);
    return {
      ledgerId: meta.ledgerId,
      name: meta.name,
      backend: this.backend.kind,
      totalEntries: head.size,
      firstEntryTime: s.firstTimestampMs === null ? null : new Date(s.firstTimestampMs),
      lastEntryTime: s.lastTimestampMs === null ? null : new Date(s.lastTimestampMs),
      totalSizeBytes: s.entryBytes,
      treeSizeBytes: s.tileBytes,
      uncompressedSizeBytes: s.uncompressedEntryBytes,
      compressionRatio: s.entryBytes === 0 ? 1 : s.uncompressedEntryBytes / s.entryBytes,
      hashAlgorithm: meta.hashAlgorithm,
      rootHash: head.rootHash.toString('hex'),
      latestCheckpointSize: cp?.size ?? null,
      formatVersion: meta.formatVersion,
    };
  }

  // ───────────────────────────── redaction ─────────────────────────────

  /**
   * Erase one entry's data (GDPR / HIPAA). Appends a redaction record naming the entry and its data
   * digest, and erases the data and salt in the same transaction. The chain and tree still verify; the
   * entry is reported as redacted, not tampered.
   */
  redact(id: string, options: { reason: string; metadata?: Record<string, unknown> }): Promise<Entry> {
    // One redaction at a time per ledger object: a second call for the same entry then reads it
    // after the first committed and is refused ("already redacted") instead of recording it twice.
    const run = this.redactions.then(() => this.redactNow(id, options));
    this.redactions = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async redactNow(
    id: string,
    options: { reason: string; metadata?: Record<string, unknown> },
  ): Promise<Entry> {
    const meta = await this.ready();
    if (!options || typeof options.reason !== 'string' || options.reason.length === 0) {
      throw new ValidationError('redact needs a non-empty reason', { path: '/reason' });
    }
    // From the store, not the cache: another process may have redacted it since it was cached. (The
    // store refuses to erase twice anyway; this gives the refusal before anything is built.)
    if (typeof id !== 'string') throw new ValidationError('entry id must be a string');
    const target = await this.storedEntry(id);
    if (!target) throw new NotFoundError(`no entry with id ${id}`);
    if (target.type === 'redaction')
      throw new ValidationError('a redaction record cannot itself be redacted');
    if (target.redacted) throw new ValidationError(`entry ${id} is already redacted`);
    const prepared = prepareEntry(
      {
        redacts: { id: target.id, index: target.index, dataDigest: target.dataDigest },
        reason: options.reason,
      },
      options.metadata,
      'redaction',
      this.prepareOptions(meta, true),
    );
    // commitGroup drops the erased entry from every cache on this backend object.
    const record = await this.sequencer.submit({
      prepared,
      signers: this.defaultSigners,
      erase: target.index,
      unread: false,
    });
    return record as Entry;
  }

  // ───────────────────────────── checkpoints and proofs ─────────────────────────────

  private requireSigningKey(): LogKey & { signer: NonNullable<LogKey['signer']> } {
    const k = this.logKey;
    if (!k?.signer)
      throw new ConfigurationError('checkpoints need a log key that can sign (ledger option logKey)');
    return k as LogKey & { signer: NonNullable<LogKey['signer']> };
  }

  private requireVerifierKey(): LogKey {
    if (!this.logKey)
      throw new ConfigurationError('this needs the log key (ledger option logKey, a vkey is enough)');
    return this.logKey;
  }

  /**
   * Sign a C2SP checkpoint for the current tree. Before signing, proves the new tree consistent with
   * the latest checkpoint stored, so this ledger never signs two inconsistent views of its history.
   */
  async checkpoint(): Promise<SignedCheckpoint> {
    await this.ready();
    const key = this.requireSigningKey();
    const origin = this.origin!;
    await this.sequencer.idle();
    const head = await this.backend.readHead();
    const prev = await this.backend.latestCheckpoint();
    if (prev) {
      if (head.size < prev.size) {
        throw new IntegrityError({
          kind: 'truncated',
          message: `the log has ${head.size} entries but checkpoint ${prev.size} was signed`,
        });
      }
      const opened = openCheckpoint(prev.note, { origin, verifiers: [key.verifier] });
      if (!opened.rootHash.equals(prev.rootHash) || opened.size !== prev.size) {
        throw new IntegrityError({
          kind: 'checkpoint_invalid',
          message: 'the stored checkpoint row does not match its signed note',
        });
      }
      if (head.size === prev.size) {
        if (!head.rootHash.equals(prev.rootHash)) {
          throw new IntegrityError({
            kind: 'inconsistent_checkpoint',
            message: `the tree at size ${head.size} differs from the signed checkpoint`,
          });
        }
        return toSignedCheckpoint(opened);
      }
      // Every tree extends the empty tree (its root was checked against the note above): RFC 9162
      // has no proof from size 0, and none is needed.
      const proof = prev.size === 0 ? null : await this.tree.consistencyFromTiles(prev.size, head.size);
      try {
        if (proof === null) {
          if (!prev.rootHash.equals(EMPTY_ROOT)) throw new ProofError('the empty tree has another root');
        } else verifyConsistencyRaw(prev.size, head.size, prev.rootHash, head.rootHash, proof);
      } catch (err) {
        throw new IntegrityError(
          {
            kind: 'inconsistent_checkpoint',
            message: `refusing to sign: the tree is not an extension of checkpoint ${prev.size}`,
          },
          { cause: err },
        );
      }
    }
    // Check the stored head against the stored tree before vouching for it.
    if (head.size > 0) {
      const root = await this.tree.rootFromTiles(head.size);
      if (!root.equals(head.rootHash)) {
        throw new IntegrityError({
          kind: 'tree_mismatch',
          message: 'the stored head root does not match the stored tree',
        });
      }
    }
    let note = signCheckpoint(
      { origin, size: head.size, rootHash: head.rootHash, extensions: [] },
      key.signer,
    );
    try {
      await this.backend.addCheckpoint({
        size: head.size,
        rootHash: head.rootHash,
        note,
        createdAtMs: Date.now(),
      });
    } catch (err) {
      // Another writer signed this size first: use theirs if it is the same tree.
      const theirs = await this.backend.getCheckpoint(head.size);
      if (!theirs?.rootHash.equals(head.rootHash)) throw err;
      note = theirs.note;
    }
    return toSignedCheckpoint(openCheckpoint(note, { origin, verifiers: [key.verifier] }));
  }

  /** The latest stored checkpoint (verified with the log key when one is configured), or null. */
  async latestCheckpoint(): Promise<SignedCheckpoint | null> {
    await this.ready();
    const cp = await this.backend.latestCheckpoint();
    if (!cp) return null;
    if (!this.logKey) {
      const body = parseCheckpointBody(cp.note.slice(0, cp.note.lastIndexOf('\n\n') + 1));
      return { origin: body.origin, size: cp.size, rootHash: cp.rootHash.toString('hex'), text: cp.note };
    }
    return toSignedCheckpoint(
      openCheckpoint(cp.note, { origin: this.origin!, verifiers: [this.logKey.verifier] }),
    );
  }

  private async resolveSize(cp: CheckpointInput | undefined): Promise<{ size: number; root: Buffer }> {
    if (cp === undefined) {
      const latest = await this.backend.latestCheckpoint();
      if (latest) return { size: latest.size, root: latest.rootHash };
      const head = await this.backend.readHead();
      return { size: head.size, root: head.rootHash };
    }
    if (typeof cp === 'number') {
      const head = await this.backend.readHead();
      if (!Number.isSafeInteger(cp) || cp < 1 || cp > head.size)
        throw new ValidationError(`tree size ${cp} is not in 1..${head.size}`);
      return { size: cp, root: cp === head.size ? head.rootHash : await this.tree.rootFromTiles(cp) };
    }
    const text = typeof cp === 'string' ? cp : cp.text;
    const key = this.requireVerifierKey();
    const opened = openSignedCheckpoint(text, key.verifier, { origin: this.origin! });
    // A validly signed checkpoint of another history (a fork, or this log before a rollback) would
    // give proofs that can never verify: say what it is instead.
    const head = await this.backend.readHead();
    if (opened.size > head.size) {
      throw new IntegrityError({
        kind: 'truncated',
        message: `the checkpoint covers ${opened.size} entries but the log has ${head.size}: entries were removed, or the checkpoint is of another log`,
        expected: String(opened.size),
        actual: String(head.size),
      });
    }
    const own = opened.size === head.size ? head.rootHash : await this.tree.rootFromTiles(opened.size);
    if (!own.equals(opened.rootHash)) {
      throw new IntegrityError({
        kind: 'inconsistent_checkpoint',
        ...(opened.size > 0 ? { index: opened.size - 1 } : {}),
        message: `the checkpoint's root at size ${opened.size} is not this log's: a fork, or the log was rewritten`,
        expected: opened.rootHash.toString('hex'),
        actual: own.toString('hex'),
      });
    }
    return { size: opened.size, root: opened.rootHash };
  }

  /** An RFC 9162 inclusion proof for an entry (by id or index) against a checkpoint (default: the latest). */
  async proveInclusion(
    idOrIndex: string | number,
    checkpoint?: CheckpointInput,
  ): Promise<InclusionProofData> {
    const meta = await this.ready();
    await this.sequencer.idle();
    let index: number;
    if (typeof idOrIndex === 'number') {
      index = checkCount(idOrIndex, 'index')!;
    } else {
      const row = await this.backend.getById(idOrIndex);
      if (!row) throw new NotFoundError(`no entry with id ${idOrIndex}`);
      index = row.index;
    }
    const { size, root } = await this.resolveSize(checkpoint);
    if (index >= size) {
      throw new CheckpointError(
        `entry ${index} is not covered by the checkpoint (size ${size}); sign a newer checkpoint`,
      );
    }
    const path = await this.tree.readNodes(inclusionPlan(index, size), size);
    return {
      index,
      size,
      rootHash: root.toString('hex'),
      hashAlgorithm: meta.hashAlgorithm,
      path: path.map((h) => h.toString('hex')),
    };
  }

  /** An RFC 9162 consistency proof between two checkpoints (or sizes). */
  async proveConsistency(
    oldCheckpoint: CheckpointInput,
    newCheckpoint?: CheckpointInput,
  ): Promise<ConsistencyProofData> {
    await this.ready();
    await this.sequencer.idle();
    const a = await this.resolveSize(oldCheckpoint);
    const b = await this.resolveSize(newCheckpoint);
    if (a.size > b.size) throw new ValidationError(`old size ${a.size} is larger than new size ${b.size}`);
    if (a.size === 0)
      throw new ValidationError('no consistency proof from the empty tree (RFC 9162): every tree extends it');
    const path = a.size === b.size ? [] : await this.tree.consistencyFromTiles(a.size, b.size);
    return { size1: a.size, size2: b.size, path: path.map((h) => h.toString('hex')) };
  }

  // ───────────────────────────── verification ─────────────────────────────

  /** Verify and return true, or throw IntegrityError saying which entry failed and how. */
  async verifyIntegrity(options: VerifyOptions = {}): Promise<true> {
    const report = await this.verify(options);
    if (!report.ok) throw new IntegrityError(report.failure!);
    return true;
  }

  /**
   * Verify the whole log (or, with `incremental`, what was appended since the last successful run):
   * recompute every entry hash, link and data digest, check signatures against trusted keys, rebuild the
   * Merkle tree and compare it with the stored head and every stored checkpoint, and with a trusted
   * checkpoint when given. Never throws on tampering: returns a report.
   */
  async verify(options: VerifyOptions = {}): Promise<VerificationReport> {
    checkNames(options, VERIFY_OPTION_NAMES, 'verify option', ValidationError);
    const meta = await this.ready();
    const { report, verified } = await runVerification(
      {
        backend: this.backend,
        meta,
        logKey: this.logKey,
        origin: this.origin,
        witnesses: this.options.witnesses ?? [],
        witnessQuorum: this.options.witnessQuorum,
        keyring: this.options.keyring,
        // A ledger that requires signatures on append (enableSignatures) requires them on verify too.
        requireSignatures: this.options.requireSignatures ?? (this.options.enableSignatures ? 1 : undefined),
        implicitKeys: this.implicitKeys,
        tree: this.tree,
        verified: this.verified,
      },
      options,
    );
    if (verified) this.verified = verified;
    return report;
  }

  private async autoVerifyTick(): Promise<void> {
    if (this.autoRunning || this.closed || !this.meta) return;
    this.autoRunning = true;
    try {
      const report = await this.verify({ incremental: true });
      if (!report.ok) {
        const err = new IntegrityError(report.failure!);
        this.lastAutoVerifyError = err;
        this.options.onIntegrityError?.(err);
      }
    } catch (err) {
      if (!(err instanceof ClosedError) && err instanceof IntegrityError) this.lastAutoVerifyError = err;
    } finally {
      this.autoRunning = false;
    }
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  /**
   * Wait for pending appends, stop background work and close the storage — unless another open ledger
   * object uses the same backend object: the last of them to close closes it.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.autoTimer) clearInterval(this.autoTimer);
    this.autoTimer = null;
    await this.sequencer.idle();
    this.closed = true;
    const share = this.share;
    if (share === null) return;
    share.caches.delete(this.self);
    // Another open ledger object on this backend object keeps it open.
    if (--share.users === 0) await this.backend.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function lazyMemoryBackend(): StorageBackend {
  return new InMemoryBackend();
}

/**
 * A group whose erasures another writer made first: its redactions of those entries are refused as
 * already redacted, and the sequencer commits the rest of the group without them.
 */
function refuseRedactions(items: readonly AppendItem[], err: AlreadyErasedError): Error {
  const erased = new Set(err.indexes);
  const failed = new Map<number, unknown>();
  items.forEach((item, i) => {
    if (item.erase !== undefined && erased.has(item.erase))
      failed.set(
        i,
        new ValidationError(`the entry at index ${item.erase} is already redacted (by another writer)`, {
          cause: err,
        }),
      );
  });
  // Nothing to single out (the store named no erasure of this group): the group fails as it is.
  return failed.size ? new PartialGroupError(failed) : err;
}
