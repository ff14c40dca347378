/** Document shapes and the conversion of stored entries and structured queries to MongoDB. */
import type { StoredEntry } from '../../entry/types.js';
import { ValidationError } from '../../errors.js';
import { parseWherePath } from '../../storage/where.js';

const COLLECTION_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export function assertCollectionName(name: string, what = 'collection'): string {
  if (typeof name !== 'string' || !COLLECTION_RE.test(name)) {
    throw new ValidationError(
      `invalid MongoDB ${what} name ${JSON.stringify(name)}: use 1-64 of [A-Za-z0-9_], starting with a letter`,
      {
        path: `/${what}`,
      },
    );
  }
  return name;
}

export interface EntryDoc {
  /** Ledger name. */
  l: string;
  i: number;
  id: string;
  ts: number;
  h: Buffer;
  /** Exact texts: hashes are over these bytes. */
  b: string;
  d: string | null;
  s: Buffer | null;
  g: string | null;
  /** Parsed copies used only for native queries (null when the JSON has keys BSON cannot hold). */
  q: { data: unknown; metadata: unknown } | null;
}

function bsonSafe(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(bsonSafe);
  if (v !== null && typeof v === 'object') {
    return Object.entries(v).every(([k, x]) => !k.includes('\u0000') && bsonSafe(x));
  }
  return true;
}

function metadataOf(body: string): unknown {
  return (JSON.parse(body) as { metadata?: unknown }).metadata ?? {};
}

export function toDoc(ledger: string, e: StoredEntry): EntryDoc {
  let q: EntryDoc['q'] = null;
  const data = e.data === null ? null : (JSON.parse(e.data) as unknown);
  const metadata = metadataOf(e.body);
  if (bsonSafe(data) && bsonSafe(metadata)) q = { data, metadata };
  return {
    l: ledger,
    i: e.index,
    id: e.id,
    ts: e.timestampMs,
    h: e.hash,
    b: e.body,
    d: e.data,
    s: e.salt,
    g: e.signatures,
    q,
  };
}

function buf(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  const b = v as { buffer?: Uint8Array };
  if (b && b.buffer instanceof Uint8Array) return Buffer.from(b.buffer);
  if (v instanceof Uint8Array) return Buffer.from(v);
  throw new TypeError('expected binary data');
}

export function fromDoc(d: EntryDoc): StoredEntry {
  return {
    index: d.i,
    id: d.id,
    timestampMs: d.ts,
    hash: buf(d.h),
    body: d.b,
    data: d.d ?? null,
    salt: d.s === null || d.s === undefined ? null : buf(d.s),
    signatures: d.g ?? null,
  };
}

export { buf as toBuffer };

/**
 * `where` → a MongoDB filter on the parsed copies. Paths are validated first; segments that start
 * with `$` are read with $getField instead of a dotted path, so nothing user-given becomes an operator.
 * Scalars match exactly: not array members (`$not: {$type: 'array'}`), and null only an explicit null.
 */
export function whereFilter(
  where: Record<string, string | number | boolean | null>,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const [path, value] of Object.entries(where)) {
    const p = parseWherePath(path);
    const segs = ['q', p.root, ...p.segments];
    if (segs.every((s) => !s.startsWith('$'))) {
      const cond = value === null ? { $type: 'null' } : { $eq: value, $not: { $type: 'array' } };
      out.push({ [segs.join('.')]: cond });
    } else {
      let expr: unknown = '$$ROOT';
      for (const s of segs) expr = { $getField: { field: { $literal: s }, input: expr } };
      out.push({
        $expr:
          value === null
            ? { $eq: [{ $type: expr }, 'null'] }
            : { $and: [{ $eq: [expr, { $literal: value }] }, { $ne: [{ $type: expr }, 'array'] }] },
      });
    }
  }
  return out;
}
