/**
 * Parallel verification on PostgreSQL: worker threads open their own connection (the backend's
 * parallelScanSpec) and must reach exactly the main thread's verdicts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { dropPgPrefix, pgTamper } from '../conformance/factories/postgres.js';
import { postgresUrl } from '../servers.js';

const PG = postgresUrl('postgres-parallel-verify.test.ts');
const prefix = `parv${process.pid}_`;
afterAll(async () => {
  if (PG) await dropPgPrefix(prefix);
});

describe.skipIf(!PG)('postgres: parallel verification', () => {
  it('workers read their own segments and agree with the main thread, tampered or not', {
    timeout: 120_000,
  }, async () => {
    await dropPgPrefix(prefix);
    const backend = new PostgreSQLBackend({ connectionString: PG, tablePrefix: prefix });
    const ledger = new Ledger({ backend, name: 'par' });
    await ledger.open();
    // Three worker segments (at least 8,192 entries each).
    for (let i = 0; i < 20_000; i += 2_000)
      await ledger.appendBatch(
        Array.from({ length: 2_000 }, (_, j) => ({ i: i + j, user: `u${(i + j) % 5}` })),
      );
    expect(backend.parallelScanSpec()).toMatchObject({ kind: 'postgres', tablePrefix: prefix, name: 'par' });

    const par = { parallel: 2, parallelThreshold: 1 } as const;
    const ok = await ledger.verify(par);
    expect(ok).toMatchObject({ ok: true, threads: 2, entriesChecked: 20_000 });
    expect(ok.rootHash).toBe((await ledger.verify({ parallel: false })).rootHash);

    // An edit deep in a later segment: the same failure, at the same entry, both ways.
    await pgTamper(prefix).updateEntry(17_123, { data: JSON.stringify({ i: 17_123, user: 'mallory' }) });
    const [seq, parallel] = [await ledger.verify({ parallel: false }), await ledger.verify(par)];
    expect(seq.failure).toMatchObject({ kind: 'data_mismatch', index: 17_123 });
    expect(parallel.threads).toBe(2);
    expect(parallel.failure).toEqual(seq.failure);
    await ledger.close();
  });

  it('offers no worker spec for a pool handed in (its settings are unknown)', async () => {
    const pg = await import('pg');
    const pool = new pg.default.Pool({ connectionString: PG });
    const backend = new PostgreSQLBackend({ pool, tablePrefix: prefix });
    const ledger = new Ledger({ backend, name: 'pool' });
    await ledger.open();
    expect(backend.parallelScanSpec()).toBeNull();
    await ledger.close();
    await pool.end();
  });
});

describe.skipIf(!PG)('postgres: query paths', () => {
  it('a where path through __proto__ is a member name, never Object.prototype', async () => {
    const backend = new PostgreSQLBackend({ connectionString: PG, tablePrefix: prefix });
    const ledger = new Ledger({ backend, name: 'proto' });
    await ledger.append(JSON.parse('{"x":1,"__proto__":{"polluted":"yes"}}'));
    await ledger.append({ x: 2 });
    const found = await ledger.query({ where: { 'data.__proto__.polluted': 'yes' } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(found.map((e) => e.index)).toEqual([0]);
    await ledger.close();
  });
});
