import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InMemoryBackend } from '../../src/backends/memory/memory-backend.js';
import { isWellFormed } from '../../src/encoding/canonical.js';
import { Ledger } from '../../src/ledger/ledger.js';

// Arbitrary JSON objects as users would log them (non-empty).
const event = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), {
  minKeys: 1,
  maxKeys: 6,
});

describe('properties of the chain', () => {
  it('any appended JSON reads back equal and verifies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 12 }), async (events) => {
        const ledger = new Ledger();
        const written = [];
        for (const e of events) written.push(await ledger.append(e));
        const read = await ledger.getEntries();
        expect(read.map((e) => e.data)).toEqual(written.map((e) => e.data));
        expect(JSON.parse(JSON.stringify(read.map((e) => e.data)))).toEqual(
          JSON.parse(JSON.stringify(events)),
        );
        expect((await ledger.verify()).ok).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('any single-character change to a stored body or data is detected, at that entry', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(event, { minLength: 2, maxLength: 6 }),
        fc.nat(),
        fc.nat(),
        fc.boolean(),
        fc.integer({ min: 1, max: 0xffff }),
        async (events, which, pos, inBody, delta) => {
          const backend = new InMemoryBackend();
          const ledger = new Ledger({ backend });
          for (const e of events) await ledger.append(e);
          const rows = backend._unsafeRows();
          const idx = which % rows.length;
          const row = rows[idx]!;
          const text = inBody ? row.body : row.data!;
          const at = pos % text.length;
          const changed = String.fromCharCode((text.charCodeAt(at) + delta) % 0x10000);
          const mutated = text.slice(0, at) + changed + text.slice(at + 1);
          fc.pre(mutated !== text && isWellFormed(mutated));
          if (inBody) row.body = mutated;
          else row.data = mutated;
          const report = await ledger.verify();
          expect(report.ok).toBe(false);
          expect(report.failure?.index).toBe(idx);
        },
      ),
      { numRuns: 150 },
    );
  });
});
