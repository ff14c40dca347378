import { describe, expect, it } from 'vitest';
import { ClosedError } from '../../src/errors.js';
import { type AuditFailureInfo, Auditor } from '../../src/integrations/shared/auditor.js';
import { matchAuditRoute } from '../../src/integrations/shared/routes.js';
import { SecretPolicy } from '../../src/integrations/shared/secrets.js';
import { sqliteLedger, until } from './helpers.js';

describe('secret policy', () => {
  const p = new SecretPolicy(['x-internal']);
  it('denies credential names in any spelling', () => {
    for (const n of [
      'Authorization',
      'proxy-authorization',
      'Cookie',
      'set-cookie',
      'X-Api-Key',
      'apiKey',
      'api_key',
      'x-auth-token',
      'access_token',
      'refreshToken',
      'client_secret',
      'PASSWORD',
      'new-password',
      'passphrase',
      'private_key',
      'x-hub-signature-256',
      'sessionId',
      'cvv',
      'SSN',
      'X-Internal-Trace',
    ]) {
      expect(p.isDenied(n), n).toBe(true);
    }
  });
  it('leaves ordinary names alone', () => {
    for (const n of [
      'user',
      'amount',
      'className',
      'address',
      'business',
      'content-type',
      'user-agent',
      'pinned',
      'from',
    ]) {
      expect(p.isDenied(n), n).toBe(false);
    }
  });
  it('copies values to plain JSON with denied keys redacted at any depth', () => {
    const v = p.value({
      a: [{ token: 'x' }],
      d: new Date(0),
      n: Number.NaN,
      b: 10n,
      u: undefined,
      buf: Buffer.from('ab'),
    });
    expect(v).toEqual({
      a: [{ token: '[REDACTED]' }],
      d: '1970-01-01T00:00:00.000Z',
      n: 'NaN',
      b: '10',
      buf: '[2 bytes]',
    });
  });
  it('matches audit route paths', () => {
    expect(matchAuditRoute('/entries')).toEqual({ kind: 'entries', params: {} });
    expect(matchAuditRoute('/entries/abc%20d')).toEqual({ kind: 'entry', params: { id: 'abc d' } });
    expect(matchAuditRoute('/verify/')).toEqual({ kind: 'verify', params: {} });
    expect(matchAuditRoute('/entries/a/b')).toBeNull();
  });
});

describe('auditor', () => {
  it('retries queued entries on its own once the ledger is back, in order', async () => {
    const t = await sqliteLedger();
    try {
      const a = new Auditor(t.ledger, { retryIntervalMs: 20, onError: () => {} });
      t.flaky.down = true;
      for (let i = 0; i < 5; i++) await a.record({ n: i });
      expect(a.pending).toBe(5);
      t.flaky.down = false;
      await until(() => a.pending === 0, 'the retry timer to drain the queue');
      expect((await t.ledger.getEntries()).map((e) => e.data?.n)).toEqual([0, 1, 2, 3, 4]);
      expect(a.stats()).toMatchObject({ written: 5, pending: 0, dropped: 0 });
      await a.close();
    } finally {
      await t.cleanup();
    }
  });

  it('bounds the retry queue and reports what it could not keep', async () => {
    const t = await sqliteLedger();
    try {
      const infos: AuditFailureInfo[] = [];
      const a = new Auditor(t.ledger, {
        maxQueue: 3,
        retryIntervalMs: 60_000,
        onError: (_e, i) => infos.push(i),
      });
      t.flaky.down = true;
      for (let i = 0; i < 5; i++) await a.record({ n: i });
      expect(a.pending).toBe(3);
      expect(a.dropped).toBe(2);
      expect(infos.filter((i) => i.reason === 'queue_full').map((i) => i.data.n)).toEqual([3, 4]);
      await a.close();
    } finally {
      await t.cleanup();
    }
  });

  it('does not retry entries the ledger rejects as invalid, and never throws', async () => {
    const t = await sqliteLedger({ maxEntryBytes: 64 });
    try {
      const infos: AuditFailureInfo[] = [];
      const a = new Auditor(t.ledger, { onError: (_e, i) => infos.push(i) });
      await expect(a.record({ big: 'x'.repeat(200) })).resolves.toBeUndefined();
      expect(a.rejected).toBe(1);
      expect(a.pending).toBe(0);
      expect(infos[0]).toMatchObject({ reason: 'rejected', willRetry: false });
      await a.close();
    } finally {
      await t.cleanup();
    }
  });

  it('survives a throwing onError hook', async () => {
    const t = await sqliteLedger();
    try {
      const a = new Auditor(t.ledger, {
        retryIntervalMs: 60_000,
        onError: () => {
          throw new Error('hook broke');
        },
      });
      t.flaky.down = true;
      await expect(a.record({ n: 1 })).resolves.toBeUndefined();
      expect(a.pending).toBe(1);
      await a.close({ timeoutMs: 1_000 });
    } finally {
      await t.cleanup();
    }
  });

  it('stops retrying once the ledger is closed for good: queued and new entries are rejected, reported once', async () => {
    const t = await sqliteLedger();
    try {
      const failures: { error: unknown; info: AuditFailureInfo }[] = [];
      const a = new Auditor(t.ledger, {
        retryIntervalMs: 20,
        onError: (error, info) => failures.push({ error, info }),
      });
      t.flaky.down = true;
      for (let i = 0; i < 3; i++) await a.record({ n: i });
      expect(a.pending).toBe(3);
      await t.ledger.close();
      failures.length = 0;

      // The queued entries: one more attempt meets ClosedError, and they are let go.
      expect(await a.flush()).toEqual({ remaining: 0, timedOut: false });
      expect(a.pendingEntries()).toEqual([]);
      // A new entry is not queued either.
      await a.record({ n: 3 });
      expect(a.pending).toBe(0);
      expect(a.stats()).toMatchObject({ rejected: 4, written: 0, queued: 0, pending: 0, dropped: 0 });
      expect(failures.map((f) => f.info)).toEqual(
        [0, 1, 2, 3].map((n) => ({
          reason: 'rejected',
          data: { n },
          attempts: n < 3 ? 2 : 1,
          willRetry: false,
        })),
      );
      expect(failures.every((f) => f.error instanceof ClosedError && f.error.code === 'CLOSED')).toBe(true);

      // Nothing is retried afterwards (the retry timer would fire every 20-40 ms).
      const failed = a.failed;
      await new Promise((r) => setTimeout(r, 150));
      expect(a.failed).toBe(failed);
      expect(failures).toHaveLength(4);
      await a.close();
    } finally {
      await t.cleanup();
    }
  });
});
