/**
 * Use case 1, financial transaction logging (SOX, PCI-DSS): every wire transfer is an RSA-signed entry
 * on SQLite, and anyone holding the public key checks `signer.verify(entry.hash, entry.signature)`.
 *
 *   npx tsx examples/financial-sox.ts [path/to/financial_audit.db]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SQLiteBackend } from '../src/backends/sqlite/index.js';
import { RSASigner } from '../src/crypto/signatures/index.js';
import { Ledger } from '../src/index.js';

export async function main(options: { path?: string; log?: (line: string) => void } = {}) {
  const log = options.log ?? console.log;
  const path = options.path ?? join(mkdtempSync(join(tmpdir(), 'signledger-sox-')), 'financial_audit.db');
  // Generated off the main thread; in production load the key with RSASigner.fromPem(...).
  const signer = await RSASigner.generate({ keySize: 2048 });
  const ledger = await Ledger.open({ backend: new SQLiteBackend({ path }), enableSignatures: true, signer });
  try {
    const entry = await ledger.append(
      {
        transaction_id: 'TXN123456',
        account_from: 'ACC001',
        account_to: 'ACC002',
        amount: 15000.0,
        currency: 'USD',
        timestamp: new Date().toISOString(),
        operator_id: 'OPR789',
      },
      { metadata: { compliance: 'SOX', category: 'wire_transfer' }, sign: true, signer: signer.sign },
    );
    log(`Logged ${entry.data?.transaction_id} as entry ${entry.index} (${entry.hash.slice(0, 16)}…)`);

    // The seed's check: the signature is over the entry hash.
    const isValid = signer.verify(entry.hash, entry.signature!);
    log(
      `Signature (${signer.algorithm}, key ${signer.keyId.slice(0, 12)}…): ${isValid ? 'valid' : 'INVALID'}`,
    );

    // A verifier with only the public key: what an external auditor holds.
    const auditorKey = RSASigner.fromPem(signer.exportPublicKeyPem());
    const auditorCheck = auditorKey.verify(entry.hash, entry.signature!);
    const forged = auditorKey.verify(
      entry.hash.replace(/^./, (c) => (c === '0' ? '1' : '0')),
      entry.signature!,
    );
    log(
      `Auditor with the public key: ${auditorCheck ? 'valid' : 'INVALID'}; altered hash: ${forged ? 'valid?!' : 'rejected'}`,
    );

    for (let i = 0; i < 3; i++) {
      await ledger.append({
        transaction_id: `TXN12346${i}`,
        account_from: 'ACC003',
        account_to: 'ACC001',
        amount: 250 + i,
        currency: 'USD',
      });
    }
    const report = await ledger.verify();
    log(
      `Chain: ${report.ok ? 'VALID' : 'INVALID'}, ${report.signaturesChecked} signatures checked, ${report.size} entries`,
    );
    await ledger.verifyIntegrity();
    return {
      path,
      isValid,
      auditorCheck,
      forged,
      signaturesChecked: report.signaturesChecked,
      size: report.size,
    };
  } finally {
    await ledger.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main({ path: process.argv[2] });
}
