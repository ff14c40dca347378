/**
 * A commitment text (docs/FORMAT.md §2.1) is almost entirely a function of its row's other columns:
 * index, id, time, the data digest (HASH(salt || data)), the ledger id and the previous row's hash.
 * Only the type and the metadata text are its own. Backends that want to store less keep just those
 * two and rebuild the text on read; `splitCommitment` says whether a given text can be rebuilt
 * exactly (byte for byte), `rebuildCommitment` rebuilds it. The in-memory backend does the same
 * with its own byte-level code (backends/memory/columns.ts).
 */
import { hash as oneShotHash } from 'node:crypto';
import type { HashAlgorithm } from '../crypto/hash.js';
import { commitmentText, SALT_BYTES } from './commitment.js';
import { isoTimestamp } from './timestamp.js';
import type { EntryType } from './types.js';

/** The columns a commitment is rebuilt from. */
export interface CommitmentColumns {
  index: number;
  id: string;
  timestampMs: number;
  ledgerId: string;
  /** Hex hash of the previous row, or null for index 0. */
  prev: string | null;
  /** Hex of HASH(salt || data). */
  dataDigest: string;
}

/** What a rebuildable commitment keeps of its own. */
export interface CommitmentRest {
  type: EntryType;
  metadataText: string;
}

/**
 * If `body` is exactly the text `rebuildCommitment(cols, rest)` gives for some type and metadata,
 * return those; else null. The check is a prefix and a suffix comparison around the metadata, so a
 * match is a byte-for-byte round trip by construction.
 */
export function splitCommitment(body: string, cols: CommitmentColumns): CommitmentRest | null {
  if (!Number.isSafeInteger(cols.index) || cols.index < 0 || !Number.isSafeInteger(cols.timestampMs))
    return null;
  if ((cols.index === 0) !== (cols.prev === null)) return null;
  const head =
    '{"dataDigest":"' +
    cols.dataDigest +
    '","id":"' +
    cols.id +
    '","index":' +
    cols.index +
    ',"ledger":"' +
    cols.ledgerId +
    '","metadata":';
  if (!body.startsWith(head)) return null;
  const iso = isoTimestamp(cols.timestampMs);
  const mid = `,"prev":${cols.prev === null ? 'null' : `"${cols.prev}"`},"timestamp":"${iso}","type":"`;
  let type: EntryType;
  if (body.endsWith('event","v":1}')) type = 'event';
  else if (body.endsWith('redaction","v":1}')) type = 'redaction';
  else return null;
  const tail = mid + type + '","v":1}';
  const metaEnd = body.length - tail.length;
  // `{}` at least: the metadata is a JSON object (anything shorter cannot be one).
  if (metaEnd - head.length < 2 || !body.endsWith(tail)) return null;
  return { type, metadataText: body.slice(head.length, metaEnd) };
}

export function rebuildCommitment(cols: CommitmentColumns, rest: CommitmentRest): string {
  return commitmentText({
    dataDigest: cols.dataDigest,
    id: cols.id,
    index: cols.index,
    ledgerId: cols.ledgerId,
    metadataText: rest.metadataText,
    prev: cols.prev,
    timestamp: isoTimestamp(cols.timestampMs),
    type: rest.type,
  });
}

// Scratch for salt || UTF-8(data): hashing is synchronous, so one buffer serves every call.
let scratch = Buffer.allocUnsafe(16 * 1024);

/** Hex of HASH(salt || UTF-8(dataText)) with the salt given as hex (as SQLite rows carry it); null if it is not 32 bytes of hex. */
export function dataDigestFromHexSalt(
  algorithm: HashAlgorithm,
  saltHex: string,
  dataText: string,
): string | null {
  if (saltHex.length !== 2 * SALT_BYTES) return null;
  const need = SALT_BYTES + 3 * dataText.length;
  if (need > scratch.length) scratch = Buffer.allocUnsafe(Math.max(need, 2 * scratch.length));
  // Buffer#write stops at the first non-hex pair: fewer than 32 bytes means it was not hex.
  if (scratch.write(saltHex, 0, 'hex') !== SALT_BYTES) return null;
  const n = scratch.write(dataText, SALT_BYTES, 'utf8');
  return oneShotHash(algorithm, scratch.subarray(0, SALT_BYTES + n), 'hex');
}
