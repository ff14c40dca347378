/**
 * The evidence bundle format (docs/BUNDLE.md is the normative description):
 *
 *   manifest.json    what the bundle claims: ledger identity, hash algorithm, size, file names
 *   entries.jsonl    one line per entry, index order, each line the RFC 8785 text of
 *                    {body, data, hash, id, index, salt, signatures} (the stored texts, verbatim)
 *   checkpoint       the C2SP signed checkpoint the entries are complete up to
 *   log.vkey         the log's C2SP verifier key (informational: auditors pin their own)
 *
 * Pure: parsing and formatting only, no file access.
 */
import { assertHashAlgorithm, type HashAlgorithm } from '../../crypto/hash.js';
import { isWellFormed } from '../../encoding/canonical.js';
import { parseJsonStrict } from '../../encoding/json.js';
import { FORMAT_VERSION } from '../../entry/commitment.js';
import type { StoredEntry } from '../../entry/types.js';
import { ValidationError } from '../../errors.js';

export const BUNDLE_FORMAT = 'signledger-bundle';
export const BUNDLE_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const ENTRIES_FILE = 'entries.jsonl';
export const CHECKPOINT_FILE = 'checkpoint';
export const VKEY_FILE = 'log.vkey';

/** manifest.json. Not signed: every claim in it is re-checked against the entries and the checkpoint. */
export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: typeof BUNDLE_VERSION;
  /** Entry format version (docs/FORMAT.md). */
  formatVersion: number;
  ledgerId: string;
  name: string;
  hashAlgorithm: HashAlgorithm;
  /** Checkpoint origin (the log key's name). */
  origin: string;
  /** Number of entries = the checkpoint's tree size. */
  size: number;
  /** RFC 9162 root at `size`, lowercase hex. */
  rootHash: string;
  createdAt: string;
  exportedAt: string;
  files: { entries: string; checkpoint: string; verifierKey: string };
}

/** One line of entries.jsonl, decoded. */
export interface BundleEntryLine {
  body: string;
  data: string | null;
  /** Lowercase hex of HASH(body). */
  hash: string;
  id: string;
  index: number;
  /** Lowercase hex, or null once redacted. */
  salt: string | null;
  signatures: string | null;
}

const HEX = /^[0-9a-f]*$/;
const TIMESTAMP_MEMBER = '"timestamp":"';

/**
 * The committed timestamp text: the body's last `"timestamp":"` member. Members are in canonical
 * order and only `type` and `v` follow it, while the metadata before it may hold a `timestamp` of
 * its own (a first-match search read that one).
 */
function committedTimestamp(body: string): string | null {
  const at = body.lastIndexOf(TIMESTAMP_MEMBER);
  if (at < 0) return null;
  const from = at + TIMESTAMP_MEMBER.length;
  const end = body.indexOf('"', from);
  return end < 0 ? null : body.slice(from, end);
}

function malformed(message: string, path?: string): ValidationError {
  return new ValidationError(`malformed bundle: ${message}`, path === undefined ? {} : { path });
}

function isHex(s: unknown): s is string {
  return typeof s === 'string' && s.length % 2 === 0 && HEX.test(s);
}

/** The exact text of one entries.jsonl line (RFC 8785: members in code-unit order, no whitespace). */
export function formatEntryLine(row: StoredEntry): string {
  // Members are listed in sorted order, so JSON.stringify emits the RFC 8785 form.
  return JSON.stringify({
    body: row.body,
    data: row.data,
    hash: row.hash.toString('hex'),
    id: row.id,
    index: row.index,
    salt: row.salt === null ? null : row.salt.toString('hex'),
    signatures: row.signatures,
  } satisfies BundleEntryLine);
}

/**
 * Decode one entries.jsonl line into the stored row it came from, or return why it is malformed.
 * The line must be exactly its canonical form: no duplicate or extra members, no other spacing, so
 * every reader of the file sees the same values.
 */
export function parseEntryLine(line: string): StoredEntry | string {
  let o: Partial<Record<keyof BundleEntryLine, unknown>>;
  try {
    o = JSON.parse(line) as typeof o;
  } catch {
    return 'the line is not JSON';
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return 'the line is not a JSON object';
  const { body, data, hash, id, index, salt, signatures } = o;
  if (typeof body !== 'string' || !isWellFormed(body)) return '"body" must be a well-formed string';
  if (data !== null && (typeof data !== 'string' || !isWellFormed(data)))
    return '"data" must be a string or null';
  if (!isHex(hash) || hash.length === 0) return '"hash" must be lowercase hex';
  if (typeof id !== 'string' || !isWellFormed(id)) return '"id" must be a string';
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0)
    return '"index" must be a non-negative integer';
  if (salt !== null && !isHex(salt)) return '"salt" must be lowercase hex or null';
  if (signatures !== null && (typeof signatures !== 'string' || !isWellFormed(signatures))) {
    return '"signatures" must be a string or null';
  }
  const canonical = JSON.stringify({ body, data, hash, id, index, salt, signatures });
  if (canonical !== line)
    return 'the line is not in canonical form (extra, duplicate or reordered members, or whitespace)';
  const ts = committedTimestamp(body);
  return {
    index,
    id,
    // Mirrors the committed timestamp; the verifier re-checks it against the parsed body.
    timestampMs: ts !== null ? Date.parse(ts) : Number.NaN,
    hash: Buffer.from(hash, 'hex'),
    body,
    data: data as string | null,
    salt: salt === null ? null : Buffer.from(salt as string, 'hex'),
    signatures: signatures as string | null,
  };
}

/** Parse and shape-check manifest.json. Throws ValidationError ("malformed bundle: …"). */
export function parseManifest(text: string): BundleManifest {
  let v: unknown;
  try {
    v = parseJsonStrict(text);
  } catch (err) {
    throw malformed(`manifest.json is not valid JSON (${(err as Error).message})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw malformed('manifest.json is not a JSON object');
  const m = v as Record<string, unknown>;
  if (m.format !== BUNDLE_FORMAT)
    throw malformed(`manifest.json is not a ${BUNDLE_FORMAT} manifest`, '/format');
  if (m.version !== BUNDLE_VERSION)
    throw malformed(`unsupported bundle version ${JSON.stringify(m.version)}`, '/version');
  const str = (k: string): string => {
    if (typeof m[k] !== 'string' || (m[k] as string).length === 0)
      throw malformed(`manifest "${k}" must be a non-empty string`, `/${k}`);
    return m[k] as string;
  };
  const int = (k: string): number => {
    const x = m[k];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)
      throw malformed(`manifest "${k}" must be a non-negative integer`, `/${k}`);
    return x;
  };
  let hashAlgorithm: HashAlgorithm;
  try {
    hashAlgorithm = assertHashAlgorithm(m.hashAlgorithm);
  } catch {
    throw malformed(
      `manifest "hashAlgorithm" ${JSON.stringify(m.hashAlgorithm)} is not supported`,
      '/hashAlgorithm',
    );
  }
  const rootHash = str('rootHash');
  if (!isHex(rootHash) || rootHash.length !== 64)
    throw malformed('manifest "rootHash" must be 64 lowercase hex digits', '/rootHash');
  const f = m.files as Record<string, unknown> | null;
  if (f === null || typeof f !== 'object' || Array.isArray(f))
    throw malformed('manifest "files" must be an object', '/files');
  const file = (k: string): string => {
    const name = f[k];
    // Plain file names only: a manifest must not point outside its bundle directory.
    if (typeof name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..') {
      throw malformed(`manifest "files.${k}" must be a plain file name`, `/files/${k}`);
    }
    return name;
  };
  // Entries of another format version would be read by rules this verifier does not know.
  const formatVersion = int('formatVersion');
  if (formatVersion !== FORMAT_VERSION) {
    throw malformed(
      `the bundle's entries use format version ${formatVersion}; this verifier knows version ${FORMAT_VERSION}`,
      '/formatVersion',
    );
  }
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    formatVersion,
    ledgerId: ledgerIdOf(str('ledgerId')),
    name: str('name'),
    hashAlgorithm,
    origin: str('origin'),
    size: int('size'),
    rootHash,
    createdAt: str('createdAt'),
    exportedAt: str('exportedAt'),
    files: { entries: file('entries'), checkpoint: file('checkpoint'), verifierKey: file('verifierKey') },
  };
}

/** Ledger ids are lowercase UUIDs (docs/FORMAT.md §1): they are spliced into every commitment. */
const LEDGER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function ledgerIdOf(id: string): string {
  if (!LEDGER_ID.test(id)) throw malformed('manifest "ledgerId" must be a lowercase UUID', '/ledgerId');
  return id;
}

/** manifest.json text: RFC 8785 JSON plus a final newline. */
export function formatManifest(m: BundleManifest): string {
  const sorted = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [
          k,
          o[k] !== null && typeof o[k] === 'object' ? sorted(o[k] as Record<string, unknown>) : o[k],
        ]),
    );
  return `${JSON.stringify(sorted(m as unknown as Record<string, unknown>))}\n`;
}
