/**
 * Many writers, one chain: 4 real processes x 2,000 appends (16 concurrent appends inside each) to one
 * PostgreSQL ledger and one Redis ledger must give one contiguous, unforked chain that verifies.
 */
import { describe, expect, it } from 'vitest';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { StorageBackend } from '../../src/storage/backend.js';
import { dropPgPrefix } from '../conformance/factories/postgres.js';
import { dropRedisPrefix } from '../conformance/factories/redis.js';
import { postgresUrl, redisUrl } from '../servers.js';
import { startChild } from './children.js';

const PG = postgresUrl('multi-process.test.ts');
const REDIS = redisUrl('multi-process.test.ts');
const PROCS = 4;
const PER = 2000;

const cases: {
  name: string;
  url: string | undefined;
  env: string;
  make: (prefix: string) => StorageBackend;
  drop: (p: string) => Promise<void>;
  prefix: string;
}[] = [
  {
    name: 'postgres',
    url: PG,
    env: 'SIGNLEDGER_TEST_POSTGRES_URL',
    prefix: `mp${process.pid}_`,
    make: (prefix) => new PostgreSQLBackend({ connectionString: PG, tablePrefix: prefix }),
    drop: dropPgPrefix,
  },
  {
    name: 'redis',
    url: REDIS,
    env: 'SIGNLEDGER_TEST_REDIS_URL',
    prefix: `sltest:mp${process.pid}:`,
    make: (prefix) => new RedisBackend({ url: REDIS, prefix }),
    drop: dropRedisPrefix,
  },
];

for (const c of cases) {
  describe.skipIf(!c.url)(`${c.name}: ${PROCS} processes x ${PER} appends`, () => {
    it('produce one contiguous chain with no lost or duplicated entry', async () => {
      await c.drop(c.prefix);
      try {
        const children = Array.from({ length: PROCS }, (_, w) =>
          startChild({
            LEDGER_BACKEND: c.name,
            LEDGER_PREFIX: c.prefix,
            LEDGER_NAME: 'shared',
            COUNT: String(PER),
            CONCURRENCY: '16',
            WORKER: String(w),
          }),
        );
        const results = await Promise.all(children.map((ch) => ch.exited));
        for (const r of results) {
          expect(r.err).toBe('');
          expect(r.code).toBe(0);
        }
        const ledger = new Ledger({ backend: c.make(c.prefix), name: 'shared' });
        try {
          const report = await ledger.verify();
          expect(report.ok).toBe(true);
          expect(report.entriesChecked).toBe(PROCS * PER);
          const seen = new Set<string>();
          let expected = 0;
          for await (const e of ledger.entries()) {
            expect(e.index).toBe(expected++);
            const d = e.data as { worker: string; n: number };
            seen.add(`${d.worker}/${d.n}`);
          }
          expect(expected).toBe(PROCS * PER);
          expect(seen.size).toBe(PROCS * PER);
          for (let w = 0; w < PROCS; w++)
            for (let n = 0; n < PER; n++) expect(seen.has(`${w}/${n}`)).toBe(true);
        } finally {
          await ledger.close();
        }
      } finally {
        await c.drop(c.prefix);
      }
    });
  });
}
