import type { SignatureRecord } from '../crypto/signatures/types.js';
import type { JsonObject } from '../encoding/canonical.js';
import { ALNUM, charTest } from '../encoding/safe-chars.js';
import { IntegrityError, SignLedgerError } from '../errors.js';
import { deepFreeze } from './freeze.js';
import { immutableDate } from './immutable-date.js';
import { HexStoredEntry, storedHashHex, storedSaltHex } from './stored-row.js';
import { isoTimestamp } from './timestamp.js';
import type { Entry, EntryType, StoredEntry } from './types.js';

/** The commitment as parsed back from its stored text. */
export interface ParsedCommitment {
  dataDigest: string;
  id: string;
  index: number;
  ledger: string;
  metadata: JsonObject;
  prev: string | null;
  timestamp: string;
  type: EntryType;
  v: 1;
}

const HEX = /^[0-9a-f]+$/;
const KEYS = ['dataDigest', 'id', 'index', 'ledger', 'metadata', 'prev', 'timestamp', 'type', 'v'];

/** Parse and shape-check a stored commitment; returns null (never throws) for anything malformed. */
export function parseCommitment(body: string): ParsedCommitment | null {
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const c = o as Record<string, unknown>;
  const keys = Object.keys(c);
  if (keys.length !== KEYS.length) return null;
  for (const k of KEYS) if (!(k in c)) return null;
  if (c.v !== 1) return null;
  if (typeof c.dataDigest !== 'string' || !HEX.test(c.dataDigest)) return null;
  if (typeof c.id !== 'string' || typeof c.ledger !== 'string' || typeof c.timestamp !== 'string')
    return null;
  if (typeof c.index !== 'number' || !Number.isSafeInteger(c.index) || c.index < 0) return null;
  if (c.prev !== null && (typeof c.prev !== 'string' || !HEX.test(c.prev))) return null;
  if (c.type !== 'event' && c.type !== 'redaction') return null;
  if (typeof c.metadata !== 'object' || c.metadata === null || Array.isArray(c.metadata)) return null;
  return c as unknown as ParsedCommitment;
}

export function parseSignatures(text: string | null): SignatureRecord[] {
  if (text === null) return [];
  const arr = JSON.parse(text) as SignatureRecord[];
  return arr;
}

/**
 * Turn a stored row into the frozen `Entry` callers see. A row that cannot be parsed (edited behind
 * the library's back) throws IntegrityError `malformed_entry`; verify() names the damage precisely.
 */
export function decodeEntry(row: StoredEntry): Entry {
  try {
    return decodeFast(row) ?? decodeParsed(row);
  } catch (err) {
    if (err instanceof SignLedgerError) throw err;
    throw malformed(row, err);
  }
}

function malformed(row: StoredEntry, cause?: unknown): IntegrityError {
  return new IntegrityError(
    {
      kind: 'malformed_entry',
      index: row.index,
      ...(typeof row.id === 'string' ? { id: row.id } : {}),
      message: `entry ${row.index} cannot be read: its stored row is malformed (run verify() for details)`,
    },
    cause === undefined ? {} : { cause },
  );
}

function decodeParsed(row: StoredEntry): Entry {
  const c = parseCommitment(row.body);
  if (c === null) throw malformed(row);
  const signatures = parseSignatures(row.signatures);
  const data = row.data === null ? null : (JSON.parse(row.data) as JsonObject);
  const entry: Entry = {
    id: c.id,
    ledgerId: c.ledger,
    index: c.index,
    timestamp: immutableDate(Date.parse(c.timestamp)),
    type: c.type,
    data,
    metadata: c.metadata,
    previousHash: c.prev,
    hash: storedHashHex(row) ?? row.hash.toString('hex'),
    dataDigest: c.dataDigest,
    salt: storedSaltHex(row),
    signature: signatures[0]?.value ?? null,
    signatures,
    redacted: row.data === null,
  };
  return deepFreeze(entry);
}

/** Strings the fast path takes verbatim from the text (1-128 of [0-9A-Za-z._:-]): nothing JSON would escape. */
const isSafe = charTest(`${ALNUM}._:-`, 128);

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const NOT_HEX = new Uint8Array(128).fill(1);
for (let c = 0x30; c <= 0x39; c++) NOT_HEX[c] = 0;
for (let c = 0x61; c <= 0x66; c++) NOT_HEX[c] = 0;

/** Lowercase hex, non-empty; branch-free per character (random hex defeats branch prediction). */
function isHex(s: string): boolean {
  const n = s.length;
  let bad = n === 0 ? 1 : 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    bad |= NOT_HEX[c & 0x7f]! | (c >>> 7);
  }
  return bad === 0;
}

const NO_METADATA: JsonObject = Object.freeze({});
const NO_SIGNATURES: readonly SignatureRecord[] = Object.freeze([]);
let lastIso = '';
let lastMs = Number.NaN;
// The previous decoded row's hash (known hex) and ledger id (known safe), for framePredicted.
let lastHash = '';
let lastLedger = '';

/**
 * Whether `text` holds `piece` at `pos`. startsWith compares character by character (a matching
 * 64-character hash: ~250 ns, measured); a slice compared with === takes ~50 ns. Short pieces
 * (copied, not sliced, by V8) stay with startsWith.
 */
function has(text: string, piece: string, pos: number): boolean {
  return piece.length < 16 ? text.startsWith(piece, pos) : text.slice(pos, pos + piece.length) === piece;
}

/** Position after `piece` if `text` has it at `pos`, else -1 (and -1 stays -1). */
function after(text: string, piece: string, pos: number): number {
  return pos >= 0 && has(text, piece, pos) ? pos + piece.length : -1;
}

/** Position before `piece` if `text` has it ending at `end`, else -1 (and -1 stays -1). */
function before(text: string, piece: string, end: number): number {
  const at = end - piece.length;
  return end >= 0 && end <= text.length && at >= 0 && has(text, piece, at) ? at : -1;
}

/** Where the metadata lies in a commitment text, and the fields around it. */
interface Frame {
  ledger: string;
  metaStart: number;
  metaEnd: number;
  prev: string | null;
  type: EntryType;
  iso: string;
}

const frame: Frame = { ledger: '', metaStart: 0, metaEnd: 0, prev: null, type: 'event', iso: '' };

/**
 * Rows read in order are predictable: the ledger id repeats, `prev` is the previous row's hash and
 * the timestamp is the `ts` column's. The text around the metadata is then built from those and
 * compared as two strings (~2x cheaper than piece by piece). False when the prediction fails.
 */
function framePredicted(body: string, id: string, index: number, ms: number, q: number): boolean {
  if (lastLedger === '' || lastHash === '' || !Number.isSafeInteger(ms) || Math.abs(ms) > 8.64e15)
    return false;
  const mid = '","id":"' + id + '","index":' + index + ',"ledger":"' + lastLedger + '","metadata":';
  if (body.slice(q, q + mid.length) !== mid) return false;
  const iso = isoTimestamp(ms);
  const last = body.charCodeAt(body.length - 9);
  const type: EntryType = last === 0x74 ? 'event' : 'redaction';
  const suffix = ',"prev":"' + lastHash + '","timestamp":"' + iso + '","type":"' + type + '","v":1}';
  const metaEnd = body.length - suffix.length;
  if (iso.length !== 24 || metaEnd < q + mid.length || body.slice(metaEnd) !== suffix) return false;
  frame.ledger = lastLedger;
  frame.metaStart = q + mid.length;
  frame.metaEnd = metaEnd;
  frame.prev = lastHash;
  frame.type = type;
  frame.iso = iso;
  return true;
}

/** The same fields found piece by piece, each checked to be what JSON.parse would read there. */
function frameParsed(body: string, id: string, index: number, q: number): boolean {
  let p = after(body, '","id":"', q);
  p = after(body, id, p);
  p = after(body, '","index":', p);
  p = after(body, String(index), p);
  p = after(body, ',"ledger":"', p);
  if (p < 0) return false;
  const lq = body.indexOf('"', p);
  if (lq < 0) return false;
  const ledger = body.slice(p, lq);
  if (!isSafe(ledger)) return false;
  const metaStart = after(body, '","metadata":', lq);
  if (metaStart < 0) return false;
  let e = before(body, '","v":1}', body.length);
  let type: EntryType = 'event';
  let t = before(body, 'event', e);
  if (t < 0) {
    type = 'redaction';
    t = before(body, 'redaction', e);
  }
  e = before(body, '","type":"', t);
  if (e < 24) return false;
  const iso = body.slice(e - 24, e);
  if (!ISO.test(iso)) return false;
  e = before(body, ',"timestamp":"', e - 24);
  let prev: string | null = null;
  if (e >= 4 && body.endsWith('null', e)) {
    e -= 4;
  } else if (e >= 2 && body.charCodeAt(e - 1) === 0x22) {
    const pq = body.lastIndexOf('"', e - 2);
    if (pq < 0) return false;
    prev = body.slice(pq + 1, e - 1);
    if (!isHex(prev)) return false;
    e = pq;
  } else {
    return false;
  }
  e = before(body, ',"prev":', e);
  if (e < metaStart) return false;
  frame.ledger = ledger;
  frame.metaStart = metaStart;
  frame.metaEnd = e;
  frame.prev = prev;
  frame.type = type;
  frame.iso = iso;
  return true;
}

/**
 * The common case without parsing the commitment: its layout is fixed (docs/FORMAT.md §2.1), so
 * the fields are taken from around the metadata, which alone is parsed. Anything unexpected
 * (escapes, spacing, odd values) returns null and takes the parser. The index and id must equal
 * their columns (they always do unless tampered).
 */
function decodeFast(row: StoredEntry): Entry | null {
  const body = row.body;
  const id = row.id;
  const index = row.index;
  if (typeof body !== 'string' || typeof id !== 'string' || !Number.isSafeInteger(index) || index < 0)
    return null;
  if (!body.startsWith('{"dataDigest":"')) return null;
  const q = body.indexOf('"', 15);
  if (q < 0) return null;
  const dataDigest = body.slice(15, q);
  if (!isHex(dataDigest) || !isSafe(id)) return null;
  if (!framePredicted(body, id, index, row.timestampMs, q) && !frameParsed(body, id, index, q)) return null;
  const { metaStart, metaEnd } = frame;
  if (metaEnd - metaStart < 2) return null;
  const iso = frame.iso;
  let ms = lastMs;
  if (iso !== lastIso) {
    ms = Date.parse(iso);
    lastIso = iso;
    lastMs = ms;
  }
  let metadata = NO_METADATA;
  if (
    metaEnd - metaStart !== 2 ||
    body.charCodeAt(metaStart) !== 0x7b ||
    body.charCodeAt(metaStart + 1) !== 0x7d
  ) {
    let m: unknown;
    try {
      m = JSON.parse(body.slice(metaStart, metaEnd));
    } catch {
      return null;
    }
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return null;
    metadata = deepFreeze(m as JsonObject);
  }
  const ledger = frame.ledger;
  lastLedger = ledger;
  const hash = storedHashHex(row) ?? row.hash.toString('hex');
  // HexStoredEntry hashes come from SQLite's hex(): hex by construction.
  lastHash = (row instanceof HexStoredEntry ? hash.length > 0 : isHex(hash)) ? hash : '';
  const signatures = row.signatures === null ? NO_SIGNATURES : deepFreeze(parseSignatures(row.signatures));
  const data = row.data === null ? null : deepFreeze(JSON.parse(row.data) as JsonObject);
  return Object.freeze({
    id,
    ledgerId: ledger,
    index,
    timestamp: immutableDate(ms),
    type: frame.type,
    data,
    metadata,
    previousHash: frame.prev,
    hash,
    dataDigest,
    salt: storedSaltHex(row),
    signature: signatures[0]?.value ?? null,
    signatures,
    redacted: row.data === null,
  });
}
