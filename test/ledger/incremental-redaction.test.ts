/**
 * An incremental verify() reads only what was appended since the last run. A redaction record
 * naming an entry that run verified intact cannot be matched against that entry's (now erased)
 * row: the report must say the erasure was not checked, not present it as verified.
 */
import { expect, it } from 'vitest';
import { Ledger } from '../../src/ledger/ledger.js';

it('an incremental run lists redaction records of earlier-verified entries as not checked', async () => {
  const ledger = new Ledger();
  const entries = [];
  for (let i = 0; i < 20; i++) entries.push(await ledger.append({ i }));
  expect((await ledger.verify({ incremental: true })).ok).toBe(true);
  await ledger.redact(entries[5]!.id, { reason: 'gdpr' });
  await ledger.append({ i: 20 });
  const inc = await ledger.verify({ incremental: true });
  expect(inc.ok).toBe(true);
  expect(inc.notChecked.join('\n')).toMatch(
    /1 redaction record\(s\) name entries a previous run verified intact/,
  );
  // A full run reads the erased row and resolves the record.
  const full = await ledger.verify();
  expect(full).toMatchObject({ ok: true, redacted: [5] });
  expect(full.notChecked.join('\n')).not.toMatch(/redaction record/);
});
