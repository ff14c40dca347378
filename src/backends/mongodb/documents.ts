/**
 * Document shapes and the pure conversions of the MongoDB backend: stored entries ↔ documents, the
 * document size guard, and structured queries → candidate filters. Nothing here talks to a server,
 * so all of it is unit-tested without one (test/backends/mongodb-*.test.ts).
 */
import { decodeEntry } from '../../entry/decode.js';
import type { StoredEntry } from '../../entry/types.js';
import { ValidationError } from '../../errors.js';
import { parseWherePath, readPath, type WherePath } from '../../storage/where.js';

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

/** Database used when neither the `database` option nor the connection string names one. */
export const DEFAULT_DATABASE = 'signledger';

/**
 * The database path of a MongoDB connection string (`mongodb://h1,h2:27017/audit_db?…` → `audit_db`),
 * or undefined when it has none. Parsed by hand: multi-host strings are not WHATWG URLs.
 */
export function databaseFromUrl(url: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/(?:[^@/?#]*@)?[^/?#@]*(\/[^?#]*)?/i.exec(url);
  const path = m?.[1];
  if (!path || path === '/') return undefined;
  let name: string;
  try {
    name = decodeURIComponent(path.slice(1));
  } catch {
    throw new ValidationError(`invalid database path in the MongoDB URL: ${JSON.stringify(path)}`, {
      path: '/url',
    });
  }
  return name === '' ? undefined : name;
}

/** `database` option, else the URL's database path, else `signledger` (never the driver's `test`). */
export function resolveDatabaseName(options: { database?: string; url?: string }): string {
  const name =
    options.database ??
    (typeof options.url === 'string' ? databaseFromUrl(options.url) : undefined) ??
    DEFAULT_DATABASE;
  return assertCollectionName(name, 'database');
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
  /**
   * Parsed copies used only to narrow native queries; null when the JSON cannot be stored faithfully
   * as BSON (see bsonSafe) or the document would be too large with it. Query results are always
   * re-checked against `b`/`d`, so `q` only decides which rows are read, never what matches.
   */
  q: { data: unknown; metadata: unknown } | null;
}

/**
 * Deepest container nesting allowed inside `q.data` / `q.metadata`. MongoDB refuses documents nested
 * deeper than 100 levels; the document and `q` add two, and this leaves a margin.
 */
export const MAX_QUERY_COPY_DEPTH = 90;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether a parsed JSON value can be stored as BSON and read back by `where` exactly as JSON has it.
 * Unsafe: a key with NUL (BSON keys are C strings), a key with a lone surrogate (UTF-8 encoding maps
 * different keys to the same bytes, so keys could merge), an object with an own `_bsontype` key (the
 * serializer takes it for a BSON value and throws, which would fail the whole group), and nesting
 * deeper than MAX_QUERY_COPY_DEPTH. Keys starting with `$` or containing `.` are safe: MongoDB ≥ 5.0
 * stores them in inserts and `where` reads them with $getField.
 */
export function bsonSafe(v: unknown, depth = 0): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (depth >= MAX_QUERY_COPY_DEPTH) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!bsonSafe(x, depth + 1)) return false;
    return true;
  }
  if (Object.hasOwn(v, '_bsontype')) return false;
  for (const [k, x] of Object.entries(v)) {
    if (k.includes('\u0000') || LONE_SURROGATE.test(k)) return false;
    if (!bsonSafe(x, depth + 1)) return false;
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

/** MongoDB's default maxBsonObjectSize (the server reports its own in `hello`). */
export const DEFAULT_MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
/** Room left for the `_id` the driver adds (ObjectId) and rounding. */
const ID_ALLOWANCE = 64;

/**
 * An upper bound on a document's BSON size computed from string lengths alone, so the exact size is
 * only computed for large entries. Texts: at most 3 UTF-8 bytes per UTF-16 unit. The parsed copy:
 * at most 8× the UTF-8 bytes of the JSON it came from (worst case: arrays of one-digit numbers,
 * `"0,"` → type, index key, NUL, int32), and `b` holds the metadata text, `d` the data text.
 */
export function docSizeUpperBound(doc: EntryDoc): number {
  const texts = doc.b.length + (doc.d?.length ?? 0);
  const other = (doc.g?.length ?? 0) + doc.id.length + doc.l.length;
  return 3 * (9 * texts + other) + 1024;
}

/**
 * The 16 MiB document limit: a document holds the body text, the data text and the parsed copy `q`.
 * Returns the document as is when it fits, without `q` when only that fits (the entry stays queryable,
 * read and checked in JS), and throws ValidationError TOO_LARGE when even the texts do not fit
 * (raise no `maxEntryBytes` above ~15 MiB with this backend). Nothing is sent before this check.
 */
export function fitDocument(
  doc: EntryDoc,
  maxBsonObjectSize: number,
  sizeOf: (doc: EntryDoc) => number,
): EntryDoc {
  const limit = maxBsonObjectSize - ID_ALLOWANCE;
  if (docSizeUpperBound(doc) <= limit) return doc;
  if (doc.q !== null && sizeOf(doc) <= limit) return doc;
  const lean: EntryDoc = doc.q === null ? doc : { ...doc, q: null };
  const size = sizeOf(lean);
  if (size <= limit) return lean;
  throw new ValidationError(
    `entry ${doc.i} needs a ${size}-byte MongoDB document (body, data and signatures), over the server's limit of ${maxBsonObjectSize} bytes: lower maxEntryBytes`,
    { code: 'TOO_LARGE', path: '' },
  );
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

export type WhereValue = string | number | boolean | null;

/**
 * One `where` equality as an aggregation expression with exactly the semantics of readPath: every
 * proper prefix must be an object (not an array: `$type` of an array is 'array'), the field must be
 * present, and the value must equal the scalar (null: an explicit null, not a missing field).
 *
 * Built from $getField (never dotted paths: no implicit array traversal, numeric segments are field
 * names, `$`/`.` in names are literal) over `$let`-bound variables, with each input replaced by `{}`
 * when it is not an object, so $getField never sees a non-object (it would raise an error) and a
 * missing step yields "missing" rather than null. Depth: 3 BSON levels per segment (≤ 17 segments).
 */
export function pathEqualsExpr(p: WherePath, value: WhereValue): Record<string, unknown> {
  let v: unknown = '$q';
  const segs = [p.root, ...p.segments];
  segs.forEach((seg, k) => {
    const name = `p${k}`;
    v = {
      $let: {
        vars: { [name]: v },
        in: {
          $getField: {
            field: { $literal: seg },
            input: { $cond: [{ $eq: [{ $type: `$$${name}` }, 'object'] }, `$$${name}`, { $literal: {} }] },
          },
        },
      },
    };
  });
  return value === null ? { $eq: [{ $type: v }, 'null'] } : { $eq: [v, { $literal: value }] };
}

/**
 * `where` → the candidate filter the database applies (null: no `where`). Candidates are the entries
 * whose parsed copy matches exactly, plus every entry without a parsed copy (`q: null`: its JSON
 * could not be stored faithfully, or it was too large), which the database cannot judge. The backend
 * then checks each candidate with `matchesWhere` and applies offset/limit itself, so the answer is
 * exact whatever the candidates; the database only narrows the rows read. Paths are validated by
 * parseWherePath and every user string is wrapped in $literal, so nothing user-given is an operator.
 */
export function whereFilter(where: Record<string, WhereValue>): Record<string, unknown> | null {
  const conds = Object.entries(where).map(([path, value]) => pathEqualsExpr(parseWherePath(path), value));
  if (conds.length === 0) return null;
  return { $or: [{ q: null }, { $expr: conds.length === 1 ? conds[0] : { $and: conds } }] };
}

export interface WhereCondition {
  path: WherePath;
  value: WhereValue;
}

export function whereConditions(where: Record<string, WhereValue>): WhereCondition[] {
  return Object.entries(where).map(([path, value]) => ({ path: parseWherePath(path), value }));
}

/**
 * The ledger's own `where` semantics (decodeEntry + readPath + ===) on a stored row. A row that does
 * not decode is kept: the ledger then reports it exactly as it would without a database filter.
 */
export function matchesWhere(row: StoredEntry, conds: readonly WhereCondition[]): boolean {
  let data: unknown;
  let metadata: unknown;
  try {
    const e = decodeEntry(row);
    data = e.data;
    metadata = e.metadata;
  } catch {
    return true;
  }
  return conds.every((c) => readPath(c.path.root === 'data' ? data : metadata, c.path.segments) === c.value);
}
