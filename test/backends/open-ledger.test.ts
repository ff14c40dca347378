/** openLedger URLs and the seed's config shapes reach the server backends. */
import { describe, expect, it } from 'vitest';
import { PostgreSQLBackend } from '../../src/backends/postgres/index.js';
import { RedisBackend } from '../../src/backends/redis/index.js';
import { backendFromUrl, openLedger, redactUrl } from '../../src/open.js';
import { dropPgPrefix } from '../conformance/factories/postgres.js';
import { dropRedisPrefix } from '../conformance/factories/redis.js';
import { postgresUrl, redisUrl } from '../servers.js';

const PG = postgresUrl('open-ledger.test.ts');
const REDIS = redisUrl('open-ledger.test.ts');

function withParams(url: string, params: Record<string, string>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

describe('URL schemes', () => {
  it('maps postgres://, postgresql://, redis://, rediss://, mongodb:// and mongodb+srv:// to backends', async () => {
    for (const [url, kind] of [
      ['postgres://u:p@db.example:5432/audit', 'postgres'],
      ['postgresql://db.example/audit?tablePrefix=app_', 'postgres'],
      ['redis://cache.example:6379/0', 'redis'],
      ['rediss://cache.example:6380', 'redis'],
      ['mongodb://m.example:27017/audit_db?replicaSet=rs0', 'mongodb'],
      ['mongodb+srv://cluster.example/audit_db', 'mongodb'],
    ] as const) {
      const b = await backendFromUrl(url);
      expect(b.kind).toBe(kind);
      await b.close();
    }
    await expect(backendFromUrl('postgres://h/db?tablePrefix=Bad;')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
  });
});

describe.skipIf(!PG)('openLedger with PostgreSQL', () => {
  it('takes ?ledger=name and a table prefix from the URL', async () => {
    const prefix = `ol${process.pid}_`;
    try {
      const ledger = await openLedger(withParams(PG!, { ledger: 'orders', tablePrefix: prefix }));
      expect(ledger.name).toBe('orders');
      expect(ledger.backend).toBeInstanceOf(PostgreSQLBackend);
      await ledger.append({ order: 1 });
      await ledger.close();
      // A second ledger in the same tables stays separate.
      const other = await openLedger(withParams(PG!, { ledger: 'payments', tablePrefix: prefix }));
      expect((await other.getStats()).totalEntries).toBe(0);
      await other.close();
      const again = await openLedger(withParams(PG!, { ledger: 'orders', tablePrefix: prefix }));
      expect((await again.getStats()).totalEntries).toBe(1);
      expect((await again.verify()).ok).toBe(true);
      await again.close();
    } finally {
      await dropPgPrefix(prefix);
    }
  });

  it("accepts the seed's settings shape (BACKEND + OPTIONS)", async () => {
    const u = new URL(PG!);
    const prefix = `os${process.pid}_`;
    try {
      const ledger = await openLedger({
        backend: 'signledger.backends.PostgreSQLBackend',
        backendOptions: {
          host: u.hostname,
          port: Number(u.port),
          database: u.pathname.slice(1),
          user: decodeURIComponent(u.username),
          password: decodeURIComponent(u.password),
          tablePrefix: prefix,
        },
        name: 'audit_log',
      });
      await ledger.append({ action: 'user_login' });
      expect((await ledger.getStats()).backend).toBe('postgres');
      await ledger.close();
      const viaPool = await openLedger({
        backend: new PostgreSQLBackend({ connectionString: PG, tablePrefix: prefix }),
        name: 'audit_log',
      });
      expect((await viaPool.getStats()).totalEntries).toBe(1);
      await viaPool.close();
    } finally {
      await dropPgPrefix(prefix);
    }
  });

  it('works over a pool the caller owns and leaves it open', async () => {
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({ connectionString: PG, max: 2 });
    const prefix = `op${process.pid}_`;
    try {
      const ledger = await openLedger({ backend: new PostgreSQLBackend({ pool, tablePrefix: prefix }) });
      const e = await ledger.append({ a: 1 });
      expect((await ledger.getEntry(e.id))?.hash).toBe(e.hash);
      await ledger.close();
      expect((await pool.query('SELECT 1 AS x')).rows[0].x).toBe(1);
    } finally {
      await pool.end();
      await dropPgPrefix(prefix);
    }
  });
});

describe.skipIf(!REDIS)('openLedger with Redis', () => {
  it('takes ?ledger=name and a key prefix from the URL, and a client of the caller', async () => {
    const prefix = `sltest:ol${process.pid}:`;
    try {
      const ledger = await openLedger(withParams(REDIS!, { ledger: 'sessions', prefix }));
      expect(ledger.name).toBe('sessions');
      expect(ledger.backend).toBeInstanceOf(RedisBackend);
      await ledger.append({ s: 1 });
      await ledger.close();
      const { Redis } = await import('ioredis');
      const client = new Redis(REDIS!);
      const again = await openLedger({ backend: new RedisBackend({ client, prefix }), name: 'sessions' });
      expect((await again.getStats()).totalEntries).toBe(1);
      await again.close();
      expect(await client.ping()).toBe('PONG');
      client.disconnect();
      const u = new URL(REDIS!);
      const shaped = await openLedger({
        backend: 'redis',
        backendOptions: { host: u.hostname, port: Number(u.port), prefix },
        name: 'sessions',
      });
      expect((await shaped.verify()).ok).toBe(true);
      await shaped.close();
    } finally {
      await dropRedisPrefix(prefix);
    }
  });
});

describe('SQLite URLs', () => {
  it('take ?ledger=name in every form: sqlite:./file, sqlite:///abs, sqlite://rel and a plain path', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join, relative } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'signledger-open-'));
    try {
      const abs = join(dir, 'm.db');
      const rel = relative(process.cwd(), abs);
      for (const url of [
        `sqlite:./${rel}?ledger=orders`,
        `sqlite://${abs}?ledger=orders`,
        `${rel}?ledger=orders`,
      ]) {
        const ledger = await openLedger(url);
        expect(ledger.name).toBe('orders');
        await ledger.append({ via: url });
        await ledger.close();
      }
      const orders = await openLedger(`sqlite://${abs}?ledger=orders`);
      expect((await orders.getEntries()).map((e) => e.data)).toHaveLength(3);
      await orders.close();
      // Nothing went to the default ledger of that file.
      const def = await openLedger(`sqlite://${abs}`);
      expect(def.name).toBe('default');
      expect(await def.getEntries()).toEqual([]);
      await def.close();
      // A bad name in the URL is refused, as it is everywhere else.
      await expect(openLedger(`sqlite:./${rel}?ledger=Bad-Name`)).rejects.toThrow(/ledger name/i);
      await expect(openLedger(`sqlite:./${rel}?ledger=`)).rejects.toThrow(/ledger name/i);
      // A name in the options is used, and a URL naming another ledger is refused, not obeyed.
      const named = await openLedger(`sqlite:./${rel}`, { name: 'fromopts' });
      expect(named.name).toBe('fromopts');
      await named.close();
      await expect(openLedger(`sqlite:./${rel}?ledger=orders`, { name: 'other' })).rejects.toThrow(
        /names ledger "orders"/,
      );
      const same = await openLedger(`sqlite:./${rel}?ledger=orders`, { name: 'orders' });
      expect((await same.getEntries()).length).toBe(3);
      await same.close();
      // memory?ledger=x is the in-memory backend, not a SQLite file called "memory".
      const mem = await openLedger('memory?ledger=scratch');
      expect([mem.name, mem.backend.kind]).toEqual(['scratch', 'memory']);
      await mem.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('URL details', () => {
  it('hashAlgorithm= in the URL creates the ledger with that algorithm; a conflict is refused', async () => {
    const ledger = await openLedger('memory?hashAlgorithm=sha512');
    expect((await ledger.getStats()).hashAlgorithm).toBe('sha512');
    await ledger.close();
    await expect(openLedger('memory?hashAlgorithm=sha512', { hashAlgorithm: 'sha256' })).rejects.toThrow(
      /hash algorithm/,
    );
  });

  it('keeps the connection settings of the socket form postgres:///db?host=...', async () => {
    const b = (await backendFromUrl(
      'postgres:///audit?host=/var/run/postgresql&port=5433',
    )) as PostgreSQLBackend;
    expect((b as unknown as { options: { connectionString?: string } }).options.connectionString).toMatch(
      /^postgres:\/\/\/audit\?host=/,
    );
  });

  it('never shows a password in a malformed-URL message, a raw "/" in it included', async () => {
    expect(redactUrl('postgres://u:pa/ss@h:5432/db')).toBe('postgres://u:***@h:5432/db');
    const err = await openLedger('postgres://u:s3cr/et@[bad/db').catch((e: unknown) => e);
    expect(String((err as Error).message)).not.toMatch(/s3cr/);
    expect((err as Error).cause).toBeUndefined();
    const redis = await new RedisBackend({ url: 'redis://u:Secr3t/pw@127.0.0.1:99999/0' })
      .open('x', () => {
        throw new Error('not reached');
      })
      .catch((e: unknown) => e);
    expect(redis).toMatchObject({ name: 'ConfigurationError' });
    expect(JSON.stringify({ m: (redis as Error).message, c: String((redis as Error).cause) })).not.toMatch(
      /Secr3t/,
    );
  });
});
