/** The /verify route reports one snapshot; too_large reports the size before strings were cut. */
import { describe, expect, it } from 'vitest';
import { AuditRouteHandlers } from '../../src/integrations/shared/routes.js';
import { cappedValue, capSize, SecretPolicy } from '../../src/integrations/shared/secrets.js';
import type { Ledger } from '../../src/ledger/ledger.js';
import { sqliteLedger } from './helpers.js';

describe('/verify reports the figures of the verification it ran', () => {
  it('an entry appended while verify runs does not pair a later total with this run', async () => {
    const t = await sqliteLedger();
    try {
      await t.ledger.append({ n: 0 });
      const first = (await t.ledger.getEntryAt(0))!;
      // A ledger whose verify() is followed by an append before the route reads anything else.
      const racing = new Proxy(t.ledger, {
        get(target, k) {
          if (k === 'verify') {
            return async (...a: Parameters<Ledger['verify']>) => {
              const r = await target.verify(...a);
              await new Promise((ok) => setTimeout(ok, 5));
              await target.append({ n: 1 });
              return r;
            };
          }
          const v = Reflect.get(target, k, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      const h = new AuditRouteHandlers(racing, { authorize: () => true, verifyMode: 'full' });
      const r = await h.handle('verify', {}, { params: {}, query: {} });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        valid: true,
        totalEntries: 1,
        entriesChecked: 1,
        firstEntry: first.timestamp.toISOString(),
        lastEntry: first.timestamp.toISOString(),
      });
      expect((await t.ledger.getStats()).totalEntries).toBe(2);
    } finally {
      await t.cleanup();
    }
  });

  it('an empty ledger: totalEntries 0, no first or last entry', async () => {
    const t = await sqliteLedger();
    try {
      const r = await new AuditRouteHandlers(t.ledger, { authorize: () => true }).handle(
        'verify',
        {},
        { params: {}, query: {} },
      );
      expect(r.body).toMatchObject({ valid: true, totalEntries: 0, firstEntry: null, lastEntry: null });
    } finally {
      await t.cleanup();
    }
  });
});

describe('too_large: the size before scrubbing cut long strings', () => {
  it('reports the full size of a 1 MB string, not of its 64 KiB prefix', () => {
    const p = new SecretPolicy();
    const body = { big: 'x'.repeat(1_000_000) };
    const exact = Buffer.byteLength(JSON.stringify(body), 'utf8');
    expect(cappedValue(p, body, true, 16_384)).toEqual({ omitted: 'too_large', bytes: exact });
    // Multi-byte characters and escapes are counted as JSON bytes.
    const wide = { s: `${'é"'.repeat(50_000)}` };
    expect(cappedValue(p, wide, true, 16_384)).toEqual({
      omitted: 'too_large',
      bytes: Buffer.byteLength(JSON.stringify(wide), 'utf8'),
    });
    // Small values are unchanged.
    expect(cappedValue(p, { a: 1 }, true, 16_384)).toEqual({ a: 1 });
    expect(capSize('abc', 2)).toEqual({ omitted: 'too_large', bytes: 5 });
  });
});
