/**
 * A writer killed mid-append (SIGKILL, no cleanup) leaves no half-written entry and no gap: the
 * server rolls its open transaction back and the next append continues the chain.
 */
import { describe, expect, it } from 'vitest';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { dropPgPrefix } from '../conformance/factories/postgres.js';
import { postgresUrl } from '../servers.js';
import { startChild } from './children.js';

const PG = postgresUrl('crash.test.ts');

describe.skipIf(!PG)('postgres: a writer killed mid-append', () => {
  it('leaves a chain that verifies and continues without a gap', async () => {
    const prefix = `crash${process.pid}_`;
    await dropPgPrefix(prefix);
    const ledger = new Ledger({
      backend: new PostgreSQLBackend({ connectionString: PG, tablePrefix: prefix }),
      name: 'victim',
    });
    try {
      await ledger.open();
      for (let round = 0; round < 3; round++) {
        const child = startChild({
          LEDGER_BACKEND: 'postgres',
          LEDGER_PREFIX: prefix,
          LEDGER_NAME: 'victim',
          COUNT: '0',
          CONCURRENCY: '32',
          ACK: '1',
        });
        await child.ready;
        // Once it has acknowledged 300 appends it is well into its loop: kill it without warning.
        await child.whenAcked(300);
        child.proc.kill('SIGKILL');
        const r = await child.exited;
        expect(r.signal).toBe('SIGKILL');
        expect(child.acked.length).toBeGreaterThanOrEqual(300);
        // Every append it saw resolve is stored.
        const missing: string[] = [];
        for (const id of child.acked) if ((await ledger.getEntry(id)) === null) missing.push(id);
        expect(missing).toEqual([]);
        const own = await ledger.append({ after: 'crash', round });
        const stats = await ledger.getStats();
        expect(own.index).toBe(stats.totalEntries - 1);
        const report = await ledger.verify();
        expect(report.ok).toBe(true);
        expect(report.entriesChecked).toBe(stats.totalEntries);
      }
      let i = 0;
      for await (const e of ledger.entries()) expect(e.index).toBe(i++);
    } finally {
      await ledger.close();
      await dropPgPrefix(prefix);
    }
  });
});
