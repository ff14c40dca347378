/**
 * MongoDB backend, pure parts, no server: documents and their BSON serialization with the `bson`
 * the driver bundles, the size guard, and database name resolution. These do NOT show the backend
 * works against a server; only the conformance suite with SIGNLEDGER_TEST_MONGODB_URL does that.
 */
import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  bsonSafe,
  DEFAULT_MAX_BSON_OBJECT_SIZE,
  databaseFromUrl,
  docSizeUpperBound,
  type EntryDoc,
  fitDocument,
  fromDoc,
  MAX_QUERY_COPY_DEPTH,
  resolveDatabaseName,
  toDoc,
} from '../../src/backends/mongodb/documents.js';
import { MongoDBBackend } from '../../src/backends/mongodb/index.js';
import type { StoredEntry } from '../../src/entry/types.js';
import { ValidationError } from '../../src/errors.js';

function body(metadata: string): string {
  return `{"dataDigest":"ab","id":"x","index":0,"ledger":"l","metadata":${metadata},"prev":null,"timestamp":"2024-01-01T00:00:00.000Z","type":"event","v":1}`;
}

function entry(data: string | null, metadata = '{}', index = 0): StoredEntry {
  return {
    index,
    id: `id-${index}`,
    timestampMs: 1_700_000_000_000 + index,
    hash: Buffer.alloc(32, 7),
    body: body(metadata),
    data,
    salt: Buffer.alloc(32, 9),
    signatures: null,
  };
}

/** What an insert would do to the document: serialize it the way the driver does. */
function roundTrip(doc: EntryDoc): EntryDoc {
  return BSON.deserialize(BSON.serialize(doc), { promoteBuffers: true }) as unknown as EntryDoc;
}

describe('bsonSafe and the parsed copy q', () => {
  it.each([
    ['own _bsontype at the top', '{"_bsontype":"ObjectId","x":1}'],
    ['own _bsontype nested', '{"a":{"b":[{"_bsontype":"Long"}]}}'],
    ['_bsontype with a null value', '{"a":{"_bsontype":null}}'],
    ['_bsontype with a non-string value', '{"a":{"_bsontype":5}}'],
    ['a NUL in a key', '{"a\\u0000b":1}'],
    ['a lone surrogate in a key', '{"\\ud800":1}'],
  ])('treats %s as unsafe: q is null and the entry still serializes', (_what, data) => {
    const parsed = JSON.parse(data) as unknown;
    expect(bsonSafe(parsed)).toBe(false);
    const doc = toDoc('l', entry(data));
    expect(doc.q).toBeNull();
    const back = roundTrip(doc);
    expect(back.d).toBe(data);
    expect(fromDoc(back)).toEqual(entry(data));
  });

  it('the serializer really does throw on those objects (why they are unsafe)', () => {
    expect(() => BSON.serialize({ q: JSON.parse('{"a":{"_bsontype":"ObjectId"}}') })).toThrow();
    expect(() => BSON.serialize({ q: JSON.parse('{"a":{"_bsontype":5}}') })).toThrow();
    expect(() => BSON.serialize({ q: JSON.parse('{"a\\u0000":1}') })).toThrow();
  });

  it('unsafe metadata also drops q', () => {
    const doc = toDoc('l', entry('{"a":1}', '{"m":{"_bsontype":"Binary"}}'));
    expect(doc.q).toBeNull();
    expect(() => BSON.serialize(doc)).not.toThrow();
  });

  it('keeps q, faithfully, for $-prefixed, dotted, numeric, __proto__ and odd keys', () => {
    const data =
      '{"$where":"x","a.b":{"$gt":1},"0":[1,{"1":2}],"__proto__":{"p":1},"toBSON":"no","_bsontypes":1,"":null,"s":"\\u0000\\ud800"}';
    expect(bsonSafe(JSON.parse(data))).toBe(true);
    const doc = toDoc('l', entry(data, '{"k":{"$inc":true,"$id":"h","$db":"n"}}'));
    expect(doc.q).not.toBeNull();
    const back = roundTrip(doc);
    const q = back.q as { data: Record<string, unknown>; metadata: Record<string, unknown> };
    expect(Object.keys(q.data)).toEqual(Object.keys(JSON.parse(data)));
    expect(q.data['$where']).toBe('x');
    expect(q.data['a.b']).toEqual({ $gt: 1 });
    expect(Object.hasOwn(q.data, '__proto__')).toBe(true);
    expect(q.metadata).toEqual({ k: { $inc: true, $id: 'h', $db: 'n' } });
    expect(back.d).toBe(data);
  });

  it('limits nesting depth (MongoDB refuses documents nested past 100 levels)', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(bsonSafe(JSON.parse(`{"a":${deep(MAX_QUERY_COPY_DEPTH - 2)}}`))).toBe(true);
    expect(bsonSafe(JSON.parse(`{"a":${deep(MAX_QUERY_COPY_DEPTH)}}`))).toBe(false);
    expect(toDoc('l', entry(`{"a":${deep(200)}}`)).q).toBeNull();
  });

  it('redacted entries (data null) keep q with data null', () => {
    const doc = toDoc('l', entry(null, '{"c":"x"}'));
    expect(doc.q).toEqual({ data: null, metadata: { c: 'x' } });
    expect(fromDoc(roundTrip(doc))).toEqual(entry(null, '{"c":"x"}'));
  });
});

describe('document size guard', () => {
  const sizeOf = (d: EntryDoc) => BSON.calculateObjectSize(d as unknown as BSON.Document);

  it('the quick upper bound is an upper bound, including adversarial JSON', () => {
    const cases = [
      `{"a":[${Array(5000).fill('0').join(',')}]}`,
      `{"a":[${Array(3000).fill('-0').join(',')}]}`,
      `{"a":[${Array(3000).fill('1.5').join(',')}]}`,
      `{"a":[${Array(3000).fill('[]').join(',')}]}`,
      `{"a":[${Array(3000).fill('""').join(',')}]}`,
      `{"a":[${Array(3000).fill('{}').join(',')}]}`,
      `{"a":[${Array(3000).fill('null').join(',')}]}`,
      `{"a":${'['.repeat(60)}${']'.repeat(60)}}`,
      `{"a":"${'\\u0001'.repeat(1000)}","b":"${'é'.repeat(1000)}","c":"${'😀'.repeat(500)}"}`,
      `{${Array.from({ length: 2000 }, (_, i) => `"k${i}":${i}`).join(',')}}`,
    ];
    for (const data of cases) {
      const doc = toDoc('ledger_name', entry(data, `{"m":${data}}`));
      expect(doc.q).not.toBeNull();
      expect(sizeOf(doc)).toBeLessThanOrEqual(docSizeUpperBound(doc));
    }
    // Random JSON values.
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const gen = (d: number): unknown => {
      const r = rnd();
      if (d > 5 || r < 0.3) return [0, -0, 1.5, 2 ** 40, '', 'x', true, null][Math.floor(rnd() * 8)];
      if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 6) }, () => gen(d + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(rnd() * 6) }, (_, i) => [`k${i}`, gen(d + 1)]),
      );
    };
    for (let n = 0; n < 300; n++) {
      const data = JSON.stringify({ v: gen(0) });
      const doc = toDoc('l', entry(data));
      expect(sizeOf(doc)).toBeLessThanOrEqual(docSizeUpperBound(doc));
    }
  });

  it('keeps small documents as they are without computing their size', () => {
    const doc = toDoc('l', entry('{"a":1}'));
    expect(fitDocument(doc, DEFAULT_MAX_BSON_OBJECT_SIZE, () => Number.POSITIVE_INFINITY)).toBe(doc);
  });

  it('drops q when only the parsed copy does not fit, and the entry still stores', () => {
    const data = `{"a":[${Array(20_000).fill('0').join(',')}]}`;
    const doc = toDoc('l', entry(data));
    const full = sizeOf(doc);
    const lean = sizeOf({ ...doc, q: null });
    const max = Math.floor((full + lean) / 2) + 64;
    const fitted = fitDocument(doc, max, sizeOf);
    expect(fitted.q).toBeNull();
    expect(fitted.d).toBe(data);
    expect(sizeOf(fitted)).toBeLessThanOrEqual(max);
    expect(fitDocument(doc, full + 64, sizeOf)).toBe(doc);
  });

  it('rejects with ValidationError TOO_LARGE, before sending, when the texts alone do not fit', () => {
    const data = JSON.stringify({ a: 'x'.repeat(20_000) });
    const doc = toDoc('l', entry(data));
    let err: unknown;
    try {
      fitDocument(doc, 10_000, sizeOf);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('TOO_LARGE');
    expect((err as Error).message).toMatch(/maxEntryBytes/);
  });
});

describe('database name', () => {
  it.each([
    ['mongodb://h:27017/audit_db?replicaSet=rs0', 'audit_db'],
    ['mongodb://u:p%2F@h1:1,h2:2/audit_db?replicaSet=rs0', 'audit_db'],
    ['mongodb+srv://cluster.example/audit_db', 'audit_db'],
    ['mongodb://h:27017/', undefined],
    ['mongodb://h:27017', undefined],
    ['mongodb://h:27017/?replicaSet=rs0', undefined],
    ['mongodb://h1,h2/?authSource=admin', undefined],
  ])('reads the database path of %s', (url, db) => {
    expect(databaseFromUrl(url)).toBe(db);
  });

  it('uses the option, else the URL, else signledger (never the driver default "test")', () => {
    expect(resolveDatabaseName({})).toBe('signledger');
    expect(resolveDatabaseName({ url: 'mongodb://h/?replicaSet=rs0' })).toBe('signledger');
    expect(resolveDatabaseName({ url: 'mongodb://h/audit?replicaSet=rs0' })).toBe('audit');
    expect(resolveDatabaseName({ url: 'mongodb://h/audit', database: 'other' })).toBe('other');
    expect(new MongoDBBackend({ url: 'mongodb://h:1/?replicaSet=rs0' }).database).toBe('signledger');
    expect(new MongoDBBackend({ url: 'mongodb://h:1/audit_db' }).database).toBe('audit_db');
    expect(new MongoDBBackend({ host: 'h' }).database).toBe('signledger');
  });

  it('validates the name wherever it comes from', () => {
    expect(() => resolveDatabaseName({ url: 'mongodb://h/bad-name' })).toThrow(ValidationError);
    expect(() => resolveDatabaseName({ url: 'mongodb://h/a%2Fb' })).toThrow(ValidationError);
    expect(() => resolveDatabaseName({ database: 'a.b' })).toThrow(ValidationError);
  });
});
