/**
 * Use case 3, supply-chain provenance: a product's journey from factory to customer, and the query of
 * one product's history.
 *
 *   npx tsx examples/supply-chain.ts
 */
import { pathToFileURL } from 'node:url';
import { Ledger } from '../src/index.js';

export async function main(options: { ledger?: Ledger; log?: (line: string) => void } = {}) {
  const log = options.log ?? console.log;
  const ledger = options.ledger ?? (await Ledger.open()); // in-memory, like the seed's Ledger()
  try {
    await ledger.append({
      event: 'manufactured',
      product_id: 'PROD-2024-001',
      batch: 'BATCH-A123',
      location: 'Factory Shanghai',
      quality_check: 'PASSED',
    });
    await ledger.append({
      event: 'manufactured',
      product_id: 'PROD-2024-002',
      batch: 'BATCH-A123',
      location: 'Factory Shanghai',
      quality_check: 'PASSED',
    });
    await ledger.append({
      event: 'shipped',
      product_id: 'PROD-2024-001',
      carrier: 'DHL',
      tracking: 'DHL123456789',
      destination: 'Warehouse NYC',
    });
    await ledger.append({
      event: 'delivered',
      product_id: 'PROD-2024-001',
      recipient: 'John Doe',
      signature: 'base64_signature_data',
    });

    // The seed's predicate form (scans), and the structured form (pushed down to the database).
    const history = await ledger.query((e) => e.data?.product_id === 'PROD-2024-001');
    const same = await ledger.query({ where: { 'data.product_id': 'PROD-2024-001' } });
    log(`PROD-2024-001 history (${history.length} events):`);
    for (const e of history) log(` #${e.index} ${e.timestamp.toISOString()} ${e.data?.event}`);
    await ledger.verifyIntegrity();
    log('Ledger integrity: VALID');
    return { events: history.map((e) => e.data?.event as string), structured: same.length };
  } finally {
    if (!options.ledger) await ledger.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
