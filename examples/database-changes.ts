/**
 * Use case 5, database change tracking: schema migrations and data fixes recorded in a SQLite ledger,
 * then the change history of one database and a check that nothing was rewritten.
 *
 *   npx tsx examples/database-changes.ts [path/to/changes.db]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openLedger } from '../src/open.js';

export async function main(options: { path?: string; log?: (line: string) => void } = {}) {
  const log = options.log ?? console.log;
  const path = options.path ?? join(mkdtempSync(join(tmpdir(), 'signledger-dbchanges-')), 'changes.db');
  const ledger = await openLedger(`sqlite:${path}`);
  try {
    await ledger.append({
      change_type: 'schema_migration',
      database: 'production_db',
      migration_id: '20240101_add_user_roles',
      sql: 'ALTER TABLE users ADD COLUMN role VARCHAR(50)',
      executed_by: 'admin',
      rollback_sql: 'ALTER TABLE users DROP COLUMN role',
    });
    await ledger.append({
      change_type: 'data_fix',
      database: 'production_db',
      ticket: 'OPS-1182',
      sql: "UPDATE users SET role = 'member' WHERE role IS NULL",
      rows_affected: 1342,
      executed_by: 'dba_jane',
    });
    await ledger.append({
      change_type: 'schema_migration',
      database: 'analytics_db',
      migration_id: '20240105_events_index',
      sql: 'CREATE INDEX events_ts ON events(ts)',
      executed_by: 'admin',
    });

    const production = await ledger.query({ where: { 'data.database': 'production_db' } });
    log(`production_db changes: ${production.length}`);
    for (const e of production) log(` #${e.index} ${e.data?.change_type}: ${e.data?.sql}`);
    const report = await ledger.verify();
    log(
      `Ledger: ${report.ok ? 'VALID' : 'INVALID'} (${report.size} entries, root ${report.rootHash.slice(0, 16)}…)`,
    );
    await ledger.verifyIntegrity();
    return { path, production: production.length, size: report.size };
  } finally {
    await ledger.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main({ path: process.argv[2] });
}
