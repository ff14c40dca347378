/**
 * A child process that appends to a shared ledger (run with `node --import tsx`).
 * env: LEDGER_BACKEND=postgres|redis, LEDGER_PREFIX, LEDGER_NAME, COUNT (0 = forever), CONCURRENCY,
 * ACK=1 (print "ack <id>" per resolved append), and the server URL variable. Prints "ready" once
 * open and "done <n>" at the end.
 */
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { Ledger } from '../../src/ledger/ledger.js';
import type { StorageBackend } from '../../src/storage/backend.js';

const env = process.env;
const kind = env.LEDGER_BACKEND;
const prefix = env.LEDGER_PREFIX ?? '';
const backend: StorageBackend =
  kind === 'postgres'
    ? new PostgreSQLBackend({
        connectionString: env.SIGNLEDGER_TEST_POSTGRES_URL,
        tablePrefix: prefix,
        max: 2,
      })
    : new RedisBackend({ url: env.SIGNLEDGER_TEST_REDIS_URL, prefix, onWarning: () => {} });
const ledger = new Ledger({ backend, name: env.LEDGER_NAME ?? 'default' });
await ledger.open();
process.stdout.write('ready\n');
const count = Number(env.COUNT ?? 0);
const concurrency = Number(env.CONCURRENCY ?? 16);
const worker = String(env.WORKER ?? process.pid);
const ack = env.ACK === '1';
let next = 0;
async function loop(): Promise<void> {
  while (count === 0 || next < count) {
    const n = next++;
    const e = await ledger.append({ worker, n, user: n % 2 ? 'alice' : 'bob' });
    // Pipes are written synchronously on Linux: once printed, the ack survives a SIGKILL.
    if (ack) process.stdout.write(`ack ${e.id}\n`);
  }
}
await Promise.all(Array.from({ length: concurrency }, loop));
await ledger.close();
process.stdout.write(`done ${next}\n`);
