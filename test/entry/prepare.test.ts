import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { prepareEntry } from '../../src/entry/prepare.js';
import { ValidationError } from '../../src/errors.js';

const options = { hashAlgorithm: 'sha256' as const, maxEntryBytes: 1 << 20 };

function outcome(data: unknown, metadata?: unknown): string {
  try {
    prepareEntry(data, metadata, 'event', options);
    return 'ok';
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return `${err.code} ${err.path}`;
  }
}

describe('prepareEntry: empty data', () => {
  it('refuses data without an own enumerable property, before looking at the metadata', () => {
    expect(outcome({})).toBe('VALIDATION_FAILED /data');
    expect(outcome(Object.create(null))).toBe('VALIDATION_FAILED /data');
    expect(outcome(Object.defineProperty({}, 'x', { value: 1, enumerable: false }))).toBe(
      'VALIDATION_FAILED /data',
    );
    expect(outcome(new Proxy({}, {}))).toBe('VALIDATION_FAILED /data');
    expect(outcome({}, 5)).toBe('VALIDATION_FAILED /data');
    expect(outcome({ 0: 'index-like key' })).toBe('ok');
    expect(outcome(Object.assign(Object.create(null), { a: 1 }))).toBe('ok');
    expect(outcome(new Proxy({ a: 1 }, {}))).toBe('ok');
  });

  it('types the error of a top-level Proxy whose trap throws while the value is inspected', () => {
    const boom = () => {
      throw new Error('trap');
    };
    expect(outcome(new Proxy({ a: 1 }, { ownKeys: boom }))).toBe('VALIDATION_FAILED /data');
    expect(outcome(new Proxy({ a: 1 }, { getPrototypeOf: boom }))).toBe('VALIDATION_FAILED /data');
    expect(outcome({ a: 1 }, new Proxy({ m: 1 }, { getPrototypeOf: boom }))).toBe(
      'VALIDATION_FAILED /metadata',
    );
  });

  it('is not fooled by enumerable properties inherited from a polluted Object.prototype', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      expect(outcome({})).toBe('VALIDATION_FAILED /data');
      expect(outcome(Object.defineProperty({}, 'polluted', { value: 1, enumerable: false }))).toBe(
        'VALIDATION_FAILED /data',
      );
      expect(outcome({ a: 1 })).toBe('ok');
    } finally {
      delete proto.polluted;
    }
  });
});

describe('prepareEntry: data digest', () => {
  it('is HASH(salt || UTF-8 of the data text) for non-ASCII, escaped and large data, with and without the copy', () => {
    const datas = [
      { a: 1 },
      { s: 'Zoë ✓ 𝄞', q: 'a"b\\c\n' },
      { big: 'x'.repeat(100_000), u: 'é'.repeat(30_000) }, // past the walk's initial buffer
    ];
    for (const copy of [true, false]) {
      for (const hashAlgorithm of ['sha256', 'sha3-512'] as const) {
        for (const data of datas) {
          const p = prepareEntry(data, { m: 'é' }, 'event', { ...options, hashAlgorithm, copy });
          const want = createHash(hashAlgorithm).update(p.salt).update(p.dataText, 'utf8').digest('hex');
          expect(p.dataDigest).toBe(want);
        }
      }
    }
  });
});
