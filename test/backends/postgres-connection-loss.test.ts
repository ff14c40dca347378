/**
 * A PostgreSQL connection that drops while an append holds it (here: killed with
 * pg_terminate_backend while the group is being signed) must fail that append, not the process:
 * pg emits 'error' on a checked-out client between queries, which is fatal when nobody listens.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { Ed25519Signer, RemoteSigner } from '../../src/crypto/signatures/index.js';
import { CommitOutcomeUnknownError } from '../../src/errors.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { dropPgPrefix } from '../conformance/factories/postgres.js';
import { postgresUrl } from '../servers.js';

const PG = postgresUrl('postgres-connection-loss.test.ts');
const prefix = `loss${process.pid}_`;
const app = `signledger-loss-${process.pid}`;
afterAll(async () => {
  if (PG) await dropPgPrefix(prefix);
});

describe.skipIf(!PG)('postgres: connection lost during an append', () => {
  it('fails that append with a typed error; the process and the ledger carry on', {
    timeout: 60_000,
  }, async () => {
    await dropPgPrefix(prefix);
    const key = new Ed25519Signer();
    let killNow: (() => void) | null = null;
    // A remote signer that answers only once the append's connection has been killed.
    const slow = new RemoteSigner({
      algorithm: 'ed25519',
      publicKey: key.publicKey,
      sign: async (data) => {
        await new Promise<void>((r) => {
          killNow = r;
        });
        return Buffer.from(await key.sign(data), 'base64');
      },
    });
    const backend = new PostgreSQLBackend({
      connectionString: PG,
      tablePrefix: prefix,
      poolConfig: { application_name: app },
    });
    const ledger = new Ledger({ backend });
    await ledger.append({ before: true });
    const crashed: unknown[] = [];
    const onCrash = (e: unknown) => crashed.push(e);
    process.on('uncaughtException', onCrash);
    try {
      const pending = ledger.append({ during: true }, { signer: slow });
      while (!killNow) await new Promise((r) => setTimeout(r, 10));
      const admin = new pg.Client({ connectionString: PG });
      await admin.connect();
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
        [app],
      );
      await admin.end();
      expect(killed.rowCount).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 100)); // the 'error' event arrives while the append waits
      (killNow as unknown as () => void)();
      await expect(pending).rejects.toMatchObject({ name: 'StorageError' });
      expect(crashed).toEqual([]);
      // The pool replaces the dead client: later appends work and the log verifies.
      await ledger.append({ after: true });
      const report = await ledger.verify();
      expect(report).toMatchObject({ ok: true, size: 2 });
    } finally {
      process.off('uncaughtException', onCrash);
      await ledger.close();
    }
  });
});

describe.skipIf(!PG)('postgres: connection lost with the commit in flight', () => {
  it('rejects with CommitOutcomeUnknownError: the entry may be stored, and here it is', {
    timeout: 60_000,
  }, async () => {
    const url = new URL(PG!);
    let armed = false;
    // A proxy that, once armed, forwards the message holding COMMIT and then drops the connection
    // before the server's reply comes back.
    const server = net.createServer((client) => {
      const up = net.connect(Number(url.port), url.hostname);
      client.on('data', (d) => {
        up.write(d);
        if (armed && d.includes('\nCOMMIT')) {
          armed = false;
          up.pause();
          setTimeout(() => {
            client.destroy();
            up.destroy();
          }, 150);
        }
      });
      up.on('data', (d) => client.write(d));
      client.on('error', () => {});
      up.on('error', () => {});
      client.on('close', () => up.destroy());
      up.on('close', () => client.destroy());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const proxied = new URL(url.href);
    proxied.port = String((server.address() as net.AddressInfo).port);
    const ledger = new Ledger({
      backend: new PostgreSQLBackend({ connectionString: proxied.href, tablePrefix: prefix }),
      name: 'inflight',
    });
    try {
      await ledger.append({ n: 'before' });
      armed = true;
      const err = await ledger.append({ n: 'reply lost' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommitOutcomeUnknownError);
      expect((err as CommitOutcomeUnknownError).code).toBe('STORAGE_COMMIT_UNKNOWN');
      // It was applied: a caller that retried blindly would have stored it twice.
      const stored = await ledger.query((e) => (e.data as { n?: string }).n === 'reply lost');
      expect(stored).toHaveLength(1);
      expect((await ledger.verify()).ok).toBe(true);
    } finally {
      await ledger.close();
      server.close();
    }
  });
});
