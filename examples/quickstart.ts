/**
 * The seed's "Simple Python Program" in TypeScript: log five user activities to a SQLite ledger,
 * query one user's activities, verify the chain and print statistics.
 *
 *   npx tsx examples/quickstart.ts [path/to/audit.db]     (default: a fresh file in the temp folder)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SQLiteBackend } from '../src/backends/sqlite/index.js';
import { Ledger } from '../src/index.js';

export async function main(options: { path?: string; log?: (line: string) => void } = {}) {
  const log = options.log ?? console.log;
  const path = options.path ?? join(mkdtempSync(join(tmpdir(), 'signledger-quickstart-')), 'audit.db');
  const ledger = await Ledger.open({ backend: new SQLiteBackend({ path }) });
  try {
    const activities = [
      { user: 'alice', action: 'login', ip: '192.168.1.10' },
      { user: 'alice', action: 'view_document', doc_id: 'DOC123' },
      { user: 'bob', action: 'login', ip: '192.168.1.11' },
      { user: 'alice', action: 'edit_document', doc_id: 'DOC123' },
      { user: 'bob', action: 'delete_document', doc_id: 'DOC456' },
    ];
    for (const activity of activities) {
      const entry = await ledger.append({ ...activity, timestamp: new Date().toISOString() });
      log(`Logged: ${entry.id} - ${activity.action}`);
    }

    const alice = await ledger.query((e) => e.data?.user === 'alice');
    log(`\nAlice's activities: ${alice.length}`);
    for (const e of alice) log(` - ${e.data?.action} at ${e.timestamp.toISOString()}`);

    // verifyIntegrity() returns true or throws an IntegrityError naming the entry and the failure.
    const valid = await ledger.verifyIntegrity();
    log(`\nLedger integrity: ${valid ? 'VALID' : 'INVALID'}`);

    const stats = await ledger.getStats();
    log(`Total entries: ${stats.totalEntries}`);
    log(`First entry: ${stats.firstEntryTime?.toISOString()}`);
    log(`Last entry: ${stats.lastEntryTime?.toISOString()}`);
    log(`Stored in: ${path}`);
    return { path, alice: alice.length, valid, totalEntries: stats.totalEntries };
  } finally {
    await ledger.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main({ path: process.argv[2] });
}
