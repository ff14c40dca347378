import type { SignatureRecord } from '../crypto/signatures/types.js';
import type { JsonObject } from '../encoding/canonical.js';
import { deepFreeze } from './freeze.js';
import { immutableDate } from './immutable-date.js';
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

/** Turn a stored row into the frozen `Entry` callers see. Throws on an unparseable row (verification reports it). */
export function decodeEntry(row: StoredEntry): Entry {
  const c = parseCommitment(row.body);
  if (c === null) throw new SyntaxError(`entry ${row.index} has a malformed stored commitment`);
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
    hash: row.hash.toString('hex'),
    dataDigest: c.dataDigest,
    salt: row.salt === null ? null : row.salt.toString('hex'),
    signature: signatures[0]?.value ?? null,
    signatures,
    redacted: row.data === null,
  };
  return deepFreeze(entry);
}
