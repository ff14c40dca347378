/**
 * checkpoint(), proofs and close() wait for the appends submitted before them, not for the append
 * queue to run dry: on a ledger that never stops appending they used to hang. On PostgreSQL a
 * group commit waits on the network, so new appends arrive while one commits and the queue never
 * empties (the embedded stores commit without yielding to I/O, so they cannot show it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { generateLogKey } from '../../src/ledger/log-key.js';
import { dropPgPrefix } from '../conformance/factories/postgres.js';
import { postgresUrl } from '../servers.js';

const PG = postgresUrl('busy-ledger.test.ts');
const prefix = `busy${process.pid}_`;
afterAll(async () => {
  if (PG) await dropPgPrefix(prefix);
});

describe.skipIf(!PG)('a busy ledger', () => {
  it('signs checkpoints and proves while other callers keep appending', { timeout: 120_000 }, async () => {
    await dropPgPrefix(prefix);
    const logKey = generateLogKey('busy.example/log');
    const ledger = new Ledger({
      backend: new PostgreSQLBackend({ connectionString: PG, tablePrefix: prefix }),
      logKey,
    });
    await ledger.append({ first: true });
    let stop = false;
    let appended = 0;
    const LIMIT = 20_000; // only reached if the calls below wait for the queue to run dry
    const writers = Array.from({ length: 32 }, async () => {
      while (!stop && appended < LIMIT) {
        appended++;
        await ledger.append({ n: appended });
      }
    });
    while (appended < 500) await new Promise((r) => setTimeout(r, 5));
    const cp = await ledger.checkpoint();
    const proof = await ledger.proveInclusion(0, cp);
    const consistency = await ledger.proveConsistency(1, cp);
    const doneBeforeStop = appended < LIMIT;
    stop = true;
    await Promise.all(writers);
    expect(doneBeforeStop).toBe(true);
    expect(cp.size).toBeGreaterThan(1);
    expect(proof.size).toBe(cp.size);
    expect(consistency.size2).toBe(cp.size);
    expect((await ledger.verify()).ok).toBe(true);
    await ledger.close();
  });
});
