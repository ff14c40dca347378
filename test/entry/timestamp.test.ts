import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoTimestamp } from '../../src/entry/timestamp.js';

const MAX_MS = 8.64e15; // the largest time a Date can hold

describe('isoTimestamp', () => {
  it('equals Date#toISOString for any valid time, including after a cached second', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -MAX_MS, max: MAX_MS }),
        fc.integer({ min: -1500, max: 1500 }),
        (ms, step) => {
          expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
          const next = Math.min(MAX_MS, Math.max(-MAX_MS, ms + step));
          expect(isoTimestamp(next)).toBe(new Date(next).toISOString());
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('pads milliseconds and handles times before 1970 and past year 9999', () => {
    for (const ms of [
      0, 5, 42, 999, 1000, -1, -999, -1000, -1001, 1764158400007, 253402300799999, 253402300800000,
      -62167219200001,
    ]) {
      expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('throws like Date for invalid times and formats fractional ones like Date', () => {
    expect(() => isoTimestamp(Number.NaN)).toThrow(RangeError);
    expect(() => isoTimestamp(MAX_MS + 1)).toThrow(RangeError);
    expect(isoTimestamp(1.5)).toBe(new Date(1.5).toISOString());
  });
});
