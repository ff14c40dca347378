import { describe, expect, it } from 'vitest';
import {
  type CanonicalOptions,
  canonicalize,
  canonicalizeBytes,
  prepareJson,
} from '../../src/encoding/canonical.js';
import { expectValidationError } from './helpers.js';

// Every rule is checked through all three entry points: they share one walk, but a future
// fast path in one of them must not skip a check.
const entryPoints = [
  ['canonicalize', canonicalize],
  ['canonicalizeBytes', canonicalizeBytes],
  ['prepareJson', prepareJson],
] as const;

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

describe.each(entryPoints)('%s rejects', (_name, run) => {
  const reject = (value: unknown, path: string, message?: RegExp, options?: CanonicalOptions) =>
    expectValidationError(() => run(value, options), 'NOT_JSON', path, message);

  it('undefined at the top level, as an array element and as a property value', () => {
    reject(undefined, '', /undefined/);
    reject([1, undefined], '/1', /undefined/);
    reject({ a: { b: undefined } }, '/a/b', /undefined/);
  });

  it('functions, symbols and BigInts', () => {
    reject({ f: () => 1 }, '/f', /function/);
    reject([Symbol('s')], '/0', /symbol/);
    reject({ n: 10n }, '/n', /BigInt/);
  });

  it('NaN and ±Infinity', () => {
    reject({ x: Number.NaN }, '/x', /NaN/);
    reject({ x: [Number.POSITIVE_INFINITY] }, '/x/0', /Infinity/);
    reject(Number.NEGATIVE_INFINITY, '', /-Infinity/);
  });

  it('cycles, naming where the cycle closes', () => {
    const a: Record<string, unknown> = {};
    a['b'] = { c: a };
    reject({ a }, '/a/b/c', /^cycle at \/a\/b\/c: the value refers back to \/a$/);
    const arr: unknown[] = [1];
    arr.push({ back: arr });
    reject(arr, '/1/back', /cycle at \/1\/back: the value refers back to the top level/);
    const self: Record<string, unknown> = {};
    self['me'] = self;
    reject(self, '/me', /cycle at \/me/);
  });

  it('class instances: Map, Set, RegExp, Buffer, typed arrays, custom classes, boxed primitives', () => {
    reject({ m: new Map() }, '/m', /Map/);
    reject({ s: new Set([1]) }, '/s', /Set/);
    reject({ r: /x/ }, '/r', /RegExp/);
    reject({ b: Buffer.from('x') }, '/b', /Buffer/);
    reject({ u: new Uint8Array(2) }, '/u', /Uint8Array/);
    reject({ p: new Point(1, 2) }, '/p', /Point/);
    reject([new String('x')], '/0', /String/);
    reject(new Error('e'), '', /Error/);
    reject(Promise.resolve(1), '', /Promise/);
  });

  it('arrays that are not plain arrays', () => {
    class MyArray extends Array<number> {}
    reject({ a: MyArray.from([1]) }, '/a', /MyArray/);
    reject(Object.create(Array.prototype), '', /not a plain object or array/);
  });

  it('sparse arrays (holes)', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    reject({ a: [1, , 3] }, '/a/1', /holes/);
    reject(new Array(2), '/0', /holes/);
  });

  it('arrays with named properties, which JSON.stringify would drop', () => {
    reject({ a: Object.assign([1, 2], { note: 'x' }) }, '/a', /named \(non-index\) properties/);
    reject(Object.defineProperty([1], 'hidden', { value: 1, enumerable: false }), '', /named/);
    reject({ a: Object.assign([1], { [Symbol('s')]: 2 }) }, '/a', /named/);
    // biome-ignore lint/suspicious/noSparseArray: a hole plus a name: still refused (as the hole)
    reject({ a: Object.assign([1, , 3], { x: 1 }) }, '/a/1', /holes/);
    expect(canonicalize({ a: [1, [2, 3], []] })).toBe('{"a":[1,[2,3],[]]}');
  });

  it('symbol-keyed properties', () => {
    reject({ o: { a: 1, [Symbol('s')]: 2 } }, '/o', /symbol-keyed/);
  });

  it('objects whose Proxy traps throw: a ValidationError at that path, and the next walk is clean', () => {
    const boom = () => {
      throw new Error('trap says no');
    };
    reject({ a: new Proxy({}, { ownKeys: boom }) }, '/a', /reading the value threw: trap says no/);
    reject([1, new Proxy({ x: 1 }, { getOwnPropertyDescriptor: boom })], '/1/x', /trap says no/);
    const throwsString = () => {
      throw 'not an Error';
    };
    reject({ a: new Proxy({}, { ownKeys: throwsString }) }, '/a', /not an Error/);
    // The shared walk was released: the next call works and sees none of the failed one.
    expect(canonicalize({ b: [1, { c: 2 }] })).toBe('{"b":[1,{"c":2}]}');
  });

  it('own getters and setters (accessor properties), without calling them', () => {
    let calls = 0;
    const withGetter = {
      get x() {
        calls++;
        return 1;
      },
    };
    reject({ g: withGetter }, '/g/x', /accessor/);
    expect(calls).toBe(0);
    const withSetter = Object.defineProperty({}, 'y', { set() {}, enumerable: true });
    reject(withSetter, '/y', /accessor/);
    const bare = Object.defineProperty({}, 'z', { get: undefined, enumerable: true });
    reject([bare], '/0/z', /accessor/);
  });

  it('non-enumerable properties (JSON.stringify would drop them silently)', () => {
    const o = Object.defineProperty({ a: 1 }, 'hidden', { value: 2, enumerable: false });
    reject({ o }, '/o/hidden', /non-enumerable/);
  });

  it('strings and property names with lone surrogates', () => {
    reject({ s: 'a\ud800b' }, '/s', /lone surrogate/);
    reject(['\udc00'], '/0', /lone surrogate/);
    reject({ ['k\ud83d']: 1 }, '/k\ud83d', /lone surrogate/);
    // Long strings take the native path.
    reject({ long: `${'x'.repeat(100)}\ud800` }, '/long', /lone surrogate/);
    reject({ long: `\ude00${'"'.repeat(100)}` }, '/long', /lone surrogate/);
  });

  it("Dates when dates: 'reject', and invalid Dates always", () => {
    reject({ d: new Date(0) }, '/d', /Date/, { dates: 'reject' });
    reject({ d: new Date(Number.NaN) }, '/d', /invalid Date/);
    reject([new Date('nope')], '/0', /invalid Date/, { dates: 'iso' });
    reject({ fake: Object.create(Date.prototype) }, '/fake', /not a plain object/);
  });

  it('nesting deeper than maxDepth (default 64) with TOO_LARGE', () => {
    expect(() => run(nested(64))).not.toThrow();
    const err = expectValidationError(
      () => run(nested(65)),
      'TOO_LARGE',
      '/0/k'.repeat(32),
      /deeper than 64/,
    );
    expect(err.message).toMatch(/^at \/0\/k\/0\/k/);
    expect(() => run(nested(3), { maxDepth: 3 })).not.toThrow();
    expectValidationError(() => run(nested(4), { maxDepth: 3 }), 'TOO_LARGE', '/k/0/k', /deeper than 3/);
    expectValidationError(() => run({}, { maxDepth: 0 }), 'TOO_LARGE', '');
    expect(() => run('x', { maxDepth: 0 })).not.toThrow();
  });

  it('canonical text over maxBytes with TOO_LARGE (counted in UTF-8 bytes)', () => {
    // {"e":"é€😀"} is 8 + 2 + 3 + 4 = 17 bytes but 12 UTF-16 code units.
    const v = { e: 'é€😀' };
    expect(Buffer.byteLength(canonicalize(v))).toBe(17);
    expect(() => run(v, { maxBytes: 17 })).not.toThrow();
    expectValidationError(() => run(v, { maxBytes: 16 }), 'TOO_LARGE', '', /is 17 bytes, limit is 16/);
    expectValidationError(
      () => run(v, { maxBytes: 11 }),
      'TOO_LARGE',
      '',
      /is (over 11|17) bytes, limit is 11/,
    );
    expectValidationError(() => run(null, { maxBytes: 3 }), 'TOO_LARGE', '');
    const at4 = run(null, { maxBytes: 4 }) as unknown;
    const text =
      typeof at4 === 'string'
        ? at4
        : Buffer.isBuffer(at4)
          ? at4.toString('utf8')
          : (at4 as { text: string }).text;
    expect(text).toBe('null'); // exactly at the limit is allowed
  });

  it('errors are thrown before anything is returned even when the bad value is last', () => {
    const v = { a: 1, b: [1, 2, 3], z: undefined };
    reject(v, '/z');
  });
});

describe('JSON Pointer paths', () => {
  it('escape "~" and "/" in property names (RFC 6901)', () => {
    expectValidationError(() => canonicalize({ 'a/b': { 'c~d': undefined } }), 'NOT_JSON', '/a~1b/c~0d');
  });

  it('point at the right member after sorting', () => {
    expectValidationError(() => canonicalize({ z: 1, a: [0, { m: Number.NaN }] }), 'NOT_JSON', '/a/1/m');
  });
});
