/**
 * Every error signledger throws is a `SignLedgerError` with a stable `code`.
 * Callers switch on `code` (or `instanceof` the subclass), never on messages.
 */

export type ErrorCode =
  // input
  | 'VALIDATION_FAILED'
  | 'NOT_JSON'
  | 'TOO_LARGE'
  // integrity
  | 'INTEGRITY_FAILED'
  // storage
  | 'STORAGE_FAILED'
  | 'STORAGE_CONFLICT'
  | 'STORAGE_INCOMPATIBLE'
  | 'STORAGE_CLOSED'
  | 'STORAGE_COMMIT_UNKNOWN'
  | 'STORAGE_ALREADY_ERASED'
  | 'DRIVER_MISSING'
  // crypto and proofs
  | 'KEY_INVALID'
  | 'SIGNATURE_INVALID'
  | 'PROOF_INVALID'
  | 'NOTE_MALFORMED'
  | 'NOTE_UNVERIFIED'
  | 'CHECKPOINT_INVALID'
  | 'ENCODING_INVALID'
  // usage
  | 'NOT_FOUND'
  | 'CLOSED'
  | 'CONFIGURATION_INVALID';

export interface SignLedgerErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class SignLedgerError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: SignLedgerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

/** Input the library refuses: nothing was written. */
export class ValidationError extends SignLedgerError {
  /** JSON-pointer-like path to the offending value, e.g. `/data/items/3`. */
  readonly path: string | undefined;
  constructor(
    message: string,
    options: SignLedgerErrorOptions & {
      path?: string;
      code?: 'VALIDATION_FAILED' | 'NOT_JSON' | 'TOO_LARGE';
    } = {},
  ) {
    super(options.code ?? 'VALIDATION_FAILED', message, options);
    this.path = options.path;
  }
}

/** How an entry failed verification. Stable strings: reports and CLIs print them. */
export type IntegrityFailureKind =
  | 'hash_mismatch'
  | 'data_mismatch'
  | 'broken_link'
  | 'gap'
  | 'reorder'
  | 'duplicate'
  | 'malformed_entry'
  | 'ledger_mismatch'
  | 'column_mismatch'
  | 'redaction_unrecorded'
  | 'redaction_invalid'
  | 'signature_invalid'
  | 'signature_missing'
  | 'key_unknown'
  | 'key_outside_window'
  | 'key_revoked'
  | 'algorithm_mismatch'
  | 'tree_mismatch'
  | 'head_mismatch'
  | 'truncated'
  | 'checkpoint_invalid'
  | 'inconsistent_checkpoint'
  | 'witness_quorum';

export interface IntegrityFailure {
  kind: IntegrityFailureKind;
  /** Index of the entry at fault, when one entry is. */
  index?: number;
  id?: string;
  message: string;
  expected?: string;
  actual?: string;
}

/** The log is not what it claims to be. */
export class IntegrityError extends SignLedgerError {
  readonly kind: IntegrityFailureKind;
  readonly index: number | undefined;
  readonly entryId: string | undefined;
  readonly failure: IntegrityFailure;
  constructor(failure: IntegrityFailure, options: SignLedgerErrorOptions = {}) {
    super('INTEGRITY_FAILED', failure.message, { ...options, details: { ...failure } });
    this.failure = Object.freeze({ ...failure });
    this.kind = failure.kind;
    this.index = failure.index;
    this.entryId = failure.id;
  }
}

export class StorageError extends SignLedgerError {
  constructor(
    message: string,
    options: SignLedgerErrorOptions & {
      code?:
        | 'STORAGE_FAILED'
        | 'STORAGE_CONFLICT'
        | 'STORAGE_INCOMPATIBLE'
        | 'STORAGE_CLOSED'
        | 'STORAGE_COMMIT_UNKNOWN'
        | 'STORAGE_ALREADY_ERASED'
        | 'DRIVER_MISSING';
    } = {},
  ) {
    super(options.code ?? 'STORAGE_FAILED', message, options);
  }
}

/**
 * The connection failed while a commit was in flight, so whether the entries were stored is not
 * known (a property of every database client, not of signledger): read the log before retrying.
 */
export class CommitOutcomeUnknownError extends StorageError {
  readonly commitOutcome = 'unknown' as const;
  constructor(message: string, options: SignLedgerErrorOptions = {}) {
    super(message, { ...options, code: 'STORAGE_COMMIT_UNKNOWN' });
  }
}

/** Another writer moved the head first; the sequencer retries. */
export class ConflictError extends StorageError {
  constructor(message = 'the log head moved during the append', options: SignLedgerErrorOptions = {}) {
    super(message, { ...options, code: 'STORAGE_CONFLICT' });
  }
}

/**
 * A group asked to erase entries whose data is already erased: another writer (another process or
 * ledger object on the same store) redacted them first. Nothing of the group was written; the ledger
 * refuses the redaction ("already redacted") and commits the rest of the group without it.
 */
export class AlreadyErasedError extends StorageError {
  constructor(readonly indexes: readonly number[]) {
    super(`the data of entr${indexes.length === 1 ? 'y' : 'ies'} ${indexes.join(', ')} is already erased`, {
      code: 'STORAGE_ALREADY_ERASED',
      details: { indexes: [...indexes] },
    });
  }
}

/** An optional peer dependency is not installed. */
export class DriverMissingError extends StorageError {
  readonly packageName: string;
  constructor(packageName: string, feature: string, options: SignLedgerErrorOptions = {}) {
    super(`${feature} needs the optional package "${packageName}": run \`npm install ${packageName}\``, {
      ...options,
      code: 'DRIVER_MISSING',
    });
    this.packageName = packageName;
  }
}

export class KeyError extends SignLedgerError {
  constructor(message: string, options: SignLedgerErrorOptions = {}) {
    super('KEY_INVALID', message, options);
  }
}

export class SignatureError extends SignLedgerError {
  constructor(message: string, options: SignLedgerErrorOptions = {}) {
    super('SIGNATURE_INVALID', message, options);
  }
}

export class ProofError extends SignLedgerError {
  constructor(message: string, options: SignLedgerErrorOptions = {}) {
    super('PROOF_INVALID', message, options);
  }
}

/** Signed notes and checkpoints: malformed bytes, no trusted signature, bad signature, wrong origin. */
export type NoteErrorReason =
  | 'malformed'
  | 'no_verified_signature'
  | 'invalid_signature'
  | 'ambiguous_key'
  | 'origin_mismatch'
  | 'witness_quorum';

export class NoteError extends SignLedgerError {
  readonly reason: NoteErrorReason;
  constructor(reason: NoteErrorReason, message: string, options: SignLedgerErrorOptions = {}) {
    super(reason === 'malformed' ? 'NOTE_MALFORMED' : 'NOTE_UNVERIFIED', message, options);
    this.reason = reason;
  }
}

export class CheckpointError extends SignLedgerError {
  constructor(message: string, options: SignLedgerErrorOptions = {}) {
    super('CHECKPOINT_INVALID', message, options);
  }
}

export class EncodingError extends SignLedgerError {
  constructor(message: string, options: SignLedgerErrorOptions = {}) {
    super('ENCODING_INVALID', message, options);
  }
}

export class NotFoundError extends SignLedgerError {
  constructor(message: string, options: SignLedgerErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}

export class ClosedError extends SignLedgerError {
  constructor(message = 'the ledger is closed', options: SignLedgerErrorOptions = {}) {
    super('CLOSED', message, options);
  }
}

export class ConfigurationError extends SignLedgerError {
  constructor(message: string, options: SignLedgerErrorOptions = {}) {
    super('CONFIGURATION_INVALID', message, options);
  }
}
