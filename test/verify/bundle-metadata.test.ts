/** Bundles whose metadata uses the commitment's own member names still verify (and tampering still fails). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportBundle } from '../../src/cli/bundle-export.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { verifyBundle } from '../../src/verify/bundle.js';

const dir = mkdtempSync(join(tmpdir(), 'signledger-bundle-meta-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bundle entries', () => {
  it('metadata holding "timestamp", "type" or "prev" members does not confuse the verifier', async () => {
    const logKey = generateLogKey('log.example/bundle-meta');
    const ledger = new Ledger({ logKey });
    await ledger.append(
      { a: 1 },
      { metadata: { timestamp: '1999-01-01T00:00:00.000Z', type: 'x', prev: 'y' } },
    );
    await ledger.append({ b: 2 }, { metadata: { timestamp: 'not a time' } });
    await ledger.append({ c: 3 });
    const cp = await ledger.checkpoint();
    const out = join(dir, 'bundle');
    await exportBundle(ledger, out, cp, logKey.verifierKey);
    const report = await verifyBundle(out, { verifierKey: logKey.verifierKey });
    expect(report.ok, JSON.stringify(report.failure)).toBe(true);
    expect(report.entriesChecked).toBe(3);
    // Editing the metadata's own timestamp member is still caught (the body is hashed).
    const file = join(out, 'entries.jsonl');
    const lines = readFileSync(file, 'utf8');
    writeFileSync(file, lines.replace('"timestamp\\":\\"not a time', '"timestamp\\":\\"not a tim3'));
    expect((await verifyBundle(out, { verifierKey: logKey.verifierKey })).ok).toBe(false);
    await ledger.close();
  });
});
