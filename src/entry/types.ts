import type { SignatureRecord } from '../crypto/signatures/types.js';
import type { JsonObject } from '../encoding/canonical.js';

/** `event` is what users append; `redaction` records the erasure of an earlier entry's data. */
export type EntryType = 'event' | 'redaction';

/** One log entry as returned to callers. Deeply frozen: it shares nothing mutable with storage. */
export interface Entry {
  readonly id: string;
  /** The ledger this entry belongs to (committed into its hash). */
  readonly ledgerId: string;
  /** 0-based position in the log; contiguous. */
  readonly index: number;
  /** Set by the ledger at append time, millisecond precision, immutable. */
  readonly timestamp: Date;
  readonly type: EntryType;
  /** The event; `null` once redacted. */
  readonly data: Readonly<JsonObject> | null;
  readonly metadata: Readonly<JsonObject>;
  /** Hash of the entry before this one; `null` for the first. */
  readonly previousHash: string | null;
  /** Lowercase hex digest of the entry's commitment (see docs/FORMAT.md). */
  readonly hash: string;
  /** Hex digest committing to the data and its salt; survives redaction. */
  readonly dataDigest: string;
  /** Hex of the random salt mixed into `dataDigest` (needed to re-check the data); `null` once redacted. */
  readonly salt: string | null;
  /** The first signature's value (base64), or `null` when unsigned: what `signer.verify(entry.hash, entry.signature)` takes. */
  readonly signature: string | null;
  readonly signatures: readonly SignatureRecord[];
  readonly redacted: boolean;
}

/** An entry's row as every storage backend keeps it. The ledger computes all of it; backends only store it. */
export interface StoredEntry {
  index: number;
  id: string;
  /** Milliseconds since the epoch; mirrors the committed timestamp so time ranges use an index. */
  timestampMs: number;
  /** The commitment digest (the entry's `hash`), raw bytes. */
  hash: Buffer;
  /** RFC 8785 text of the commitment: exactly the bytes that are hashed. */
  body: string;
  /** RFC 8785 text of the data; `null` once redacted. */
  data: string | null;
  /** Random salt mixed into the data digest; `null` once redacted. */
  salt: Buffer | null;
  /** RFC 8785 text of the signature records array, or `null` for none. */
  signatures: string | null;
}
