import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalize, canonicalizeBytes, prepareJson } from '../../src/encoding/canonical.js';
import { isCanonical, parseJsonStrict } from '../../src/encoding/json.js';
import {
  type CanonicalizationVectors,
  doubleFromHex,
  type Es6NumberVectors,
  expectValidationError,
  loadJcs,
  type NumberVectors,
} from './helpers.js';

const canon = loadJcs<CanonicalizationVectors>('canonicalization.json');
const numbers = loadJcs<NumberVectors>('numbers.json');
const es6 = loadJcs<Es6NumberVectors>('es6-numbers-10000.json');

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

describe('canonicalization.json', () => {
  it('has the 7 documented cases', () => {
    expect(canon.cases).toHaveLength(7);
  });

  it.each(canon.cases.map((c) => [c.name, c] as const))('%s: text and UTF-8 bytes', (_name, c) => {
    const parsed = parseJsonStrict(c.input);
    expect(canonicalize(parsed)).toBe(c.expected);
    expect(canonicalizeBytes(parsed).toString('hex')).toBe(c.expectedHex);
    // JSON.parse agrees on these duplicate-free inputs, and prepareJson gives the same text.
    expect(canonicalize(JSON.parse(c.input))).toBe(c.expected);
    expect(prepareJson(parsed).text).toBe(c.expected);
    expect(isCanonical(c.expected)).toBe(true);
    expect(isCanonical(c.input)).toBe(false);
  });

  it('sorting (RFC 8785 §3.2.3): members come out in UTF-16 code unit order', () => {
    const text = canonicalize(parseJsonStrict(canon.sorting.input));
    // JS objects list integer-like keys first, so read the order off the text itself.
    const positions = canon.sorting.expectedValueOrder.map((v) => text.indexOf(`"${v}"`));
    expect(positions.every((p) => p > 0)).toBe(true);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(text.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')).toBe(true);
  });
});

describe('numbers.json', () => {
  it('has 33 numbers, some of which must be rejected', () => {
    expect(numbers.numbers).toHaveLength(33);
    expect(numbers.numbers.some((n) => n.expected === null)).toBe(true);
  });

  it.each(numbers.numbers.map((n) => [`${n.ieee} ${n.comment}`, n] as const))('%s', (_label, n) => {
    const x = doubleFromHex(n.ieee.padStart(16, '0'));
    if (n.expected === null) {
      expect(Number.isFinite(x)).toBe(false);
      expectValidationError(() => canonicalize(x), 'NOT_JSON', '');
      expectValidationError(() => canonicalize({ n: [x] }), 'NOT_JSON', '/n/0');
    } else {
      expect(canonicalize(x)).toBe(n.expected);
      expect(canonicalize([x])).toBe(`[${n.expected}]`);
    }
  });
});

describe('es6-numbers-10000.json', () => {
  /** Our output for a line's input, in the upstream line format. */
  const line = (hex: string): string => `${hex},${canonicalize(doubleFromHex(hex))}\n`;

  it('all 10,000 lines serialize as expected', () => {
    expect(es6.lines).toHaveLength(10_000);
    const wrong: string[] = [];
    for (const [hex, expected] of es6.lines) {
      const got = canonicalize(doubleFromHex(hex));
      if (got !== expected) wrong.push(`${hex}: ${got} != ${expected}`);
    }
    expect(wrong).toEqual([]);
  });

  it('our output for the first 1,000 and 10,000 lines matches the published SHA-256', () => {
    let text = '';
    for (let i = 0; i < 10_000; i++) {
      text += line(es6.lines[i]![0]);
      if (i === 999) expect(sha256(text)).toBe(es6.sha256.first1000Lines);
    }
    expect(sha256(text)).toBe(es6.sha256.first10000Lines);
  });

  it('the documented generator reproduces the lines, and 100,000 lines match the published SHA-256', () => {
    const inputs = generateInputs(100_000, es6.generator);
    expect(inputs.slice(0, 10_000)).toEqual(es6.lines.map(([hex]) => hex));
    let text = '';
    for (const hex of inputs) text += line(hex);
    expect(sha256(text)).toBe(es6.sha256.first100000Lines);
  });
});

/**
 * cyberphone's es6testfile generator: static values, a run of consecutive bit patterns, then
 * doubles read little-endian from a SHA-256 chain, skipping zero, NaN and infinities.
 * Hex is lowercase without leading zeros, as in the upstream file.
 */
function generateInputs(count: number, g: Es6NumberVectors['generator']): string[] {
  const out = g.staticU64Hex.map((h) => BigInt(`0x${h}`).toString(16));
  const base = BigInt(`0x${g.serialBaseHex}`);
  for (let i = 0; i < g.serialCount; i++) out.push((base + BigInt(i)).toString(16));
  let block = Buffer.alloc(32);
  while (out.length < count) {
    block = createHash('sha256').update(block).digest();
    for (let k = 0; k < 4 && out.length < count; k++) {
      const x = block.readDoubleLE(k * 8);
      if (x === 0 || !Number.isFinite(x)) continue;
      out.push(block.readBigUInt64LE(k * 8).toString(16));
    }
  }
  return out.slice(0, count);
}
