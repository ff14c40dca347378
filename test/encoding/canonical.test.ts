import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  canonicalizeBytes,
  DEFAULT_MAX_DEPTH,
  MAX_DEPTH_LIMIT,
  prepareJson,
} from '../../src/encoding/canonical.js';
import { ConfigurationError } from '../../src/errors.js';

describe('canonicalize', () => {
  it('writes primitives like ECMAScript, with -0 as 0', () => {
    expect(canonicalize(null)).toBe('null');
    expect(canonicalize(true)).toBe('true');
    expect(canonicalize(false)).toBe('false');
    expect(canonicalize(-0)).toBe('0');
    expect(canonicalize(1e21)).toBe('1e+21');
    expect(canonicalize(1e-7)).toBe('1e-7');
    expect(canonicalize(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(canonicalize(Number.MAX_SAFE_INTEGER)).toBe('9007199254740991');
    expect(canonicalize('')).toBe('""');
  });

  it('escapes strings per RFC 8785 §3.2.2.2', () => {
    expect(canonicalize('\u0000\u0008\t\n\u000b\f\r\u001f')).toBe('"\\u0000\\b\\t\\n\\u000b\\f\\r\\u001f"');
    expect(canonicalize('"\\')).toBe('"\\"\\\\"');
    // Written as is: '/', DEL, non-ASCII, U+2028/2029, astral characters.
    expect(canonicalize('/\u007f\u00e9\u2028\u2029\u{1f600}')).toBe('"/\u007f\u00e9\u2028\u2029\u{1f600}"');
    const long = `${'a'.repeat(60)}\n"\u{1f600}`;
    expect(canonicalize(long)).toBe(JSON.stringify(long));
  });

  it('sorts members by UTF-16 code units, recursively, and keeps array order', () => {
    expect(canonicalize({ b: 1, a: { d: [3, 1, 2], c: null } })).toBe('{"a":{"c":null,"d":[3,1,2]},"b":1}');
    // Integer-like keys sort as strings, not numbers: "10" < "2" < "a".
    expect(canonicalize({ a: 0, 2: 0, 10: 0, '': 0, ' ': 0 })).toBe('{"":0," ":0,"10":0,"2":0,"a":0}');
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB33 (UTF-8 order would differ).
    expect(canonicalize({ '\ufb33': 1, '\u{1f600}': 2, '\u00f6': 3 })).toBe(
      '{"\u00f6":3,"\u{1f600}":2,"\ufb33":1}',
    );
  });

  it('sorts objects with many keys (native sort path) the same way', () => {
    const keys = Array.from({ length: 100 }, (_, i) => `k${(i * 37) % 100}`);
    const obj = Object.fromEntries(keys.map((k) => [k, k]));
    const text = canonicalize(obj);
    const order = [...text.matchAll(/"(k\d+)":/g)].map((m) => m[1]);
    expect(order).toEqual([...keys].sort());
  });

  it('accepts null-prototype objects and "__proto__" as an ordinary own key', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o['z'] = 1;
    o['a'] = [];
    expect(canonicalize(o)).toBe('{"a":[],"z":1}');
    expect(canonicalize(JSON.parse('{"__proto__":{"x":1},"b":2}'))).toBe('{"__proto__":{"x":1},"b":2}');
  });

  it('turns valid Dates into ISO strings by default', () => {
    expect(canonicalize({ at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) })).toBe(
      '{"at":"2024-01-02T03:04:05.006Z"}',
    );
    expect(canonicalize(new Date(0), { dates: 'iso' })).toBe('"1970-01-01T00:00:00.000Z"');
    expect(canonicalize(new Date(Date.UTC(12345, 0, 1)))).toBe('"+012345-01-01T00:00:00.000Z"');
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: [shared, shared] })).toBe('{"a":{"x":1},"b":[{"x":1},{"x":1}]}');
  });

  it('has the documented default depth limit', () => {
    expect(DEFAULT_MAX_DEPTH).toBe(64);
    let deep: unknown = [];
    for (let i = 1; i < MAX_DEPTH_LIMIT; i++) deep = [deep];
    expect(canonicalize(deep, { maxDepth: MAX_DEPTH_LIMIT })).toHaveLength(2 * MAX_DEPTH_LIMIT);
  });
});

describe('member names (their text is cached by name)', () => {
  it('writes a name the same first, later, escaped and again', () => {
    const names = ['a', 'b"q', 'line\nbreak', '\u2028', 'é', '\ud83d\ude00', '', 'long"'.repeat(20)];
    const q = (s: string) => JSON.stringify(s); // RFC 8785 string form for well-formed strings
    for (let round = 0; round < 2; round++) {
      for (const n of names) {
        const inner = `{${q(n)}:[${q(n)}]}`;
        // Members sort by UTF-16 code units (plain string comparison).
        const pair = (k1: string, v1: string, k2: string, v2: string) =>
          k1 < k2 ? `{${q(k1)}:${v1},${q(k2)}:${v2}}` : `{${q(k2)}:${v2},${q(k1)}:${v1}}`;
        const o = { [n]: 1, zz: { [n]: [n] } };
        expect(canonicalize(o)).toBe(pair(n, '1', 'zz', inner));
        expect(canonicalize({ '!': 0, [n]: 2 })).toBe(pair('!', '0', n, '2'));
        expect(prepareJson(o).text).toBe(canonicalize(o));
      }
    }
  });

  it('refuses a lone-surrogate name every time (refused names are not cached)', () => {
    for (let round = 0; round < 2; round++) {
      expect(() => canonicalize({ '\ud800': 1 })).toThrow(/lone surrogate/);
      expect(() => canonicalize({ a: 0, '\ud800': 1 })).toThrow(/lone surrogate/);
    }
  });

  it('stays correct past the cache bound', () => {
    for (let i = 0; i < 10_000; i++) {
      const o = { [`k${i}`]: i, [`m${i}`]: i };
      expect(canonicalize(o)).toBe(`{"k${i}":${i},"m${i}":${i}}`);
    }
  });
});

describe('member order (remembered per depth for names listed alike)', () => {
  // Reference: members sorted by UTF-16 code units, recursively.
  const ref = (v: unknown): string =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${ref((v as Record<string, unknown>)[k])}`)
          .join(',')}}`
      : Array.isArray(v)
        ? `[${v.map(ref).join(',')}]`
        : JSON.stringify(v);

  it('sorts each object by its own names, whatever objects came before at that depth', () => {
    const values: unknown[] = [
      { b: 1, a: 2 },
      { b: 1, a: 2 },
      { a: 1, b: 2 },
      { b: 1, a: 2, c: 3 },
      { b: 1, c: 3 },
      {
        x: { b: 1, a: 2 },
        y: { d: 1, c: { f: 0, e: 1 } },
        w: [
          { b: 0, a: 1 },
          { a: 0, b: 1 },
        ],
      },
      { y: { c: { e: 1, f: 0 }, d: 1 }, x: { a: 2, b: 1 } },
      { b: 1, a: 2 },
    ];
    for (let round = 0; round < 2; round++) {
      for (const v of values) {
        expect(canonicalize(v)).toBe(ref(v));
        expect(prepareJson(v).text).toBe(ref(v));
      }
    }
  });

  it('holds for random shapes: deep nesting, many names, names reordered between siblings (property)', () => {
    // Few distinct names (so shapes repeat and reorder), objects up to 40 members (the native sort
    // past 24), nesting past the 8 remembered levels.
    const name = fc.constantFrom('a', 'b', 'c', 'd', 'aa', 'B', '', '10', '2', 'é', '\u{1f600}', 'z');
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.integer(),
        fc.string(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.oneof(name, fc.string({ maxLength: 3 })), tie('node'), { maxKeys: 40 }),
      ),
    })).node;
    const deep = fc.tuple(value, fc.integer({ min: 9, max: 14 })).map(([v, d]) => {
      let x: unknown = v;
      for (let i = 0; i < d; i++) x = i % 2 ? { b: x, a: i } : { a: i, b: x };
      return x;
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(value, deep), { minLength: 1, maxLength: 6 }), (vs) => {
        for (const v of vs) {
          expect(canonicalize(v)).toBe(ref(v));
          expect(prepareJson(v).text).toBe(ref(v));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a Proxy that canonicalizes while its names are listed, and a walk that throws, leave later results right', () => {
    const inner = { y: 1, x: 2 };
    const proxy = new Proxy(
      { b: 1, a: 2 },
      {
        ownKeys(t) {
          expect(canonicalize({ q: inner, p: [inner] })).toBe('{"p":[{"x":2,"y":1}],"q":{"x":2,"y":1}}');
          return Reflect.ownKeys(t);
        },
      },
    );
    expect(canonicalize({ k: proxy })).toBe('{"k":{"a":2,"b":1}}');
    expect(() => canonicalize({ b: 1, a: { d: Number.NaN, c: 1 } })).toThrow();
    expect(canonicalize({ b: 1, a: { d: 2, c: 1 } })).toBe('{"a":{"c":1,"d":2},"b":1}');
    expect(canonicalize({ a: { c: 1, d: 2 }, b: 1 })).toBe('{"a":{"c":1,"d":2},"b":1}');
  });
});

describe('canonicalizeBytes', () => {
  it('is the UTF-8 encoding of canonicalize', () => {
    const v = { '€': ['é', '\u{1f600}'] };
    const bytes = canonicalizeBytes(v);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(bytes.equals(Buffer.from(canonicalize(v), 'utf8'))).toBe(true);
    expect(bytes.toString('hex')).toBe('7b22e282ac223a5b22c3a9222c22f09f9880225d7d');
  });
});

describe('prepareJson', () => {
  it('returns the canonical text and a frozen deep copy that shares nothing', () => {
    const input = { z: [1, { y: 'x' }], a: { b: null } };
    const { text, copy } = prepareJson(input);
    expect(text).toBe('{"a":{"b":null},"z":[1,{"y":"x"}]}');
    expect(copy).toEqual(input);
    const c = copy as { z: [number, { y: string }]; a: { b: null } };
    for (const node of [c, c.z, c.z[1], c.a]) expect(Object.isFrozen(node)).toBe(true);
    expect(c).not.toBe(input);
    expect(c.z).not.toBe(input.z);
    expect(c.z[1]).not.toBe(input.z[1]);
    expect(c.a).not.toBe(input.a);
    // The copy lists members in canonical order.
    expect(Object.keys(c)).toEqual(['a', 'z']);
  });

  it('is unaffected by later mutation of the input', () => {
    const input: { list: unknown[]; inner: Record<string, unknown> } = { list: [1, 2], inner: { k: 'v' } };
    const { text, copy } = prepareJson(input);
    input.list.push(3);
    input.inner['k'] = 'changed';
    input.inner['new'] = true;
    expect(canonicalize(copy)).toBe(text);
    expect(copy).toEqual({ inner: { k: 'v' }, list: [1, 2] });
  });

  it('converts Dates and -0 the way the text does', () => {
    const { text, copy } = prepareJson({ at: new Date(0), z: -0, n: [-0] });
    expect(text).toBe('{"at":"1970-01-01T00:00:00.000Z","n":[0],"z":0}');
    expect(copy).toEqual({ at: '1970-01-01T00:00:00.000Z', n: [0], z: 0 });
    expect(Object.is((copy as { z: number }).z, 0)).toBe(true);
    expect(copy).toStrictEqual(JSON.parse(text));
  });

  it('keeps "__proto__" as an own data property of the copy, not as its prototype', () => {
    const input = JSON.parse('{"__proto__":{"polluted":true}}');
    const { copy } = prepareJson(input);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy as object)).toEqual(['__proto__']);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ polluted: true });
  });

  it('gives plain objects with Object.prototype even for null-prototype input', () => {
    const input = Object.assign(Object.create(null) as object, { a: 1 });
    const { copy } = prepareJson(input);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });

  it('copies a shared (non-cyclic) object separately at each place', () => {
    const shared = { x: 1 };
    const { copy } = prepareJson([shared, shared]);
    const [a, b] = copy as [object, object];
    expect(a).toEqual(b);
    expect(a).not.toBe(shared);
    expect(Object.isFrozen(a) && Object.isFrozen(b)).toBe(true);
  });

  it('returns primitives unchanged', () => {
    expect(prepareJson('s')).toEqual({ text: '"s"', copy: 's' });
    expect(prepareJson(null)).toEqual({ text: 'null', copy: null });
    expect(prepareJson(2.5)).toEqual({ text: '2.5', copy: 2.5 });
  });
});

describe('options', () => {
  it.each([
    { dates: 'yes' },
    { maxDepth: -1 },
    { maxDepth: 1.5 },
    { maxDepth: MAX_DEPTH_LIMIT + 1 },
    { maxBytes: -1 },
    { maxBytes: Number.NaN },
  ])('rejects %o with ConfigurationError', (options) => {
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid options
    expect(() => canonicalize({}, options as any)).toThrow(ConfigurationError);
    // biome-ignore lint/suspicious/noExplicitAny: deliberately invalid options
    expect(() => prepareJson({}, options as any)).toThrow(ConfigurationError);
  });
});

describe('the walk writes into a reused buffer', () => {
  it('a walk re-entered from user code (a Proxy trap) gets its own buffer', () => {
    const inner: string[] = [];
    const target = { a: 'x€', b: [1, 2, { c: null }] };
    const proxy = new Proxy(target, {
      getOwnPropertyDescriptor(t, k) {
        inner.push(canonicalize({ k: String(k), z: 'ü'.repeat(3) }));
        inner.push(prepareJson([String(k), 1.5]).text);
        return Reflect.getOwnPropertyDescriptor(t, k);
      },
    });
    expect(canonicalize({ p: proxy, q: 'after' })).toBe('{"p":{"a":"x€","b":[1,2,{"c":null}]},"q":"after"}');
    expect(prepareJson({ p: proxy }).copy).toEqual({ p: target });
    expect(inner.slice(0, 4)).toEqual([
      '{"k":"a","z":"üüü"}',
      '["a",1.5]',
      '{"k":"b","z":"üüü"}',
      '["b",1.5]',
    ]);
  });

  it('stays correct after a walk that throws half-way and after one that outgrew the buffer', () => {
    expect(() => canonicalize({ a: 'long text '.repeat(50), b: [1, Number.NaN] })).toThrow(/at \/b\/1/);
    expect(canonicalize({ c: 'd' })).toBe('{"c":"d"}');
    const big = 'é'.repeat(1_500_000);
    expect(canonicalize({ big })).toBe(`{"big":"${big}"}`);
    expect(canonicalizeBytes({ big }).length).toBe(3_000_010);
    expect(canonicalize([1, 'two'])).toBe('[1,"two"]');
  });

  it('writes integers as digits exactly as Number#toString does', () => {
    const values = [
      0,
      -0,
      7,
      -7,
      10,
      99,
      100,
      2 ** 31,
      -(2 ** 31),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      2 ** 53,
      1e21,
      1e20,
    ];
    for (let x = 1; x < 2 ** 53; x = x * 3 + 1) values.push(x, -x, x * 10 + 9);
    for (const v of values) expect(canonicalize([v])).toBe(`[${String(v)}]`);
  });

  it('honours an options object changed between calls (only frozen options are checked once)', () => {
    const options = { maxDepth: 1 };
    expect(() => canonicalize({ a: {} }, options)).toThrow(/deeper than 1/);
    options.maxDepth = 5;
    expect(canonicalize({ a: {} }, options)).toBe('{"a":{}}');
    const frozen = Object.freeze({ maxDepth: 1 });
    expect(() => canonicalize({ a: {} }, frozen)).toThrow(/deeper than 1/);
    expect(() => prepareJson({ a: {} }, frozen)).toThrow(/deeper than 1/);
  });
});
