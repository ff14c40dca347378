import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, type JsonValue, prepareJson } from '../../src/encoding/canonical.js';
import { isCanonical, parseJsonStrict } from '../../src/encoding/json.js';
import { ValidationError } from '../../src/errors.js';

const json = fc.jsonValue() as fc.Arbitrary<JsonValue>;

/** Rebuild every object with its keys in an order given by `rand` (arrays keep their order). */
function reorder(v: unknown, rand: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => reorder(x, rand));
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v).map(([k, x]) => [k, reorder(x, rand)] as const);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) Object.defineProperty(out, k, { value: x, enumerable: true, writable: true });
  return out;
}

function containers(v: unknown, into: Set<object> = new Set()): Set<object> {
  if (v !== null && typeof v === 'object') {
    into.add(v);
    for (const x of Object.values(v)) containers(x, into);
  }
  return into;
}

/** Change every container of `v` in place (add members, overwrite the first one). */
function mutateDeep(v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) mutateDeep(x);
    v.push('mutated');
    v[0] = 'mutated';
  } else if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) mutateDeep(o[k]);
    for (const k of Object.keys(o)) o[k] = 'mutated';
    o['__added__'] = 1;
  }
}

describe('canonicalize properties', () => {
  it('is idempotent through JSON.parse', () => {
    fc.assert(
      fc.property(json, (x) => {
        const c = canonicalize(x);
        expect(canonicalize(JSON.parse(c))).toBe(c);
        expect(isCanonical(c)).toBe(true);
      }),
    );
  });

  it('does not depend on the insertion order of object members', () => {
    fc.assert(
      fc.property(json, fc.integer(), (x, seed) => {
        let s = seed >>> 0;
        const rand = () => {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          return s / 2 ** 32;
        };
        expect(canonicalize(reorder(x, rand))).toBe(canonicalize(x));
      }),
    );
  });

  it('agrees with JSON.stringify on values without objects', () => {
    const noObjects = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.string({ unit: 'binary' }),
        fc.array(tie('v'), { maxLength: 6 }),
      ),
    })).v;
    fc.assert(
      fc.property(noObjects, (x) => {
        expect(canonicalize(x)).toBe(JSON.stringify(x));
      }),
    );
  });

  it('accepts a string of arbitrary UTF-16 code units exactly when it is well-formed', () => {
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 80 });
    fc.assert(
      fc.property(units, (codes) => {
        const s = String.fromCharCode(...codes);
        const wellFormed = (s as unknown as { isWellFormed(): boolean }).isWellFormed();
        if (wellFormed) {
          expect(canonicalize({ [s]: s })).toBe(`{${JSON.stringify(s)}:${JSON.stringify(s)}}`);
        } else {
          expect(() => canonicalize(s)).toThrow(ValidationError);
          expect(() => canonicalize({ [s]: 1 })).toThrow(ValidationError);
          // JSON.stringify escapes lone surrogates as \udxxx; the strict parser refuses them.
          expect(() => parseJsonStrict(JSON.stringify(s))).toThrow(ValidationError);
        }
      }),
    );
  });
});

describe('prepareJson properties', () => {
  it('returns the canonical text and a frozen copy equal to JSON.parse(text), sharing nothing', () => {
    fc.assert(
      fc.property(json, (x) => {
        const { text, copy } = prepareJson(x);
        expect(text).toBe(canonicalize(x));
        expect(copy).toStrictEqual(JSON.parse(text));
        const inputNodes = containers(x);
        for (const node of containers(copy)) {
          expect(Object.isFrozen(node)).toBe(true);
          expect(inputNodes.has(node)).toBe(false);
        }
      }),
    );
  });

  it('is unaffected by mutation of the input after the call', () => {
    fc.assert(
      fc.property(json, (x) => {
        const { text, copy } = prepareJson(x);
        const before = JSON.stringify(copy);
        mutateDeep(x);
        expect(JSON.stringify(copy)).toBe(before);
        expect(canonicalize(copy)).toBe(text);
      }),
    );
  });
});

describe('parseJsonStrict properties', () => {
  it('agrees with JSON.parse on valid, duplicate-free text (compact and indented)', () => {
    fc.assert(
      fc.property(json, (x) => {
        for (const text of [JSON.stringify(x), JSON.stringify(x, null, 2), canonicalize(x)]) {
          expect(parseJsonStrict(text)).toStrictEqual(JSON.parse(text));
        }
      }),
    );
  });

  it('never accepts what JSON.parse rejects, and accepts the same value otherwise', () => {
    const alphabet = fc.constantFrom(...'{}[]":,.-+eE0129 \\utrfalsn\n'.split(''), '\\u0041', '\\ud800', 'a');
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 24 }), (parts) => {
        const text = parts.join('');
        let expected: unknown;
        try {
          expected = JSON.parse(text);
        } catch {
          expect(() => parseJsonStrict(text)).toThrow(ValidationError);
          return;
        }
        try {
          expect(parseJsonStrict(text)).toStrictEqual(expected);
        } catch (e) {
          // Only the documented extra rules may turn valid JSON down.
          expect(e).toBeInstanceOf(ValidationError);
          expect((e as Error).message).toMatch(/duplicate|lone surrogate|too large/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
