import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryId } from '../../src/entry/entry-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string) => Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

describe('entryId', () => {
  it('is a UUIDv7 whose 48-bit time is the entry time (RFC 9562 layout)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (ms) => {
        const id = entryId(ms);
        expect(id).toMatch(V7);
        expect(timeOf(id)).toBe(ms);
      }),
      { numRuns: 2000 },
    );
  });

  it('sorts by time across milliseconds and stays unique within one', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => entryId(1_764_000_000_000 + Math.floor(i / 100)));
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 100; i < ids.length; i += 100) expect(ids[i - 1]! < ids[i]!).toBe(true);
  });

  it('falls back to a random v4 UUID outside the 48-bit time range', () => {
    for (const ms of [-1, 2 ** 48, 1.5, Number.NaN]) expect(entryId(ms)).toMatch(V4);
  });
});
