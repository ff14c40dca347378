/**
 * MongoDB `where` pushdown, no server. Two kinds of checks:
 * 1. Structure: every user-given string (path segment or value) reaches the filter only inside
 *    $literal, so `$where`, `$$ROOT`, dotted keys… are never operators, field paths or variables.
 * 2. Semantics: the generated expression is evaluated by a small interpreter of the documented
 *    semantics of the operators it uses ($let, $getField, $cond, $type, $eq, $literal, $and) over
 *    documents that went through real BSON serialization, and compared with the ledger's JS
 *    semantics (readPath, ===). This checks how the expression is built; it is NOT a test of the
 *    server (that needs the conformance suite with SIGNLEDGER_TEST_MONGODB_URL).
 */
import { BSON } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  type EntryDoc,
  fromDoc,
  matchesWhere,
  toDoc,
  type WhereValue,
  whereConditions,
  whereFilter,
} from '../../src/backends/mongodb/documents.js';
import type { StoredEntry } from '../../src/entry/types.js';
import { ValidationError } from '../../src/errors.js';

const OPERATORS = new Set(['$or', '$expr', '$and', '$let', '$getField', '$literal', '$cond', '$eq', '$type']);

/** Walks a filter: '$'-keys must be our operators, '$'-strings our field path / variables. */
function assertNoUserOperators(node: unknown, insideLiteral = false): void {
  if (insideLiteral) return;
  if (typeof node === 'string') {
    if (node.startsWith('$')) expect(node).toMatch(/^(\$q|\$\$p\d+)$/);
    return;
  }
  if (Array.isArray(node)) {
    for (const x of node) assertNoUserOperators(x);
    return;
  }
  if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith('$')) expect(OPERATORS).toContain(k);
      else expect(k).toMatch(/^(q|vars|in|field|input|p\d+)$/);
      assertNoUserOperators(v, k === '$literal');
    }
  }
}

// ───────────── a tiny evaluator of the operators whereFilter emits (documented semantics) ─────────────

const MISSING = Symbol('missing');
type V = unknown;

function isObj(v: V): v is Record<string, V> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function bsonType(v: V): string {
  if (v === MISSING) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (isObj(v)) return 'object';
  throw new Error(`unexpected value ${String(v)}`);
}

function equal(a: V, b: V): boolean {
  if (a === MISSING || b === MISSING) return a === b;
  const ta = bsonType(a);
  if (ta !== bsonType(b)) return false;
  if (ta === 'array') {
    const x = a as V[];
    const y = b as V[];
    return x.length === y.length && x.every((v, i) => equal(v, y[i]));
  }
  if (ta === 'object') {
    const x = Object.entries(a as object);
    const y = Object.entries(b as object);
    return x.length === y.length && x.every(([k, v], i) => y[i]![0] === k && equal(v, y[i]![1]));
  }
  return a === b || (typeof a === 'number' && a === b);
}

function truthy(v: V): boolean {
  return !(v === false || v === null || v === 0 || v === MISSING || v === undefined);
}

function evaluate(e: V, root: Record<string, V>, vars: Map<string, V>): V {
  if (typeof e === 'string') {
    if (e.startsWith('$$')) {
      if (!vars.has(e.slice(2))) throw new Error(`undefined variable ${e}`);
      return vars.get(e.slice(2));
    }
    if (e.startsWith('$')) {
      const f = e.slice(1);
      if (f.includes('.')) throw new Error('dotted field paths are not expected');
      return Object.hasOwn(root, f) ? root[f] : MISSING;
    }
    return e;
  }
  if (e === null || typeof e !== 'object') return e;
  if (Array.isArray(e)) return e.map((x) => evaluate(x, root, vars));
  const keys = Object.keys(e);
  const op = keys[0]!;
  const arg = (e as Record<string, V>)[op];
  if (!op?.startsWith('$')) {
    return Object.fromEntries(keys.map((k) => [k, evaluate((e as Record<string, V>)[k], root, vars)]));
  }
  if (keys.length !== 1) throw new Error(`operator object with ${keys.length} keys`);
  switch (op) {
    case '$literal':
      return arg;
    case '$let': {
      const { vars: defs, in: body } = arg as { vars: Record<string, V>; in: V };
      const inner = new Map(vars);
      for (const [k, x] of Object.entries(defs)) {
        if (!/^[a-z]/.test(k)) throw new Error(`invalid variable name ${k}`);
        inner.set(k, evaluate(x, root, vars));
      }
      return evaluate(body, root, inner);
    }
    case '$getField': {
      const { field, input } = arg as { field: V; input: V };
      const f = evaluate(field, root, vars);
      if (typeof f !== 'string') throw new Error('$getField field must be a string');
      const from = evaluate(input, root, vars);
      if (from === MISSING || from === null) return null;
      if (!isObj(from)) throw new Error('$getField input must be an object (server error)');
      return Object.hasOwn(from, f) ? from[f] : MISSING;
    }
    case '$cond': {
      const [c, t, f] = arg as V[];
      return truthy(evaluate(c, root, vars)) ? evaluate(t, root, vars) : evaluate(f, root, vars);
    }
    case '$type':
      return bsonType(evaluate(arg, root, vars));
    case '$eq': {
      const [a, b] = arg as V[];
      return equal(evaluate(a, root, vars), evaluate(b, root, vars));
    }
    case '$and':
      return (arg as V[]).every((x) => truthy(evaluate(x, root, vars)));
    default:
      throw new Error(`unexpected operator ${op}`);
  }
}

/**
 * The top-level filter `{ $or: [{ q: null }, { $expr }] }` on one stored document. The filter goes
 * through BSON first, as it does on its way to the server (strings are re-encoded there too).
 */
const viaBson = new Map<string, Record<string, unknown>>();
function candidate(f: Record<string, unknown>, doc: Record<string, V>): boolean {
  const key = JSON.stringify(f);
  let filter = viaBson.get(key);
  if (!filter) {
    filter = BSON.deserialize(BSON.serialize(f));
    viaBson.set(key, filter);
  }
  const [nullQ, expr] = (filter as { $or: [Record<string, unknown>, { $expr: V }] }).$or;
  if (JSON.stringify(nullQ) !== '{"q":null}') throw new Error('unexpected first $or branch');
  if (doc.q === null || doc.q === undefined) return true;
  return truthy(evaluate(expr.$expr, doc, new Map()));
}

// ───────────── corpus ─────────────

function row(index: number, data: string | null, metadata: string): StoredEntry {
  const id = `e${index}`;
  return {
    index,
    id,
    timestampMs: 1_700_000_000_000,
    hash: Buffer.alloc(32, 1),
    body: `{"dataDigest":"ab","id":"${id}","index":${index},"ledger":"l","metadata":${metadata},"prev":null,"timestamp":"2024-01-01T00:00:00.000Z","type":"event","v":1}`,
    data,
    salt: null,
    signatures: null,
  };
}

const DATA = [
  '{"user":"alice","i":4,"ok":true}',
  '{"user":["alice"],"i":4.0}',
  '{"user":{"name":"alice"},"i":"4"}',
  '{"user":null}',
  '{"a":{"b":{"c":1}}}',
  '{"a":[{"b":{"c":1}}]}',
  '{"a":{"0":{"b":1}}}',
  '{"a":[{"b":1}]}',
  '{"a":[[1]],"b":[1,2]}',
  '{"a":null,"b":{"c":null}}',
  '{"a":{"b":null}}',
  '{"a":"str","b":1}',
  '{"a.b":1,"a":{"c":2}}',
  '{"$where":"x","a":{"$gt":1,"$$ROOT":2}}',
  '{"@x":{"-y":true},"_":0}',
  '{"n":-0,"m":0,"big":9007199254740993,"f":0.1}',
  '{"n":2147483648,"m":1e300}',
  '{"__proto__":{"x":1}}',
  '{"x":{"_bsontype":"Long"},"user":"alice"}',
  '{"user":"alice","deep":[[[{"a":1}]]]}',
  '{"t":true,"f":false,"s":""}',
  null,
];
const METADATA = ['{}', '{"category":"wire"}', '{"category":["wire"]}', '{"c":{"d":null}}'];

const WHERES: Record<string, WhereValue>[] = [
  { 'data.user': 'alice' },
  { 'data.user': null },
  { 'data.user.name': 'alice' },
  { 'data.i': 4 },
  { 'data.i': '4' },
  { 'data.ok': true, 'data.user': 'alice' },
  { 'data.a.b.c': 1 },
  { 'data.a.0.b': 1 },
  { 'data.a.b': 1 },
  { 'data.a.b': null },
  { 'data.a.c': 2 },
  { 'data.a': null },
  { 'data.b.c': null },
  { 'data.a.b.c': null },
  { 'data.a.x': null },
  { 'data.b.0': 1 },
  { 'data.a.$gt': 1 },
  { 'data.a.$$ROOT': 2 },
  { 'data.$where': 'x' },
  { 'data.@x.-y': true },
  { 'data._': 0 },
  { 'data.n': 0 },
  { 'data.m': 0 },
  { 'data.big': 9007199254740992 },
  { 'data.f': 0.1 },
  { 'data.n': 2147483648 },
  { 'data.m': 1e300 },
  { 'data.__proto__.x': 1 },
  { 'data.x._bsontype': 'Long' },
  { 'data.t': true },
  { 'data.f': false },
  { 'data.s': '' },
  { 'data.t': 1 },
  { 'data.s': null },
  { 'metadata.category': 'wire' },
  { 'metadata.c.d': null },
  { 'metadata.c': null },
  { 'metadata.category': 'wire', 'data.user': 'alice' },
];

describe('whereFilter', () => {
  it('wraps every user-given segment and value in $literal', () => {
    for (const where of [
      ...WHERES,
      { 'data.$function': 'x', 'metadata.$$CURRENT': '$where' },
      { 'data.$': '$$ROOT', 'data.a$b': '$q' },
    ]) {
      const f = whereFilter(where);
      expect(f).not.toBeNull();
      assertNoUserOperators(f);
    }
  });

  it('has the documented shape: q = null entries are always candidates', () => {
    const f = whereFilter({ 'data.user': 'alice' })!;
    expect(Object.keys(f)).toEqual(['$or']);
    expect((f.$or as unknown[])[0]).toEqual({ q: null });
    expect(JSON.stringify(f)).not.toMatch(/"q\.data/); // no dotted paths: no implicit array traversal
    expect(whereFilter({})).toBeNull();
  });

  it('rejects invalid paths before building anything', () => {
    expect(() => whereFilter({ 'data.a b': 1 })).toThrow(ValidationError);
    expect(() => whereFilter({ 'other.a': 1 })).toThrow(ValidationError);
    expect(() => whereFilter({ data: 1 })).toThrow(ValidationError);
  });

  it('selects exactly what the ledger selects on entries with a parsed copy, and keeps every entry without one', () => {
    let rows = 0;
    let exact = 0;
    for (const [i, data] of DATA.entries()) {
      for (const [j, metadata] of METADATA.entries()) {
        const r = row(i * 10 + j, data, metadata);
        const doc = BSON.deserialize(BSON.serialize(toDoc('l', r)), {
          promoteBuffers: true,
        }) as unknown as EntryDoc & Record<string, unknown>;
        expect(fromDoc(doc)).toEqual(r);
        rows++;
        for (const where of WHERES) {
          const truth = matchesWhere(r, whereConditions(where));
          const got = candidate(whereFilter(where)!, doc);
          if (doc.q === null) {
            expect(got).toBe(true);
          } else {
            if (got !== truth)
              expect({ where, data, metadata, got }).toEqual({ where, data, metadata, truth });
            if (truth) exact++;
          }
        }
      }
    }
    expect(rows).toBe(DATA.length * METADATA.length);
    expect(exact).toBeGreaterThan(40);
  });

  it('only over-matches (never drops) when BSON merges strings: lone surrogates become U+FFFD', () => {
    const r = row(1, '{"s":"\\ud800"}', '{}');
    const doc = BSON.deserialize(BSON.serialize(toDoc('l', r))) as Record<string, V>;
    const f = (v: string) => candidate(whereFilter({ 'data.s': v })!, doc);
    expect(f('\ud800')).toBe(true);
    expect(f('\udc00')).toBe(true); // a candidate, but:
    expect(matchesWhere(r, whereConditions({ 'data.s': '\udc00' }))).toBe(false);
    expect(matchesWhere(r, whereConditions({ 'data.s': '\ud800' }))).toBe(true);
  });
});

describe('matchesWhere (the re-check the backend applies before offset/limit)', () => {
  it('uses the ledger semantics on the exact texts, including redacted entries', () => {
    const c = (w: Record<string, WhereValue>) => whereConditions(w);
    expect(matchesWhere(row(0, '{"a":{"b":1}}', '{}'), c({ 'data.a.b': 1 }))).toBe(true);
    expect(matchesWhere(row(0, '{"a":[{"b":1}]}', '{}'), c({ 'data.a.b': 1 }))).toBe(false);
    expect(matchesWhere(row(0, '{"a":[1]}', '{}'), c({ 'data.a.0': 1 }))).toBe(false);
    expect(matchesWhere(row(0, '{"a":{}}', '{}'), c({ 'data.a.b': null }))).toBe(false);
    expect(matchesWhere(row(0, null, '{"k":1}'), c({ 'data.k': 1 }))).toBe(false);
    expect(matchesWhere(row(0, null, '{"k":1}'), c({ 'metadata.k': 1 }))).toBe(true);
  });

  it('keeps rows that do not decode, so the ledger reports them as it would without pushdown', () => {
    const bad = { ...row(0, '{"a":1}', '{}'), body: 'not json' };
    expect(matchesWhere(bad, whereConditions({ 'data.a': 2 }))).toBe(true);
  });
});
