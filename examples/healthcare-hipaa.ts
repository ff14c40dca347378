/**
 * Use case 2, healthcare access logs (HIPAA) on PostgreSQL: every access to protected health
 * information is logged; a patient's right of access is answered from the log; a GDPR erasure removes
 * the patient's data with `redact` while the chain still verifies (the erasure is itself logged).
 *
 *   DATABASE_URL=postgres://user:pass@localhost:5432/healthcare_audit npx tsx examples/healthcare-hipaa.ts
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { openLedger } from '../src/open.js';

export async function main(
  options: { url?: string; ledgerName?: string; log?: (line: string) => void } = {},
) {
  const log = options.log ?? console.log;
  const url = options.url ?? process.env.DATABASE_URL ?? process.env.SIGNLEDGER_TEST_POSTGRES_URL;
  if (!url) throw new Error('set DATABASE_URL to a PostgreSQL URL (postgres://user:pass@host:5432/db)');
  // One database can hold many ledgers; a fresh name keeps repeated demo runs apart.
  const name = options.ledgerName ?? `hipaa_${randomBytes(4).toString('hex')}`;
  const ledger = await openLedger({ url, name });
  try {
    const accesses = [
      {
        accessed_by: 'DR_SMITH',
        access_type: 'READ',
        data_accessed: ['medical_history', 'prescriptions'],
        purpose: 'treatment',
      },
      { accessed_by: 'NURSE_LEE', access_type: 'READ', data_accessed: ['vitals'], purpose: 'treatment' },
      { accessed_by: 'BILLING_02', access_type: 'READ', data_accessed: ['insurance'], purpose: 'payment' },
    ];
    for (const a of accesses) {
      await ledger.append({
        event_type: 'PHI_ACCESS',
        patient_id: 'P123456',
        facility: 'General Hospital',
        ...a,
      });
    }
    await ledger.append({
      event_type: 'PHI_ACCESS',
      patient_id: 'P999001',
      accessed_by: 'DR_SMITH',
      access_type: 'WRITE',
      data_accessed: ['notes'],
      purpose: 'treatment',
      facility: 'General Hospital',
    });

    // Right of access (HIPAA §164.528 accounting of disclosures): who saw P123456's records.
    const disclosures = await ledger.query({
      where: { 'data.patient_id': 'P123456', 'data.event_type': 'PHI_ACCESS' },
    });
    log(`Accesses to P123456's records: ${disclosures.length}`);
    for (const e of disclosures)
      log(
        ` ${e.timestamp.toISOString()} ${e.data?.accessed_by} ${e.data?.access_type} for ${e.data?.purpose}`,
      );

    // GDPR erasure: the data goes, the commitment and a redaction record stay.
    for (const e of disclosures) await ledger.redact(e.id, { reason: 'GDPR Art. 17 erasure request #4471' });
    const after = await ledger.getEntry(disclosures[0]!.id);
    const report = await ledger.verify();
    log(
      `After erasure: entry ${after?.index} redacted=${after?.redacted}, data=${JSON.stringify(after?.data)}`,
    );
    log(
      `Ledger: ${report.ok ? 'VALID' : 'INVALID'}; redacted entries reported: ${report.redacted.join(', ')}; size ${report.size}`,
    );
    await ledger.verifyIntegrity();
    return {
      name,
      disclosures: disclosures.length,
      redacted: report.redacted,
      size: report.size,
      backend: ledger.backend.kind,
    };
  } finally {
    await ledger.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
